// A person editing a transcript in the browser, played by the stock Yjs client under Node.
//
//   MINUTA_TOKEN=<access token> node tests/node/coedit.mjs ws://HOST:PORT/sync TRANSCRIPT_ID PLAN
//
// PLAN is JSON (all keys optional):
//   {"user": "ana",                                   who edits (edited_by)
//    "edits": [{"segment": "s1", "text": "..."},      a whole-text correction (set_text)
//              {"segment": "s2", "index": 3, "delete": 0, "insert": "ya "}],   (edit_text)
//    "rename": {"S1": "Ana"},                          speaker -> display name
//    "until": {"speakers": {"S2": "Bruno"},            wait for others' changes: names,
//              "revs": {"s1": 3},                      ASR revisions (at least),
//              "texts": {"s2": ["por la junta"]}},     displayed texts that hold these
//    "timeout_s": 30}
//
// It connects with y-websocket's WebsocketProvider (the `ws` package stands in for the
// browser's WebSocket), waits for `sync`, makes its edits with the plain Yjs API following
// the engine's layout (engine/_doc_base.py), prints {"event": "edited"}, waits for `until`, then
// prints {"event": "final", ...} (what the engine would display, the speakers, and the whole
// document as a Yjs update) and exits 0. On timeout it exits 1 with a message on stderr.
// Indices count characters (code points) like the Python API; Yjs counts UTF-16 units.

import { createRequire } from 'node:module'

// The packages are installed in web/ (`npm ci --prefix web`). Load them all through one
// require so that y-websocket and this script share a single Yjs instance.
const require = createRequire(new URL('../../web/package.json', import.meta.url))
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WebSocket = require('ws')

const [serverUrl, transcriptId, planJson = '{}'] = process.argv.slice(2)
const token = process.env.MINUTA_TOKEN
if (!serverUrl || !transcriptId || !token) {
  console.error('usage: MINUTA_TOKEN=... node coedit.mjs ws://HOST:PORT/sync TRANSCRIPT_ID [PLAN]')
  process.exit(2)
}
const plan = JSON.parse(planJson)
const user = plan.user ?? 'ana'
const until = plan.until ?? {}

const doc = new Y.Doc()
const segments = doc.getMap('segments')
const speakers = doc.getMap('speakers')

const timer = setTimeout(() => {
  console.error(`coedit: timed out after ${plan.timeout_s ?? 30}s; state: ${JSON.stringify(display())}`)
  process.exit(1)
}, (plan.timeout_s ?? 30) * 1000)

// ------------------------------------------------------------------ the engine's rules

/** UTC now as Python's datetime.isoformat() writes it, to the second. */
const utcNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00')

/** The UTF-16 offset of code point `index` in `text`. */
const utf16 = (text, index) => Array.from(text).slice(0, index).join('').length

/** The key of the displayed Y.Text; null for a partial nobody has edited (_shown_key). */
const shownKey = (seg) => seg.get('human_key') || seg.get('asr').text_key || null

/** The displayed text (_shown_text). */
const shownText = (seg) => {
  const key = shownKey(seg)
  return key === null ? seg.get('asr').text : seg.get('texts').get(key).toString()
}

/** A person's character-level edit, as TranscriptDoc.edit_text makes it. */
function editText (segmentId, index, del, insert) {
  doc.transact(() => {
    const seg = segments.get(segmentId)
    if (!seg) throw new Error(`no segment ${segmentId}`)
    const current = shownText(seg)
    const length = Array.from(current).length
    if (index < 0 || del < 0 || index + del > length) {
      throw new Error(`edit out of range for ${segmentId}: ${index}+${del} of ${length}`)
    }
    const texts = seg.get('texts')
    let key = shownKey(seg)
    if (key === null) {
      // A partial: this person's own copy, so no one else's first edit collides.
      key = `${seg.get('asr').rev}.${doc.clientID}`
      texts.set(key, new Y.Text(current))
    }
    const ytext = texts.get(key)
    if (seg.get('human_key') == null) seg.set('human_key', key)
    seg.set('edited_by', user)
    seg.set('edited_at', utcNow())
    const start = utf16(current, index)
    if (del) ytext.delete(start, utf16(current, index + del) - start)
    if (insert) ytext.insert(start, insert)
  }, 'human')
}

/** A whole-text correction as the smallest edit, as TranscriptDoc.set_text makes it. */
function setText (segmentId, text) {
  const seg = segments.get(segmentId)
  if (!seg) throw new Error(`no segment ${segmentId}`)
  const old = Array.from(shownText(seg))
  const now = Array.from(text)
  let start = 0
  while (start < Math.min(old.length, now.length) && old[start] === now[start]) start++
  let endOld = old.length
  let endNew = now.length
  while (endOld > start && endNew > start && old[endOld - 1] === now[endNew - 1]) {
    endOld--
    endNew--
  }
  if (old.join('') === text) return
  editText(segmentId, start, endOld - start, now.slice(start, endNew).join(''))
}

/** What the engine displays for each visible segment (_segment_snapshot), by id. */
function display () {
  const names = speakers.toJSON()
  const shown = {}
  segments.forEach((seg, id) => {
    const asr = seg.get('asr')
    const humanKey = seg.get('human_key') ?? null
    if (seg.get('deleted_by') || (asr.deleted && humanKey === null)) return
    shown[id] = {
      text: shownText(seg),
      source: humanKey === null ? 'asr' : 'human',
      asr_text: humanKey === null ? null : asr.text,
      rev: asr.rev,
      final: Boolean(asr.final),
      speaker: asr.speaker == null ? null : (names[asr.speaker] ?? asr.speaker),
      speaker_id: asr.speaker ?? null,
      edited_by: seg.get('edited_by') ?? null
    }
  })
  return { segments: shown, speakers: names }
}

// ------------------------------------------------------------------ waiting

/** Resolve once `condition()` holds, checking after every change to the document. */
const waitFor = (condition) => new Promise((resolve) => {
  const check = () => {
    if (condition()) {
      doc.off('update', check)
      resolve()
    }
  }
  doc.on('update', check)
  check()
})

function othersArrived () {
  const shown = display()
  return Object.entries(until.speakers ?? {}).every(([id, name]) => shown.speakers[id] === name) &&
    Object.entries(until.revs ?? {}).every(([id, rev]) => shown.segments[id]?.rev >= rev) &&
    Object.entries(until.texts ?? {}).every(([id, parts]) =>
      parts.every((part) => shown.segments[id]?.text.includes(part)))
}

const print = (message) => process.stdout.write(JSON.stringify(message) + '\n')

// ------------------------------------------------------------------ the session

const provider = new WebsocketProvider(serverUrl, transcriptId, doc, {
  params: { token },
  WebSocketPolyfill: WebSocket,
  disableBc: true // no other tabs here; a BroadcastChannel would keep Node running
})
provider.on('closed', ({ code, reason }) => {
  console.error(`coedit: the relay closed the connection: ${code} ${reason}`)
  process.exit(1)
})

await new Promise((resolve) => provider.once('sync', resolve))
for (const edit of plan.edits ?? []) {
  if (edit.text !== undefined) setText(edit.segment, edit.text)
  else editText(edit.segment, edit.index, edit.delete ?? 0, edit.insert ?? '')
}
doc.transact(() => {
  for (const [speaker, name] of Object.entries(plan.rename ?? {})) speakers.set(speaker, name)
}, 'human')
print({ event: 'edited', client_id: doc.clientID })

await waitFor(othersArrived)
print({
  event: 'final',
  client_id: doc.clientID,
  ...display(),
  update: Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64')
})
clearTimeout(timer)
provider.destroy()
doc.destroy() // and with it the awareness, whose timer would keep Node running
