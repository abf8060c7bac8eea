// The segment list, virtualized: only the rows near the viewport are in the DOM, placed at
// offsets computed from measured heights (estimated until a row has been seen). When a
// row above the viewport changes height the scroll position is corrected, so nothing
// jumps while text streams in; at the bottom the list follows the live transcript.
import { clock, diff } from './transcript.js'
import { renameInPlace, replaceKeepingCaret } from './editing.js'
import { drawCarets, drawSpoken } from './overlays.js'
import { t } from './i18n.js'

const OVERSCAN_PX = 800
const FOLLOW_SLACK_PX = 48
const META_PX = 30
const LINE_PX = 24
const CHAR_PX = 8.2
// A segment is a few sentences; a paste of a whole document into one would also make an
// update over the relay's frame limit, which closes the connection.
const MAX_TEXT = 10_000

/**
 * @typedef {object} ListHooks
 * @property {(segmentId: string, index: number, del: number, insert: string) => void} edit
 * @property {(segmentId: string|null, index?: number) => void} cursor
 * @property {(speakerId: string, name: string) => void} rename
 * @property {(speakerId: string|null) => string} speakerName
 * @property {(segmentId: string) => {name: string, color: string}[]} peersAt
 * @property {(text: string) => void} toast
 * @property {() => boolean} canEdit
 * @property {() => boolean} canPlay whether the recording can be played
 * @property {(segmentId: string, offset: number|null) => void} play from the segment (or
 *   the word at `offset` in its text)
 */

export class SegmentList {
  /** @param {HTMLElement} scroller  @param {ListHooks} hooks */
  constructor (scroller, hooks) {
    this.scroller = scroller
    this.hooks = hooks
    this.inner = document.createElement('div')
    this.inner.className = 'seg-inner'
    this.inner.setAttribute('role', 'list')
    scroller.append(this.inner)
    this.items = []
    this.position = new Map() // segment_id -> index in items
    this.heights = new Map() // segment_id -> measured px
    this.offsets = [0]
    this.rows = new Map() // segment_id -> row element
    this.follow = true
    this.focusedId = null
    this.foundId = null // the segment a search hit opened
    this.playing = { id: null, span: null, index: -1, text: '' } // what the recording says now
    this._frame = 0
    this._width = 0
    this._measure = new ResizeObserver((entries) => this._measured(entries))
    new ResizeObserver(() => {
      if (this.scroller.clientWidth !== this._width) this.schedule()
    }).observe(scroller)
    // Where the caret is, however it moved (keys, mouse, or a script): for presence.
    this._onSelection = () => {
      const text = document.activeElement
      const row = text?.closest?.('.seg')
      if (text?.tagName === 'TEXTAREA' && row && this.inner.contains(row)) {
        this.hooks.cursor(row.dataset.segmentId, text.selectionStart)
      }
    }
    document.addEventListener('selectionchange', this._onSelection)
    scroller.addEventListener('scroll', () => {
      this.follow = this._atBottom()
      this.schedule()
    }, { passive: true })
  }

  destroy () {
    document.removeEventListener('selectionchange', this._onSelection)
    this._measure.disconnect()
    cancelAnimationFrame(this._frame)
  }

  /** Show `items` (views from Transcript.view, in order): only changed objects are redrawn. */
  setItems (items) {
    this.items = items
    this.position = new Map(items.map((item, i) => [item.segment_id, i]))
    // The row being typed in takes remote changes now, not at the next frame: a key
    // pressed before then would be placed by the text it showed, not the doc's.
    const focused = this.rows.get(this.focusedId)
    const item = items[this.position.get(this.focusedId)]
    if (focused && item && focused._item !== item) this._fill(focused, item)
    this.schedule()
  }

  /** Redraw every mounted row (after a rename, a language change or presence). */
  refill () {
    for (const row of this.rows.values()) row._item = null
    this.schedule()
  }

  schedule () {
    if (!this._frame) this._frame = requestAnimationFrame(() => { this._frame = 0; this.render() })
  }

  /**
   * Scroll to a segment, flash it and put the caret in it (`focus: false`: not the caret;
   * `found: true`: it stays marked as the one a search hit opened).
   */
  reveal (segmentId, { focus = true, found = false } = {}) {
    const i = this.position.get(segmentId)
    if (i === undefined) return false
    this.follow = false
    if (found) this.foundId = segmentId
    this._layout()
    // Tall enough first: before the first render the scroller would clamp scrollTop to 0.
    this.inner.style.height = `${this.offsets[this.items.length]}px`
    this.scroller.scrollTop = Math.max(0, this.offsets[i] - this.scroller.clientHeight / 3)
    this.render()
    const row = this.rows.get(segmentId)
    row?.classList.add('flash')
    setTimeout(() => row?.classList.remove('flash'), 1600)
    if (focus) row?.querySelector('textarea')?.focus({ preventScroll: true })
    return true
  }

  /**
   * Light the segment the recording is at, and its word: `span` is the word's [start, end)
   * in `text` (the segment's text it was found in), or null to light the segment alone.
   * Only a change touches the DOM (this runs at every frame of playback).
   */
  setPlaying (segmentId, span = null, index = -1, text = '') {
    const was = this.playing
    if (was.id === segmentId && was.index === index && was.text === text &&
        was.span?.[0] === span?.[0] && was.span?.[1] === span?.[1]) return
    this.playing = { id: segmentId, span, index, text }
    const before = this.rows.get(was.id)
    if (before && was.id !== segmentId) this._fillPlaying(before)
    const row = this.rows.get(segmentId)
    if (row) this._fillPlaying(row)
  }

  /** Scroll the segment being played into view, unless someone is typing. */
  keepInView (segmentId) {
    const i = this.position.get(segmentId)
    if (i === undefined || this.focusedId) return
    const top = this.offsets[i]
    const bottom = this.offsets[i + 1] ?? top
    const s = this.scroller
    if (top >= s.scrollTop && bottom <= s.scrollTop + s.clientHeight) return
    this.follow = false
    s.scrollTop = Math.max(0, top - s.clientHeight / 3)
    this.render()
  }

  render () {
    const anchor = this.follow ? null : this._anchor()
    this._layout()
    const total = this.offsets[this.items.length]
    this.inner.style.height = `${total}px`
    if (this.follow) this.scroller.scrollTop = total
    else if (anchor && this.position.has(anchor.id)) {
      const top = this.offsets[this.position.get(anchor.id)] + anchor.delta
      if (Math.abs(top - this.scroller.scrollTop) >= 1) this.scroller.scrollTop = top
    }
    const top = this.scroller.scrollTop - OVERSCAN_PX
    const bottom = this.scroller.scrollTop + this.scroller.clientHeight + OVERSCAN_PX
    const wanted = new Set()
    for (let i = this._firstBelow(top); i < this.items.length && this.offsets[i] < bottom; i++) {
      wanted.add(this.items[i].segment_id)
    }
    // A row being edited stays mounted (and keeps its caret) wherever it scrolled to.
    if (this.focusedId && this.position.has(this.focusedId)) wanted.add(this.focusedId)
    for (const [id, row] of this.rows) {
      if (!wanted.has(id)) {
        this._measure.unobserve(row)
        row.remove()
        this.rows.delete(id)
      }
    }
    for (const id of wanted) {
      const i = this.position.get(id)
      const item = this.items[i]
      let row = this.rows.get(id)
      if (!row) {
        row = this._createRow(id)
        this.rows.set(id, row)
        this.inner.append(row)
        this._measure.observe(row)
      }
      if (row._item !== item) this._fill(row, item)
      row.classList.toggle('found', id === this.foundId)
      row.style.transform = `translateY(${this.offsets[i]}px)`
      row.setAttribute('aria-posinset', String(i + 1))
      row.setAttribute('aria-setsize', String(this.items.length))
    }
  }

  // ------------------------------------------------------------------ layout

  _layout () {
    this._width = this.scroller.clientWidth
    const n = this.items.length
    const offsets = new Array(n + 1)
    offsets[0] = 0
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + this._height(this.items[i])
    this.offsets = offsets
  }

  _height (item) {
    const known = this.heights.get(item.segment_id)
    if (known !== undefined) return known
    const perLine = Math.max(20, (this._width - 150) / CHAR_PX)
    return META_PX + LINE_PX * Math.max(1, Math.ceil(item.text.length / perLine)) + 12
  }

  _firstBelow (y) {
    let lo = 0
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.offsets[mid + 1] <= y) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  _anchor () {
    const i = this._firstBelow(this.scroller.scrollTop)
    if (i >= this.items.length) return null
    return { id: this.items[i].segment_id, delta: this.scroller.scrollTop - this.offsets[i] }
  }

  _atBottom () {
    const s = this.scroller
    return s.scrollTop + s.clientHeight >= s.scrollHeight - FOLLOW_SLACK_PX
  }

  _measured (entries) {
    let changed = false
    for (const entry of entries) {
      const id = entry.target.dataset.segmentId
      const height = Math.ceil(entry.borderBoxSize?.[0]?.blockSize ?? entry.target.offsetHeight)
      if (!id || !this.rows.has(id) || height === 0) continue
      if (this.heights.get(id) !== height) {
        this.heights.set(id, height)
        changed = true
      }
    }
    // Laid out again before this frame paints: rows never overlap on screen.
    if (changed) this.render()
  }

  // ------------------------------------------------------------------ rows

  _createRow (id) {
    const row = document.createElement('div')
    row.className = 'seg'
    row.dataset.segmentId = id
    row.setAttribute('role', 'listitem')
    row.innerHTML = `
      <div class="seg-meta">
        <button type="button" class="ts"></button>
        <button type="button" class="speaker"></button>
        <span class="conf"></span>
        <span class="badge"></span>
        <span class="peers" aria-live="polite"></span>
      </div>
      <div class="text-box">
        <div class="spoken-box" aria-hidden="true"></div>
        <textarea class="text" rows="1" spellcheck="true" maxlength="${MAX_TEXT}"></textarea>
        <div class="carets" aria-hidden="true"></div>
      </div>`
    const text = row.querySelector('textarea')
    row._known = ''
    const send = () => {
      const d = diff(row._known, text.value)
      row._known = text.value
      try {
        if (d) this.hooks.edit(id, d.index, d.del, d.insert)
      } catch (err) {
        // The doc moved under the textarea (it should not): show the doc's text again
        // rather than let the two drift apart.
        console.error(err)
        const item = this.items[this.position.get(id)]
        if (item) this._fill(row, item)
      }
      this.hooks.cursor(id, text.selectionStart)
    }
    text.addEventListener('input', (e) => { if (!e.isComposing) send() })
    text.addEventListener('compositionend', send)
    const where = () => this.hooks.cursor(id, text.selectionStart)
    text.addEventListener('focus', () => { this.focusedId = id; where() })
    text.addEventListener('blur', () => {
      if (this.focusedId === id) this.focusedId = null
      this.hooks.cursor(null)
    })
    text.addEventListener('keydown', (e) => this._key(e, id, text))
    // With the recording: the time plays from there (Shift copies it, as without); and
    // Alt+click on a word plays from that word, leaving plain clicks to editing.
    row.querySelector('.ts').addEventListener('click', (e) => {
      if (this.hooks.canPlay() && !e.shiftKey) this.hooks.play(id, null)
      else this._copyTime(row)
    })
    text.addEventListener('click', (e) => {
      if (e.altKey && this.hooks.canPlay()) {
        e.preventDefault()
        this.hooks.play(id, text.selectionStart)
      }
    })
    row.querySelector('.speaker').addEventListener('click', (e) => {
      const speakerId = row._item?.speaker_id
      if (speakerId) renameInPlace(e.currentTarget, (name) => this.hooks.rename(speakerId, name))
    })
    return row
  }

  _fill (row, item) {
    row._item = item
    const canEdit = this.hooks.canEdit()
    const time = clock(item.t0)
    const name = this.hooks.speakerName(item.speaker_id) ?? t('unknownSpeaker')
    row.classList.toggle('partial', !item.final)
    row.classList.toggle('human', item.source === 'human')
    row.classList.toggle('low-conf', item.conf !== null && item.conf < 0.5)
    row.dataset.rev = String(item.rev)
    const ts = row.querySelector('.ts')
    ts.textContent = time
    ts.setAttribute('aria-label', this.hooks.canPlay() ? t('playFrom', { time }) : t('copyTime', { time }))
    ts.title = this.hooks.canPlay() ? t('playFromHint') : ''
    const speaker = row.querySelector('.speaker')
    speaker.textContent = name
    speaker.disabled = !canEdit || !item.speaker_id
    speaker.setAttribute('aria-label', t('renameSpeaker', { name }))
    row.querySelector('.conf').textContent = item.conf === null ? '' : `${Math.round(item.conf * 100)}%`
    const badge = row.querySelector('.badge')
    badge.textContent = !item.final
      ? t('partial')
      : item.source === 'human' ? t('editedBy', { user: item.edited_by ?? '?' }) : ''
    if (item.source === 'human' && item.asr_text !== item.text) badge.title = item.asr_text ?? ''
    else badge.removeAttribute('title')
    this._fillPeers(row)
    const text = row.querySelector('textarea')
    text.readOnly = !canEdit
    text.setAttribute('aria-label', t('segmentText', { time, speaker: name }))
    if (text.value !== item.text) replaceKeepingCaret(text, item.text)
    row._known = item.text
    this._fillPlaying(row)
  }

  _fillPlaying (row) {
    const p = this.playing
    const on = p.id !== null && row.dataset.segmentId === p.id
    row.classList.toggle('playing', on)
    // A word found in another text than the row's (edited since) would be misplaced.
    const span = on && row._item?.text === p.text ? p.span : null
    drawSpoken(row.querySelector('.spoken-box'), p.text, span, p.index)
  }

  _fillPeers (row) {
    const peers = this.hooks.peersAt(row.dataset.segmentId)
    const box = row.querySelector('.peers')
    box.replaceChildren(...peers.map((p) => {
      const chip = document.createElement('span')
      chip.className = 'peer'
      chip.style.setProperty('--peer', p.color)
      chip.textContent = p.name
      return chip
    }))
    row.classList.toggle('has-peers', peers.length > 0)
    // Their carets, drawn over the text.
    drawCarets(row.querySelector('.carets'), row._item?.text ?? '', peers)
  }

  /** Redraw only who is where (awareness changes often; text does not change with it). */
  refreshPeers () {
    for (const row of this.rows.values()) this._fillPeers(row)
  }

  _key (e, id, text) {
    const i = this.position.get(id)
    const move = (j) => {
      if (j < 0 || j >= this.items.length) return
      e.preventDefault()
      this.reveal(this.items[j].segment_id)
    }
    if (e.key === 'ArrowDown' && !e.shiftKey && text.selectionEnd === text.value.length) move(i + 1)
    else if (e.key === 'ArrowUp' && !e.shiftKey && text.selectionStart === 0) move(i - 1)
    else if (e.key === 'Escape') text.blur()
  }

  async _copyTime (row) {
    const time = row.querySelector('.ts').textContent
    try {
      await navigator.clipboard.writeText(time)
      this.hooks.toast(t('copied', { time }))
    } catch {
      this.hooks.toast(time)
    }
  }
}
