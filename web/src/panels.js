// The summary and actions panels, redrawn from the doc whenever the workers (or anyone)
// change them. An input someone is typing in is never overwritten under their hands.
import { STATUSES, clock } from './transcript.js'
import { t } from './i18n.js'

const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value)
    else if (value === true) el.setAttribute(key, '')
    else if (value !== false && value != null) el.setAttribute(key, value)
  }
  el.append(...children.filter((c) => c != null))
  return el
}

/** An input named by `label` (its accessible name, and its placeholder when empty). */
const input = (cls, label, attrs = {}) =>
  h('input', { type: 'text', class: cls, 'aria-label': label, placeholder: label, ...attrs })

/**
 * @param {HTMLElement} box
 * @param {{summary: object|null, canEdit: boolean, regenerate: () => Promise<void>}} state
 */
export function renderSummary (box, { summary, canEdit, regenerate }) {
  const button = h('button', { type: 'button', class: 'regenerate', hidden: !canEdit }, t('regenerate'))
  button.addEventListener('click', async () => {
    button.disabled = true
    button.textContent = t('regenerating')
    try {
      await regenerate()
    } finally {
      button.disabled = false
      button.textContent = t('regenerate')
    }
  })
  const body = []
  if (!summary || (!summary.bullets.length && !summary.risks.length)) {
    body.push(h('p', { class: 'empty' }, t('noSummary')))
  } else {
    const list = (cls, texts) => h('ul', { class: cls }, ...texts.map((x) => h('li', {}, x)))
    body.push(list('bullets', summary.bullets))
    if (summary.risks.length) body.push(h('h3', {}, t('risks')), list('risks', summary.risks))
    if (summary.topics.length) {
      const topics = summary.topics.map((x) => h('span', { class: 'topic' }, x))
      body.push(h('p', { class: 'topics' }, `${t('topics')}: `, ...topics))
    }
  }
  box.replaceChildren(
    h('div', { class: 'panel-head' }, h('h2', { id: 'summary-title' }, t('summary')), button),
    ...body
  )
}

/**
 * @param {HTMLElement} box
 * @param {{actions: object[], canEdit: boolean, edit: Function, add: Function,
 *          reveal: (segmentId: string) => void, timeOf: (segmentId: string) => number|null}} state
 */
export function renderActions (box, state) {
  const focused = box.contains(document.activeElement) ? document.activeElement : null
  if (focused && focused.closest('[data-action-id]')) {
    // Someone is editing an action: redraw the others, leave theirs as it is.
    const keep = focused.closest('[data-action-id]').dataset.actionId
    for (const li of box.querySelectorAll('li[data-action-id]')) {
      if (li.dataset.actionId === keep) continue
      const action = state.actions.find((a) => a.action_id === li.dataset.actionId)
      if (action) li.replaceWith(actionItem(action, state))
      else li.remove()
    }
    const list = box.querySelector('ul.actions')
    for (const action of state.actions) {
      if (!list.querySelector(`li[data-action-id="${CSS.escape(action.action_id)}"]`)) {
        list.append(actionItem(action, state))
      }
    }
    return
  }
  const list = h('ul', { class: 'actions' }, ...state.actions.map((a) => actionItem(a, state)))
  box.replaceChildren(
    h('div', { class: 'panel-head' }, h('h2', { id: 'actions-title' }, t('actions'))),
    state.actions.length ? list : h('p', { class: 'empty' }, t('noActions')),
    ...(state.canEdit ? [addForm(state)] : []) // replaceChildren would write "null"
  )
  if (!state.actions.length) box.querySelector('.empty').after(list)
}

function actionItem (action, { canEdit, edit, reveal, timeOf }) {
  const id = action.action_id
  const field = (name, input) => {
    input.disabled = !canEdit
    input.dataset.field = name
    input.addEventListener('change', () => {
      const value = input.value.trim() || null
      if (name === 'text' && !value) {
        input.value = action.text
        return
      }
      edit(id, { [name]: value })
    })
    return input
  }
  const text = field('text', input('a-text', t('action'), { value: action.text }))
  const owner = field('owner', input('a-owner', t('owner'), { value: action.owner ?? '' }))
  const due = field('due', input('a-due', t('due'), { type: 'date', value: action.due ?? '' }))
  const options = STATUSES.map((s) => h('option', { value: s, selected: s === action.status }, t(s)))
  const status = field('status', h('select', { 'aria-label': t('status'), class: 'a-status' }, ...options))
  const segmentId = action.segment_ids[0]
  const time = segmentId ? timeOf(segmentId) : null
  const jump = segmentId && time !== null
    ? h('button', {
      type: 'button', class: 'evidence', title: t('evidence'), onclick: () => reveal(segmentId)
    }, `→ ${clock(time)}`)
    : null
  const notes = []
  if (action.stale) notes.push(t('stale'))
  const marks = action.edited.map((f) => `✎ ${t(f === 'text' ? 'action' : f)}`)
  if (marks.length) notes.push(marks.join(' '))
  const classes = `action status-${action.status}${action.stale ? ' stale' : ''}`
  return h('li', { 'data-action-id': id, class: classes },
    h('div', { class: 'a-row' }, status, text),
    h('div', { class: 'a-row' }, owner, due, jump),
    notes.length ? h('div', { class: 'a-notes' }, notes.join(' · ')) : null)
}

function addForm ({ add }) {
  const text = input('new-text', t('newAction'), { required: true })
  const owner = input('new-owner', t('owner'))
  const due = input('new-due', t('due'), { type: 'date' })
  const submit = h('button', { type: 'submit' }, t('addAction'))
  const form = h('form', { class: 'add-action' }, text, owner, due, submit)
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    if (!text.value.trim()) return
    add({ text: text.value.trim(), owner: owner.value.trim() || null, due: due.value || null })
    form.reset()
    text.focus()
  })
  return form
}
