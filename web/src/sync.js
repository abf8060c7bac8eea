// The live connection: a stock y-websocket provider, plus the relay's two extra messages:
// ACK (100, the relay's state vector once our updates are on its disk) and NOTICE (101, a
// line of text). From ACKs we know whether every edit of ours is saved.
//
// What we send larger than a part (the sync of many edits made offline, a huge paste)
// goes as several update frames (split.js), as the agent's does: the relay refuses frames
// over its limit. What the relay sends us in parts, the stock handlers take as they are.
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import * as bc from 'lib0/broadcastchannel'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { recordAck, unsavedFrom } from './pending.js'
import { splitUpdate } from './split.js'

const ACK = 100
const NOTICE = 101
const SYNC = 0
const SYNC_STEP1 = 0
const UPDATE = 2
export const PART_BYTES = 2 ** 20 - 16 // engine/protocol.py's: a part's frame fits in 1 MiB

/**
 * Sync `doc` with the relay's room `transcriptId`. Events on the returned object:
 * "state" ({status: 'connecting'|'live'|'reconnecting'|'offline', saved}), "notice" (text),
 * "closed" ({code, reason}: the relay refused us; no retry unless `retry()`).
 */
export class Sync extends EventTarget {
  constructor (doc, transcriptId, session) {
    super()
    this.doc = doc
    this.session = session
    this.status = 'connecting'
    this.everConnected = false
    this.mine = new Set([doc.clientID]) // this tab's client, and those it took over
    this.acked = new Map() // client id -> its clock that the relay has stored
    this._refreshedFor4401 = 0
    const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`
    this.provider = new WebsocketProvider(base, transcriptId, doc, {
      params: { token: session.accessToken },
      maxBackoffTime: 5000
    })
    // The handlers array is the provider's own copy: add ours beside the stock ones.
    const handlers = this.provider.messageHandlers
    const stockSync = handlers[SYNC]
    handlers[SYNC] = (encoder, decoder, provider, ...rest) => {
      // The relay's sync step 1: answer it ourselves when the answer needs parts (an
      // encoder left empty is not sent).
      const peek = decoding.clone(decoder)
      if (decoding.readVarUint(peek) === SYNC_STEP1) {
        const update = Y.encodeStateAsUpdate(doc, decoding.readVarUint8Array(peek))
        if (update.length > PART_BYTES) return this._sendParts(update)
      }
      stockSync(encoder, decoder, provider, ...rest)
    }
    // Our own edits, likewise (y-websocket's handler, with parts; destroy() removes it).
    doc.off('update', this.provider._updateHandler)
    this.provider._updateHandler = (update, origin) => {
      if (origin !== this.provider) this._sendParts(update)
    }
    doc.on('update', this.provider._updateHandler)
    handlers[ACK] = (_encoder, decoder) => this._onAck(decoding.readVarUint8Array(decoder))
    handlers[NOTICE] = (_encoder, decoder) => {
      const text = new TextDecoder().decode(decoding.readVarUint8Array(decoder))
      this.dispatchEvent(new CustomEvent('notice', { detail: text }))
    }
    this.provider.on('status', ({ status }) => {
      if (status === 'connected') {
        // The relay told the others we left, at our last clock: announce ourselves at a
        // newer one, or they would ignore us until our next renewal.
        if (this.everConnected) this.awareness.setLocalState(this.awareness.getLocalState())
        this.everConnected = true
      } else if (status === 'disconnected') {
        // y-websocket forgot the others but keeps their clocks, and the relay replays
        // them on reconnection at those same clocks, which would then be ignored until
        // each one's next renewal: forget the clocks too.
        const meta = this.awareness.meta
        for (const id of [...meta.keys()]) {
          if (id !== this.doc.clientID && !this.awareness.states.has(id)) meta.delete(id)
        }
      }
      this._update()
    })
    this.provider.on('sync', () => this._update())
    this.provider.on('closed', (event) => this._onClosed(event))
    this._onUpdate = (_update, origin) => { if (origin !== this.provider) this._update() }
    doc.on('update', this._onUpdate)
    // When the browser knows the network is gone, close now rather than when the socket
    // times out, and reconnect as soon as it is back rather than after the backoff.
    this._onOffline = () => { this.provider.disconnect(); this._update() }
    this._onOnline = () => { if (this.status !== 'closed') this.provider.connect(); this._update() }
    addEventListener('online', this._onOnline)
    addEventListener('offline', this._onOffline)
    this._onTokens = () => { this.provider.params = { token: session.accessToken } }
    session.addEventListener('tokens', this._onTokens)
  }

  get awareness () { return this.provider.awareness }
  get synced () { return this.provider.synced }

  /** True when everything this tab wrote (or took over) is stored on the relay. */
  get saved () {
    return this.unsavedFrom() === null
  }

  /** Edits of these clients (restored from an earlier tab) are ours to see saved. */
  adopt (clientIds) {
    for (const id of clientIds) this.mine.add(id)
    this._update()
  }

  /** What our unsaved edits are the diff against (see pending.js), or null. */
  unsavedFrom () {
    return unsavedFrom(this.doc, this.mine, this.acked)
  }

  /** Connect again after the relay closed the connection for good (a 44xx code). */
  retry () {
    this.status = 'connecting'
    this.provider.connect()
  }

  destroy () {
    this.doc.off('update', this._onUpdate)
    removeEventListener('online', this._onOnline)
    removeEventListener('offline', this._onOffline)
    this.session.removeEventListener('tokens', this._onTokens)
    this.provider.destroy()
  }

  /** Send an update in frames of at most a part each, if connected (else the next sync
   * sends it). */
  _sendParts (update) {
    const provider = this.provider
    for (const part of splitUpdate(update, PART_BYTES)) {
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, SYNC)
      encoding.writeVarUint(encoder, UPDATE)
      encoding.writeVarUint8Array(encoder, part)
      const frame = encoding.toUint8Array(encoder)
      const ws = provider.ws
      if (provider.wsconnected && ws && ws.readyState === ws.OPEN) ws.send(frame)
      if (provider.bcconnected) bc.publish(provider.bcChannel, frame, provider) // other tabs
    }
  }

  _onAck (stateVector) {
    recordAck(this.acked, stateVector)
    this._update()
  }

  async _onClosed ({ code, reason }) {
    if (code === 4401) {
      // The token was refused: refresh once, then reconnect; if that fails the session
      // ends and the page shows the login form. Never a loop of refused connects.
      const now = Date.now()
      if (now - this._refreshedFor4401 > 30_000 && await this.session.refresh()) {
        this._refreshedFor4401 = now
        this.retry()
        return
      }
      this.session.logout('expired')
      return
    }
    this.status = 'closed'
    this.dispatchEvent(new CustomEvent('closed', { detail: { code, reason } }))
  }

  _update () {
    let status
    if (this.provider.wsconnected && this.provider.synced) status = 'live'
    else if (!navigator.onLine) status = 'offline'
    else if (this.everConnected) status = 'reconnecting'
    else status = 'connecting'
    if (this.status === 'closed') return
    this.status = status
    this.dispatchEvent(new CustomEvent('state', { detail: { status, saved: this.saved } }))
  }
}
