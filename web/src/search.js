// Search in the text of every transcript of the org (the relay's GET /search), on the list
// page. The snippets are the relay's plain text with [start, end) highlights: drawn as text
// nodes and <mark>s, never parsed as HTML (a transcript is whatever people said or typed).
import { ApiError } from './api.js'
import { clock } from './transcript.js'
import { transcriptHash } from './routes.js'
import { t, getLanguage } from './i18n.js'

const DEBOUNCE_MS = 300
const PAGE = 20

/**
 * The snippet cut at its highlights: [{text, mark}], in order, covering it all. Highlights
 * are clamped to the snippet, sorted and merged; a bound inside a surrogate pair is moved
 * out of it, so an emoji is never split.
 */
export function snippetParts (snippet, highlights) {
  const text = String(snippet ?? '')
  const ranges = []
  for (const h of Array.isArray(highlights) ? highlights : []) {
    if (!Array.isArray(h) || !Number.isFinite(h[0]) || !Number.isFinite(h[1])) continue
    let [start, end] = h
    start = Math.max(0, Math.min(text.length, Math.floor(start)))
    end = Math.max(0, Math.min(text.length, Math.ceil(end)))
    if (start > 0 && isLow(text.charCodeAt(start))) start--
    if (end < text.length && isLow(text.charCodeAt(end))) end++
    if (end > start) ranges.push([start, end])
  }
  ranges.sort((a, b) => a[0] - b[0])
  const parts = []
  let at = 0
  for (const [start, end] of ranges) {
    if (end <= at) continue
    const from = Math.max(start, at)
    if (from > at) parts.push({ text: text.slice(at, from), mark: false })
    const last = parts[parts.length - 1]
    if (last?.mark && from === at) last.text += text.slice(from, end) // overlapping or touching
    else parts.push({ text: text.slice(from, end), mark: true })
    at = end
  }
  if (at < text.length) parts.push({ text: text.slice(at), mark: false })
  return parts
}

const isLow = (c) => c >= 0xdc00 && c <= 0xdfff

/** Fill `el` with the snippet: text nodes, and <mark> for the highlights. */
export function renderSnippet (el, snippet, highlights, doc = globalThis.document) {
  el.replaceChildren(...snippetParts(snippet, highlights).map(({ text, mark }) => {
    if (!mark) return doc.createTextNode(text)
    const m = doc.createElement('mark')
    m.textContent = text
    return m
  }))
  return el
}

/** The query string of a search: empty fields are left out. */
export function searchQuery ({ q, speaker = '', from = '', to = '' }, offset = 0, limit = PAGE) {
  const params = new URLSearchParams({ q: q.trim() })
  if (speaker.trim()) params.set('speaker', speaker.trim())
  if (from) params.set('from', from)
  if (to) params.set('to', to)
  params.set('limit', String(limit))
  params.set('offset', String(offset))
  return params.toString()
}

/**
 * The search box of the list page. `initial` fills it (from the URL); `changed(search)` is
 * told each search run, so the URL can keep it; `searching(bool)` whether results show
 * (the list of transcripts hides meanwhile). Returns the teardown.
 */
export function setupSearch (root, { session, initial, changed, searching }) {
  const $ = (sel) => root.querySelector(sel)
  const form = $('#text-search')
  const state = $('#hits-state')
  const list = $('#hit-list')
  const more = $('#hits-more')
  for (const [key, value] of Object.entries(initial ?? {})) {
    if (form.elements[key]) form.elements[key].value = value
  }
  const current = () => ({
    q: form.elements.q.value,
    speaker: form.elements.speaker.value,
    from: form.elements.from.value,
    to: form.elements.to.value
  })
  let next = null
  let runs = 0 // a later search answers instead of an earlier one still on its way
  let timer = 0

  const say = (text, error = false) => {
    state.textContent = text
    state.classList.toggle('error', error)
    state.setAttribute('role', error ? 'alert' : 'status')
  }

  async function run (reset) {
    clearTimeout(timer)
    const search = current()
    const mine = ++runs
    if (reset) changed?.(search)
    if (!search.q.trim()) {
      searching?.(false)
      $('#hits').hidden = true
      list.replaceChildren()
      next = null
      return
    }
    searching?.(true)
    $('#hits').hidden = false
    if (reset) say(t('searching'))
    more.disabled = true
    try {
      const page = await session.request('GET', `/search?${searchQuery(search, reset ? 0 : next ?? 0)}`)
      if (mine !== runs) return
      if (reset) list.replaceChildren()
      list.append(...page.items.map(drawHit))
      next = page.next_offset ?? null
      const shown = list.children.length
      say(shown ? t('hitsShown', { n: shown }) : t('noHits'))
    } catch (err) {
      if (mine !== runs) return
      if (reset) list.replaceChildren()
      next = null
      // A 400 is the relay saying what is wrong with the query: show its words.
      if (err instanceof ApiError && err.status === 400) say(err.message, true)
      else if (err.status !== 401) say(t('searchFailed'), true)
    } finally {
      if (mine === runs) {
        more.hidden = next === null
        more.disabled = false
      }
    }
  }

  const later = () => {
    clearTimeout(timer)
    timer = setTimeout(() => run(true), DEBOUNCE_MS)
  }
  form.addEventListener('input', later)
  form.addEventListener('submit', (e) => { e.preventDefault(); run(true) })
  more.addEventListener('click', () => run(false))
  if (current().q.trim()) run(true)
  return () => {
    clearTimeout(timer)
    runs++
  }
}

function drawHit (hit) {
  const el = (tag, cls, text) => {
    const node = document.createElement(tag)
    node.className = cls
    if (text != null) node.textContent = text
    return node
  }
  const li = el('li', 'hit')
  li.dataset.transcriptId = hit.transcript_id
  li.dataset.segmentId = hit.segment_id
  const a = el('a', 'hit-link')
  a.href = transcriptHash(hit.transcript_id, hit.segment_id)
  const head = el('span', 'hit-head')
  const when = hit.started_at ? new Date(hit.started_at) : null
  head.append(
    el('span', 'hit-title', hit.title || t('untitled')),
    el('span', 'hit-time', clock(Number(hit.t0) || 0)),
    el('span', 'hit-speaker', hit.speaker || t('unknownSpeaker'))
  )
  if (when && !Number.isNaN(when.getTime())) {
    head.append(el('span', 'hit-when', when.toLocaleDateString(getLanguage())))
  }
  a.append(head, renderSnippet(el('span', 'hit-snippet'), hit.snippet, hit.highlights))
  li.append(a)
  return li
}
