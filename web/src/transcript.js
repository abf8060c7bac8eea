// The transcript's Yjs layout, read and written by the same rules as the engine
// (engine/_doc_base.py; its module docstring describes the layout). In short: the ASR replaces
// `asr` (one plain map) at each revision and adds a Y.Text per final hypothesis; a person
// edits the Y.Text they were shown and records its key in `human_key`, so their text is
// shown from then on, whatever the ASR does later. Offsets here are UTF-16 units, as in
// the browser's own strings; yjs counts the same way.
import * as Y from 'yjs'
import { cleanWords } from './playback.js'

export const STATUSES = ['open', 'done', 'dismissed']
const EDITED = 'edited:'

/** UTC now as Python's datetime.isoformat() writes it, to the second. */
const utcNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00')

export class Transcript {
  /** @param {Y.Doc} doc */
  constructor (doc) {
    this.doc = doc
    this.meta = doc.getMap('meta')
    this.segments = doc.getMap('segments')
    this.speakers = doc.getMap('speakers')
    this.actions = doc.getMap('actions')
    this.summary = doc.getMap('summary')
  }

  /** What a segment shows, or null when it is deleted (engine: _segment_snapshot). */
  view (segmentId) {
    const seg = this.segments.get(segmentId)
    if (!(seg instanceof Y.Map)) return null
    const asr = seg.get('asr')
    if (!asr || typeof asr !== 'object') return null
    const humanKey = seg.get('human_key') ?? null
    if (seg.get('deleted_by') || (asr.deleted && humanKey === null)) return null
    const key = humanKey || asr.text_key || null
    const text = key === null ? String(asr.text ?? '') : String(seg.get('texts')?.get(key) ?? '')
    return {
      segment_id: segmentId,
      text,
      t0: Number(asr.t0) || 0,
      t1: Number(asr.t1) || 0,
      speaker_id: asr.speaker ?? null,
      conf: asr.conf == null ? null : Number(asr.conf),
      rev: Number(asr.rev) || 0,
      final: Boolean(asr.final),
      source: humanKey === null ? 'asr' : 'human',
      asr_text: humanKey === null ? null : String(asr.text ?? ''),
      edited_by: seg.get('edited_by') ?? null,
      words: cleanWords(asr.words) // [word, t0, t1, prob], for playback
    }
  }

  speakerName (speakerId) {
    if (speakerId == null) return null
    return this.speakers.get(speakerId) ?? speakerId
  }

  /**
   * A person's edit of a segment's text: delete `del` units at `index`, insert `insert`
   * (engine: TranscriptDoc.edit_text). Editing a partial makes a Y.Text of one's own,
   * keyed "<rev>.<clientID>", so two people's first edits never collide.
   */
  editText (segmentId, index, del, insert, user) {
    this.doc.transact(() => {
      const seg = this.segments.get(segmentId)
      if (!(seg instanceof Y.Map)) throw new Error(`no segment ${segmentId}`)
      const asr = seg.get('asr')
      const texts = seg.get('texts')
      let key = seg.get('human_key') || asr.text_key || null
      if (key === null) {
        key = `${asr.rev}.${this.doc.clientID}`
        texts.set(key, new Y.Text(String(asr.text ?? '')))
      }
      const ytext = texts.get(key)
      if (index < 0 || del < 0 || index + del > ytext.length) {
        throw new Error(`edit out of range for ${segmentId}: ${index}+${del} of ${ytext.length}`)
      }
      if (seg.get('human_key') == null) seg.set('human_key', key)
      seg.set('edited_by', user)
      seg.set('edited_at', utcNow())
      if (del) ytext.delete(index, del)
      if (insert) ytext.insert(index, insert)
    }, 'human')
  }

  renameSpeaker (speakerId, name) {
    if (!speakerId || !name) return
    this.doc.transact(() => this.speakers.set(speakerId, name), 'human')
  }

  /** Plain values of every action, in segment order then id (engine: _actions_snapshot). */
  actionList (order = new Map()) {
    const list = []
    this.actions.forEach((a, actionId) => {
      if (!(a instanceof Y.Map)) return
      const d = a.toJSON()
      list.push({
        action_id: actionId,
        text: String(d.text ?? ''),
        owner: d.owner ?? null,
        due: d.due ?? null,
        status: STATUSES.includes(d.status) ? d.status : 'open',
        conf: d.conf ?? null,
        segment_ids: Array.isArray(d.segment_ids) ? d.segment_ids.map(String) : [],
        origin: d.origin === 'human' ? 'human' : 'worker',
        stale: Boolean(d.stale),
        edited: Object.keys(d).filter((k) => k.startsWith(EDITED)).map((k) => k.slice(EDITED.length))
      })
    })
    const place = (a) => order.get(a.segment_ids[0]) ?? Infinity
    return list.sort((a, b) => place(a) - place(b) || a.action_id.localeCompare(b.action_id))
  }

  /**
   * A person's change to an action's text, owner, due or status (engine: edit_action):
   * each changed field gets an `edited:<field>` key, so no worker run writes it again.
   */
  editAction (actionId, changes, user) {
    this.doc.transact(() => {
      const action = this.actions.get(actionId)
      if (!(action instanceof Y.Map)) throw new Error(`no action ${actionId}`)
      for (const [key, value] of Object.entries(changes)) {
        if (!['text', 'owner', 'due', 'status'].includes(key)) continue
        if (action.get(key) !== value) action.set(key, value)
        action.set(EDITED + key, user)
      }
    }, 'human')
  }

  /** An action added by hand: origin "human", which the workers never touch. */
  addAction ({ text, owner = null, due = null, segmentIds = [] }) {
    const actionId = `h-${crypto.randomUUID().slice(0, 12)}`
    this.doc.transact(() => {
      this.actions.set(actionId, new Y.Map(Object.entries({
        action_id: actionId,
        text,
        owner,
        due,
        status: 'open',
        conf: null,
        segment_ids: segmentIds,
        source_span: null,
        origin: 'human'
      })))
    }, 'human')
    return actionId
  }

  summaryView () {
    if (!this.summary.has('bullets')) return null
    const list = (key) => (this.summary.get(key) ?? []).map(String)
    return {
      bullets: list('bullets'),
      risks: list('risks'),
      topics: list('topics'),
      updated_at: this.summary.get('updated_at') ?? null,
      model: this.summary.get('model') ?? null
    }
  }
}

/**
 * The smallest single edit that turns `before` into `after`: {index, del, insert}, or null
 * when they are equal. Never splits a surrogate pair (an emoji is one unit of editing).
 */
export function diff (before, after) {
  if (before === after) return null
  let start = 0
  const max = Math.min(before.length, after.length)
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++
  let endB = before.length
  let endA = after.length
  while (endB > start && endA > start && before.charCodeAt(endB - 1) === after.charCodeAt(endA - 1)) {
    endB--
    endA--
  }
  if (start > 0 && isHigh(before.charCodeAt(start - 1))) start--
  if (endB < before.length && isLow(before.charCodeAt(endB))) {
    endB++
    endA++
  }
  return { index: start, del: endB - start, insert: after.slice(start, endA) }
}

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff

/** "01:02:03" (or "02:03" under an hour) for a time in seconds. */
export function clock (seconds) {
  const s = Math.max(0, Math.floor(seconds))
  const hh = Math.floor(s / 3600)
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0')
  const ss = String(s % 60).padStart(2, '0')
  return hh ? `${String(hh).padStart(2, '0')}:${mm}:${ss}` : `${mm}:${ss}`
}
