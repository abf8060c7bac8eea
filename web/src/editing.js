// Editing in a segment's row, apart from the list that places the rows: a speaker renamed
// in place, and a textarea's text replaced from elsewhere without moving its caret.
import { diff } from './transcript.js'
import { t } from './i18n.js'

/**
 * Rename a speaker in place: an input over the name button; Enter (or leaving it) keeps
 * the name, Escape drops it. `rename(name)` is called with a new, non-empty name.
 */
export function renameInPlace (button, rename) {
  if (button.disabled) return
  const input = document.createElement('input')
  input.className = 'rename'
  input.value = button.textContent
  input.setAttribute('aria-label', t('renameTo', { name: button.textContent }))
  let done = false
  const finish = (keep) => {
    if (done) return
    done = true
    const name = input.value.trim()
    input.replaceWith(button)
    if (keep && name && name !== button.textContent) rename(name)
    button.focus()
  }
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') finish(true)
    else if (e.key === 'Escape') finish(false)
  })
  input.addEventListener('blur', () => finish(true))
  button.replaceWith(input)
  input.select()
}

/** Set a textarea's value from elsewhere (another editor, the ASR), keeping the caret. */
export function replaceKeepingCaret (text, value) {
  if (document.activeElement !== text) {
    text.value = value
    return
  }
  const d = diff(text.value, value)
  const shift = (pos) => {
    if (!d || pos <= d.index) return pos
    if (pos >= d.index + d.del) return pos + d.insert.length - d.del
    return d.index + d.insert.length
  }
  const [start, end] = [shift(text.selectionStart), shift(text.selectionEnd)]
  text.value = value
  text.setSelectionRange(start, end)
}
