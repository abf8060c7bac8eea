// Edits the relay has not stored yet, kept in this browser's localStorage, so that closing
// the tab (or the browser) while offline loses nothing: the next time the same person
// opens the transcript here, they are applied again and synced like any edit.
//
// Each tab keeps its own entry (two tabs offline at once must not overwrite each other).
// A tab that restores an entry takes it over: it removes it and keeps those edits in its
// own entry until the relay has them.
import * as Y from 'yjs'
import { fromBase64, toBase64 } from 'lib0/buffer'

const PREFIX = 'minuta.pending.'
const DELAY_MS = 250 // a burst of keystrokes is written once

/**
 * The state vector that the edits of `mine` (client ids) not yet stored on the relay are
 * the diff against: the doc's own, with those clients only as far as `acked` (client id
 * -> the clock the relay has). Null when the relay has them all.
 */
export function unsavedFrom (doc, mine, acked) {
  const vector = Y.decodeStateVector(Y.encodeStateVector(doc))
  let unsaved = false
  for (const id of mine) {
    const stored = acked.get(id) ?? 0
    if ((vector.get(id) ?? 0) > stored) unsaved = true
    vector.set(id, stored)
  }
  return unsaved ? Y.encodeStateVector(vector) : null
}

/**
 * Note an ACK's state vector in `acked` (client id -> the clock the relay has stored).
 * Every client's, not only ours: edits restored later may already be stored.
 */
export function recordAck (acked, stateVector) {
  for (const [id, clock] of Y.decodeStateVector(stateVector)) {
    acked.set(id, Math.max(acked.get(id) ?? 0, clock))
  }
}

export class PendingEdits {
  /**
   * @param {Y.Doc} doc
   * @param {string} scope who and which transcript, e.g. "acme/ana/t-123"
   * @param {{unsavedFrom: () => Uint8Array|null, storage?: Storage}} source
   *   `unsavedFrom()` is the state vector that the edits not yet on the relay are the
   *   diff against, or null when everything is saved.
   */
  constructor (doc, scope, { unsavedFrom, storage = globalThis.localStorage }) {
    this.doc = doc
    this.scope = `${PREFIX}${scope}/`
    this.key = `${this.scope}${doc.clientID}`
    this.unsavedFrom = unsavedFrom
    this.storage = storage
    this._timer = null
    this.started = false
  }

  /**
   * Apply what earlier tabs left unsaved (after the first sync, so that the update is
   * sent on to the relay like a local edit). Returns the client ids it brought back.
   */
  restore () {
    const ids = new Set()
    for (const key of this._keys()) {
      if (key === this.key) continue
      try {
        const update = fromBase64(this.storage.getItem(key))
        for (const id of Y.decodeStateVector(Y.encodeStateVectorFromUpdate(update)).keys()) {
          ids.add(id)
        }
        Y.applyUpdate(this.doc, update, this)
      } catch (err) {
        console.warn(`minuta: dropping unreadable pending edits ${key}`, err)
      }
      this.storage.removeItem(key)
    }
    return ids
  }

  /** From now on, keep this tab's unsaved edits (call after `restore()`). */
  start () {
    this.started = true
    this.save()
  }

  /** Something changed (an edit, an ACK): write the entry soon. */
  changed () {
    if (!this.started || this._timer !== null) return
    this._timer = setTimeout(() => this.save(), DELAY_MS)
  }

  /** Write the entry now (also when the page is hidden or closed). */
  save () {
    clearTimeout(this._timer)
    this._timer = null
    if (!this.started) return
    const from = this.unsavedFrom()
    try {
      if (from === null) this.storage.removeItem(this.key)
      else this.storage.setItem(this.key, toBase64(Y.encodeStateAsUpdate(this.doc, from)))
    } catch (err) { // full or disabled storage: the page still warns before closing
      console.warn('minuta: cannot keep unsaved edits in this browser', err)
    }
  }

  destroy () {
    this.save()
    this.started = false
  }

  _keys () {
    const keys = []
    for (let i = 0; i < this.storage.length; i++) {
      const key = this.storage.key(i)
      if (key?.startsWith(this.scope)) keys.push(key)
    }
    return keys
  }
}
