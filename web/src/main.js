// The page: sign-in, the list of transcripts (with the search) and one transcript, routed
// by the URL hash (routes.js), so the relay serves a single file.
import { Session, ApiError } from './api.js'
import { openTranscript } from './view.js'
import { setupSearch } from './search.js'
import { parseRoute, listHash, transcriptHash } from './routes.js'
import { t, applyStrings, getLanguage, setLanguage } from './i18n.js'

const session = new Session()
const app = document.getElementById('app')
const $ = (id) => document.getElementById(id)
let close = null // tears down the current view
let opened = null // the transcript view shown: {transcriptId, reveal}
let loginMessage = ''

// ------------------------------------------------------------------ header and helpers

let toastTimer = 0
const ui = {
  toast (text) {
    const toast = $('toast')
    toast.textContent = text
    toast.classList.add('shown')
    clearTimeout(toastTimer)
    toastTimer = setTimeout(() => toast.classList.remove('shown'), 2500)
  },
  crumb (text) { $('crumb').textContent = text ? `/ ${text}` : '' },
  /** Connection state: live, connecting, reconnecting, offline or closed (null hides it). */
  status (status, saved = true, canEdit = true) {
    const el = $('status')
    el.hidden = status === null
    if (status === null) return
    const label = {
      live: t('statusLive'),
      connecting: t('statusConnecting'),
      reconnecting: t('statusReconnecting'),
      offline: t('statusOffline'),
      closed: t('statusClosed')
    }[status] ?? ''
    let save = ''
    // Closed: "All changes saved" would claim a sync that is not happening.
    if (canEdit && !(status === 'closed' && saved)) {
      save = saved ? t('saved') : status === 'live' ? t('saving') : t('unsaved')
    }
    el.dataset.state = status
    el.dataset.saved = String(saved)
    el.textContent = [label, canEdit ? save : t('readOnly')].filter(Boolean).join(' · ')
    // Short in the header; the reassurance is one hover (or screen reader) away.
    el.title = status === 'offline' && canEdit ? t('offlineHint') : ''
  },
  people (others) {
    const list = $('people')
    list.hidden = others.length === 0
    list.setAttribute('aria-label', t('here'))
    list.replaceChildren(...others.map((p) => {
      const li = document.createElement('li')
      li.className = 'person'
      li.style.setProperty('--peer', p.color)
      li.textContent = p.name
      li.title = p.name
      return li
    }))
  },
  mark (name, count) {
    if (!performance.getEntriesByName(name).length) performance.mark(name, { detail: count })
  }
}

$('lang').value = getLanguage()
$('lang').addEventListener('change', (e) => {
  setLanguage(e.target.value)
  opened = null // drawn again in the new language, even the transcript open now
  route()
})
$('logout').addEventListener('click', () => session.logout('user'))
session.addEventListener('signed-out', ({ detail }) => {
  loginMessage = detail === 'expired' ? t('sessionEnded') : ''
  route()
})

// ------------------------------------------------------------------ views

function show (templateId) {
  close?.()
  close = null
  opened = null
  ui.crumb('')
  app.replaceChildren($(templateId).content.cloneNode(true))
  applyStrings()
  const user = session.user
  $('who').textContent = user ? `${user.username} (${user.role})` : ''
  $('logout').hidden = !user
}

function showLogin () {
  show('login-view')
  document.title = 'Minuta'
  const form = $('login-form')
  $('login-error').textContent = loginMessage
  form.elements.username.focus()
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const data = new FormData(form)
    try {
      await session.login(String(data.get('username')), String(data.get('password')))
      loginMessage = ''
      route()
    } catch (err) {
      $('login-error').textContent = err instanceof ApiError && err.status === 401
        ? t('wrongLogin')
        : t('networkError')
    }
  })
}

function showList (search) {
  show('list-view')
  document.title = `${t('transcripts')} · Minuta`
  const items = []
  let next = 0
  const draw = () => {
    const shown = items
    $('transcripts').replaceChildren(...shown.map((x) => {
      const li = document.createElement('li')
      const a = document.createElement('a')
      a.href = transcriptHash(x.transcript_id)
      a.className = 'title'
      a.textContent = x.title || t('untitled')
      const badge = document.createElement('span')
      badge.className = x.live ? 'badge live' : 'badge ended'
      badge.textContent = x.live ? t('live') : t('ended')
      const info = document.createElement('span')
      info.className = 'info'
      const when = x.started_at || x.created_at
      info.textContent = [
        when ? new Date(when).toLocaleString(getLanguage()) : '',
        t('segmentsN', { n: x.segment_count ?? 0 })
      ].filter(Boolean).join(' · ')
      li.append(a, badge, info)
      return li
    }))
    const empty = $('list-empty')
    empty.hidden = shown.length > 0
    empty.textContent = $('search').value.trim() ? t('noMatches') : t('noTranscripts')
    $('more').hidden = next === null
  }
  let loads = 0
  const load = async (reset) => {
    if (reset) next = 0
    if (next === null) return
    const mine = ++loads
    try {
      // A refresh reloads as many as are shown (live or ended changes as agents come and go).
      const limit = reset ? Math.min(200, Math.max(50, items.length)) : 50
      const q = encodeURIComponent($('search').value.trim())
      const offset = reset ? 0 : next
      const page = await session.request('GET', `/transcripts?limit=${limit}&offset=${offset}&q=${q}`)
      if (mine !== loads) return // a later search (or refresh) answers instead
      if (reset) items.length = 0
      items.push(...page.items)
      next = page.next_offset
      draw()
    } catch (err) {
      if (err.status !== 401) ui.toast(t('networkError'))
    }
  }
  // The relay searches every title, not only the page loaded here.
  let typing = 0
  $('search').addEventListener('input', () => {
    clearTimeout(typing)
    typing = setTimeout(() => load(true), 200)
  })
  $('more').addEventListener('click', () => load(false))
  load(true)
  const timer = setInterval(() => { if (!document.hidden && !searching) load(true) }, 10_000)
  // The text search: its results stand in for the list while there is a query, and the
  // URL keeps it (replaced, not pushed: Back leaves the list, not each keystroke).
  let searching = false
  const stopSearch = setupSearch(app, {
    session,
    initial: search,
    changed: (s) => history.replaceState(null, '', listHash(s)),
    searching: (on) => {
      searching = on
      $('list-body').hidden = on
    }
  })
  close = () => { clearInterval(timer); stopSearch() }
}

function showTranscript (transcriptId, segmentId) {
  // The same transcript at another segment (a second hit): no need to open it again.
  if (opened?.transcriptId === transcriptId) return segmentId && opened.reveal(segmentId)
  show('transcript-view')
  const view = openTranscript(app, transcriptId, session, ui, { segmentId })
  close = view.close
  opened = { transcriptId, reveal: view.reveal }
}

function route () {
  if (!session.signedIn) return showLogin()
  const where = parseRoute(location.hash)
  if (where.view === 'transcript') return showTranscript(where.transcriptId, where.segmentId)
  showList(where.search)
}

addEventListener('hashchange', route)
route()
