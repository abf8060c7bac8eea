// "Send to…": push the transcript's note and actions to one of the org's connectors
// (HubSpot, Pipedrive, Notion, Trello, a webhook), then follow the push's rows until the
// relay's dispatcher has sent them or given up. Editors and admins only; hidden when
// the org has no connector.
import { t } from './i18n.js'

const POLL_MS = 1000
const POLL_FOR_MS = 120_000

export function setupSendTo (root, { session, transcriptId, ui }) {
  const $ = (s) => root.querySelector(s)
  const box = $('#send-to')
  const button = $('#send-to-button')
  const menu = $('#send-to-menu')
  const state = $('#push-state')
  let timer = 0
  let closed = false

  const hideMenu = () => {
    menu.hidden = true
    button.setAttribute('aria-expanded', 'false')
  }
  button.addEventListener('click', () => {
    menu.hidden = !menu.hidden
    button.setAttribute('aria-expanded', String(!menu.hidden))
    if (!menu.hidden) menu.querySelector('button')?.focus()
  })
  menu.addEventListener('keydown', (e) => { if (e.key === 'Escape') { hideMenu(); button.focus() } })

  async function load () {
    if (!session.canEdit) return
    let connectors
    try {
      connectors = (await session.request('GET', '/connectors')).connectors
    } catch {
      return // connectors off on this relay, or not allowed: no menu
    }
    if (closed || connectors.length === 0) return
    menu.replaceChildren(...connectors.map((c) => {
      const li = document.createElement('li')
      li.setAttribute('role', 'none')
      const item = document.createElement('button')
      item.type = 'button'
      item.setAttribute('role', 'menuitem')
      item.dataset.connector = c.connector_id
      item.textContent = `${c.name} (${c.target})`
      item.addEventListener('click', () => { hideMenu(); send(c) })
      li.append(item)
      return li
    }))
    box.hidden = false
  }

  async function send (connector) {
    clearTimeout(timer)
    state.textContent = t('sendingTo', { name: connector.name })
    try {
      await session.request('POST', `/connectors/${encodeURIComponent(connector.target)}/push`,
        { body: { transcript_id: transcriptId, connector_id: connector.connector_id } })
    } catch (err) {
      state.textContent = ''
      ui.toast(t('pushFailed', { name: connector.name, reason: err.message }))
      return
    }
    follow(connector, Date.now())
  }

  async function follow (connector, since) {
    if (closed) return
    let rows
    try {
      rows = (await session.request('GET',
        `/connectors/pushes?transcript_id=${encodeURIComponent(transcriptId)}`)).pushes
    } catch {
      rows = null
    }
    if (closed) return
    const mine = (rows ?? []).filter((r) => r.connector_id === connector.connector_id)
    const waiting = mine.filter((r) => r.state === 'queued' || r.state === 'sending')
    const failed = mine.filter((r) => r.state === 'failed' || r.state === 'dead')
    if (rows !== null && waiting.length === 0) {
      if (failed.length) {
        state.textContent = t('pushFailed', { name: connector.name, reason: failed[0].last_error })
      } else {
        state.textContent = t('sentTo', { name: connector.name, count: mine.length })
      }
      state.dataset.state = failed.length ? 'failed' : 'sent'
      return
    }
    const retrying = waiting.find((r) => r.last_error)
    state.textContent = retrying
      ? t('pushRetrying', { name: connector.name, reason: retrying.last_error })
      : t('sendingTo', { name: connector.name })
    state.dataset.state = 'sending'
    if (Date.now() - since < POLL_FOR_MS) timer = setTimeout(() => follow(connector, since), POLL_MS)
  }

  load()
  return () => { closed = true; clearTimeout(timer) }
}
