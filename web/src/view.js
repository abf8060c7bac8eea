// The transcript view: one Y.Doc synced with the relay, drawn as the segment list, the
// filters and the two panels. Every change to the doc, local or remote, goes through the
// same path: the changed segments' views are rebuilt and the list redraws what is visible.
import * as Y from 'yjs'
import { Sync } from './sync.js'
import { Transcript, clock } from './transcript.js'
import { SegmentList } from './segments.js'
import { Presence } from './presence.js'
import { PendingEdits } from './pending.js'
import { renderActions, renderSummary } from './panels.js'
import { setupSendTo } from './connectors.js'
import { Player } from './player.js'
import { segmentAt, wordAt, wordAtOffset, wordSpans } from './playback.js'
import { t } from './i18n.js'

const EXT = { md: 'md', srt: 'srt', vtt: 'vtt', json: 'json' }

/**
 * Run the view of `transcriptId` in `root` (the template, already mounted), opened at
 * `segmentId` if given (a search hit). Returns {close, reveal(segmentId)}.
 */
export function openTranscript (root, transcriptId, session, ui, { segmentId = null } = {}) {
  const $ = (sel) => root.querySelector(sel)
  const doc = new Y.Doc()
  const transcript = new Transcript(doc)
  const sync = new Sync(doc, transcriptId, session)
  const presence = new Presence(sync.awareness, session.user.username)
  const canEdit = session.canEdit
  const views = new Map() // segment_id -> view (rebuilt only when that segment changes)
  let order = [] // every visible segment's view, by time
  const filters = { speaker: '', conf: 0, keyword: '' }

  const list = new SegmentList($('#segments'), {
    edit: (id, index, del, insert) => transcript.editText(id, index, del, insert, session.user.username),
    cursor: (id, index) => presence.setCursor(id, index),
    rename: (speakerId, name) => transcript.renameSpeaker(speakerId, name),
    speakerName: (id) => transcript.speakerName(id),
    peersAt: (id) => presence.peersAt(id),
    toast: ui.toast,
    canEdit: () => canEdit,
    canPlay: () => player.enabled,
    play: (id, offset) => playSegment(id, offset)
  })

  // ------------------------------------------------------------------ segments

  function rebuild (ids) {
    let reorder = ids === null
    for (const id of ids ?? transcript.segments.keys()) {
      const before = views.get(id)
      const view = transcript.view(id)
      if (view) views.set(id, view)
      else views.delete(id)
      if (!before || !view || before.t0 !== view.t0) reorder = true
    }
    if (ids === null) {
      for (const id of views.keys()) if (!transcript.segments.has(id)) views.delete(id)
    }
    if (reorder) {
      order = [...views.values()].sort((a, b) => a.t0 - b.t0 || (a.segment_id < b.segment_id ? -1 : 1))
    } else {
      order = order.map((v) => views.get(v.segment_id))
    }
    applyFilters()
    // Evidence links show their segment's time.
    if (reorder && transcript.actions.size) drawActions()
    if (player.url) heard(player.currentTime)
    revealTarget()
  }

  // ------------------------------------------------------------------ opened at a segment

  // A search hit's segment: shown once the doc has it (it may come after the first render,
  // or in a later part of a large doc), then marked as the one the hit was about.
  let target = segmentId
  function revealTarget () {
    if (!target || !sync.synced || !views.has(target)) return
    const id = target
    target = null
    if (list.reveal(id, { focus: false, found: true })) return
    clearFilters() // hidden by a filter
    requestAnimationFrame(() => list.reveal(id, { focus: false, found: true }))
  }

  // ------------------------------------------------------------------ playback

  const spansOf = new WeakMap() // view -> its words' places in its text (or null)
  const spans = (v) => {
    if (!spansOf.has(v)) spansOf.set(v, wordSpans(v.text, v.words))
    return spansOf.get(v)
  }
  let clicked = null // the segment someone played from: it wins where segments overlap
  let heardId = null
  const player = new Player($('#player'), {
    load: async () => {
      const path = `/transcripts/${encodeURIComponent(transcriptId)}/audio`
      return (await session.request('GET', path, { raw: true })).blob()
    },
    toast: ui.toast,
    onTime: (time) => heard(time)
  })

  /** Light what is being said at `time` (every frame while playing: no layout reads). */
  function heard (time) {
    const i = segmentAt(order, time, clicked)
    const v = order[i]
    if (!v) return list.setPlaying(null)
    const where = spans(v)
    const k = where ? wordAt(v.words, time) : -1
    list.setPlaying(v.segment_id, k >= 0 ? where[k] : null, k, v.text)
    if (v.segment_id !== heardId) {
      heardId = v.segment_id
      if (player.playing) list.keepInView(v.segment_id)
    }
  }

  function playSegment (id, offset) {
    const v = views.get(id)
    if (!v) return
    const where = offset === null ? null : spans(v)
    const k = where ? wordAtOffset(where, offset) : -1
    clicked = id
    player.playFrom(k >= 0 ? v.words[k][1] : v.t0)
  }

  const drawAudio = () => {
    const on = transcript.meta.get('upload_audio') === true
    if (on === player.enabled) return
    player.enable(on)
    if (!on) list.setPlaying(null)
    list.refill() // the time stamps play, or copy
  }

  const fold = (s) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase()

  function applyFilters () {
    const keyword = fold(filters.keyword.trim())
    const shown = order.filter((v) =>
      (!filters.speaker || v.speaker_id === filters.speaker) &&
      (v.conf === null || v.conf >= filters.conf) &&
      (!keyword || fold(v.text).includes(keyword)))
    list.setItems(shown)
    $('#count').textContent = t('shownOf', { shown: shown.length, total: order.length })
    $('#doc-empty').hidden = order.length > 0 || !sync.synced
  }

  function refreshSpeakers () {
    const select = $('#f-speaker')
    const ids = [...new Set(order.map((v) => v.speaker_id).filter(Boolean))].sort()
    const wanted = ids.map((id) => `${id}\t${transcript.speakerName(id)}`).join('\n')
    const shown = [...select.options].slice(1).map((o) => `${o.value}\t${o.textContent}`).join('\n')
    if (wanted === shown) return
    const value = select.value
    const options = ids.map((id) => new Option(transcript.speakerName(id), id))
    select.replaceChildren(select.options[0], ...options)
    select.value = ids.includes(value) ? value : ''
  }

  transcript.segments.observeDeep((events) => {
    const ids = new Set()
    for (const event of events) {
      if (event.target === transcript.segments) for (const key of event.keysChanged) ids.add(key)
      else if (event.path.length) ids.add(String(event.path[0]))
    }
    rebuild(ids)
    refreshSpeakers()
  })
  transcript.speakers.observe(() => { list.refill(); refreshSpeakers() })

  // ------------------------------------------------------------------ meta, panels

  const drawTitle = () => {
    const title = transcript.meta.get('title') || t('untitled')
    $('#doc-title').textContent = title
    document.title = `${title} · Minuta`
    ui.crumb(title)
  }
  transcript.meta.observe(() => { drawTitle(); drawAudio() })

  const drawSummary = () => renderSummary($('#summary'), {
    summary: transcript.summaryView(),
    canEdit,
    regenerate: async () => {
      try {
        await session.request('POST', `/transcripts/${encodeURIComponent(transcriptId)}/summary`)
      } catch (err) {
        ui.toast(t('regenerateFailed', { reason: err.message }))
      }
    }
  })
  transcript.summary.observe(drawSummary)

  const drawActions = () => renderActions($('#actions'), {
    actions: transcript.actionList(new Map(order.map((v, i) => [v.segment_id, i]))),
    canEdit,
    edit: (id, changes) => transcript.editAction(id, changes, session.user.username),
    add: (fields) => transcript.addAction(fields),
    reveal: (id) => {
      if (!list.reveal(id)) {
        // Hidden by a filter: clear the filters and try again.
        clearFilters()
        requestAnimationFrame(() => list.reveal(id))
      }
    },
    timeOf: (id) => views.get(id)?.t0 ?? null
  })
  transcript.actions.observeDeep(drawActions)

  // ------------------------------------------------------------------ filters, exports

  function clearFilters () {
    Object.assign(filters, { speaker: '', conf: 0, keyword: '' })
    $('#f-speaker').value = ''; $('#f-conf').value = '0'; $('#f-keyword').value = ''
    $('#f-conf-out').textContent = '0%'
    applyFilters()
  }

  $('#f-speaker').addEventListener('change', (e) => { filters.speaker = e.target.value; applyFilters() })
  $('#f-conf').addEventListener('input', (e) => {
    filters.conf = Number(e.target.value)
    $('#f-conf-out').textContent = `${Math.round(filters.conf * 100)}%`
    applyFilters()
  })
  $('#f-keyword').addEventListener('input', (e) => { filters.keyword = e.target.value; applyFilters() })
  for (const button of root.querySelectorAll('[data-fmt]')) {
    button.addEventListener('click', () => download(button.dataset.fmt))
  }
  $('#print').addEventListener('click', () => print())
  const stopSendTo = setupSendTo(root, { session, transcriptId, ui })
  // "/" jumps to the keyword filter, as in many reading apps (not while typing).
  const onSlash = (e) => {
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return
    if (e.target.closest?.('input, textarea, select, [contenteditable]')) return
    e.preventDefault()
    $('#f-keyword').focus()
  }
  document.addEventListener('keydown', onSlash)

  async function download (fmt) {
    try {
      const response = await session.request('GET',
        `/transcripts/${encodeURIComponent(transcriptId)}/export?fmt=${fmt}`, { raw: true })
      const url = URL.createObjectURL(await response.blob())
      const a = document.createElement('a')
      Object.assign(a, { href: url, download: `${transcriptId}.${EXT[fmt]}` })
      document.body.append(a)
      a.click()
      a.remove()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    } catch (err) {
      ui.toast(t('exportFailed', { reason: err.message }))
    }
  }

  // The list only holds the rows on screen: a printout gets a plain copy of them all.
  const beforePrint = () => {
    $('#print-copy').replaceChildren(...order.map((v) => {
      const p = document.createElement('p')
      const head = document.createElement('strong')
      head.textContent = `${clock(v.t0)} ${transcript.speakerName(v.speaker_id) ?? ''} `
      p.append(head, v.text)
      return p
    }))
  }
  addEventListener('beforeprint', beforePrint)

  // ------------------------------------------------------------------ connection

  sync.addEventListener('state', ({ detail }) => {
    ui.status(detail.status, detail.saved, canEdit)
    if (detail.status === 'live') $('#doc-empty').hidden = order.length > 0
  })
  sync.addEventListener('notice', ({ detail }) => ui.toast(detail))
  sync.addEventListener('closed', ({ detail }) => {
    const banner = $('#banner')
    banner.hidden = false
    // No access, or no such transcript: nothing to filter, export or act on.
    $('.view').classList.toggle('refused', detail.code === 4403 || detail.code === 4404)
    banner.textContent = detail.code === 4403
      ? t('noAccess')
      : detail.code === 4404 ? t('notFound') : t('rejected', { reason: detail.reason || detail.code })
    if (detail.code !== 4403 && detail.code !== 4404) {
      // Anything else (a frame the relay refused) may pass on a second try.
      const retry = document.createElement('button')
      retry.type = 'button'
      retry.textContent = t('retry')
      retry.addEventListener('click', () => {
        banner.hidden = true
        sync.retry()
      })
      banner.append(' ', retry)
    }
    ui.status('closed', sync.saved, canEdit)
  })
  sync.provider.once('sync', () => ui.mark('minuta:synced', order.length))
  sync.provider.on('sync', revealTarget)

  // Unsaved edits outlive the tab: kept in this browser until the relay has them.
  const user = session.user
  const pending = canEdit
    ? new PendingEdits(doc, `${user.org_id}/${user.username}/${transcriptId}`, {
      unsavedFrom: () => sync.unsavedFrom()
    })
    : null
  if (pending) {
    sync.provider.once('sync', () => {
      sync.adopt(pending.restore())
      pending.start()
    })
    sync.addEventListener('state', () => pending.changed())
  }
  const onHide = () => pending?.save()
  addEventListener('pagehide', onHide)
  const stopPresence = presence.onChange(() => {
    list.refreshPeers()
    ui.people(presence.others())
  })
  const beforeUnload = (e) => {
    if (!sync.saved) {
      e.preventDefault()
      e.returnValue = t('leaveUnsaved')
    }
  }
  addEventListener('beforeunload', beforeUnload)

  drawTitle()
  drawAudio()
  drawSummary()
  drawActions()
  rebuild(null)
  ui.status(sync.status, true, canEdit)

  // For tests and the benchmark: the live doc and its list.
  globalThis.minuta = { doc, transcript, sync, list, player }

  const reveal = (id) => {
    target = id
    revealTarget()
  }
  const close = () => {
    player.destroy()
    stopPresence()
    stopSendTo()
    list.destroy()
    document.removeEventListener('keydown', onSlash)
    removeEventListener('beforeprint', beforePrint)
    removeEventListener('beforeunload', beforeUnload)
    removeEventListener('pagehide', onHide)
    pending?.destroy()
    sync.destroy()
    doc.destroy()
    ui.people([])
    ui.status(null)
    delete globalThis.minuta
  }
  return { close, reveal }
}
