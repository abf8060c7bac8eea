// Splitting an update under a frame limit (web/src/split.js), against real Yjs: every part
// is a well-formed update under the limit, and the parts applied in order build the doc.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { InvalidUpdateError, splitUpdate } from '../src/split.js'

/** mulberry32: a seeded PRNG, so that every history is the same on every run. */
function prng (seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = ['hola ', 'reunión ', 'naïve ', 'ñandú ', '🎉', '日本語 ', 'e\u0301 ', '👩‍💻 ', 'palabra '.repeat(40)]
const VALUES = [1.5, -7, 'valor', 'año 🎉', null, true, [1, 'dos'], { a: 1, b: ['c'] }]

/** A position in `text` that is not between the two halves of a surrogate pair. */
function boundary (text, i) {
  return (text.toString().charCodeAt(i - 1) & 0xfc00) === 0xd800 ? i + 1 : i
}

/**
 * A doc edited by three clients that sync now and then, and what it held halfway.
 */
function history (seed, edits = 150) {
  const rand = prng(seed)
  const pick = (list) => list[Math.floor(rand() * list.length)]
  const docs = [0, 1, 2].map(n => { const doc = new Y.Doc(); doc.clientID = 1000 * seed + n + 1; return doc })
  let halfway = null
  for (let step = 0; step < edits; step++) {
    const doc = pick(docs)
    const text = doc.getText('text')
    const action = rand()
    if (action < 0.4 || text.length < 10) {
      text.insert(boundary(text, Math.floor(rand() * (text.length + 1))), pick(WORDS).repeat(1 + Math.floor(rand() * 3)))
    } else if (action < 0.6) {
      const start = boundary(text, Math.floor(rand() * (text.length - 8)))
      text.delete(start, boundary(text, start + 1 + Math.floor(rand() * 6)) - start)
    } else if (action < 0.8) {
      doc.getMap('map').set(`k${Math.floor(rand() * 12)}`, pick(VALUES))
    } else {
      doc.getArray('list').push(Array.from({ length: 1 + Math.floor(rand() * 30) }, () => pick(VALUES)))
    }
    if (rand() < 0.3) {
      const other = pick(docs)
      Y.applyUpdate(other, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(other)))
    }
    if (step === edits >> 1) halfway = Y.encodeStateAsUpdate(docs[0])
  }
  for (const other of docs.slice(1)) Y.applyUpdate(docs[0], Y.encodeStateAsUpdate(other))
  return { doc: docs[0], halfway }
}

const contents = (doc) => ({
  text: doc.getText('text').toString(),
  map: doc.getMap('map').toJSON(),
  list: doc.getArray('list').toJSON()
})

/** Splits `update`, checks each part, applies them in order to `target`; the parts. */
function applySplit (update, maxBytes, target = new Y.Doc(), { oversize = false } = {}) {
  const parts = splitUpdate(update, maxBytes)
  for (const part of parts) {
    if (!oversize) assert.ok(part.length <= maxBytes, `a part of ${part.length} bytes > ${maxBytes}`)
    Y.decodeUpdate(part)
    Y.applyUpdate(target, part)
  }
  // Nothing waits for a dependency: in order, each part finds what it builds on.
  assert.equal(target.store.pendingStructs, null)
  assert.equal(target.store.pendingDs, null)
  return parts
}

function assertSame (copy, doc) {
  assert.deepEqual(contents(copy), contents(doc))
  assert.deepEqual(Y.encodeStateVector(copy), Y.encodeStateVector(doc))
}

test('random histories of three clients, split whole, build the same doc', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const { doc } = history(seed)
    const update = Y.encodeStateAsUpdate(doc)
    for (const maxBytes of [160, 400, 1500, 10000]) {
      const copy = new Y.Doc()
      const parts = applySplit(update, maxBytes, copy)
      if (update.length > maxBytes) assert.ok(parts.length > 1)
      assertSame(copy, doc)
    }
  }
})

test('a diff against a halfway copy, split, completes the copy', () => {
  for (let seed = 31; seed <= 40; seed++) {
    const { doc, halfway } = history(seed)
    for (const maxBytes of [160, 400, 1500]) {
      const copy = new Y.Doc()
      Y.applyUpdate(copy, halfway)
      applySplit(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(copy)), maxBytes, copy)
      assertSame(copy, doc)
    }
  }
})

test('one big string is cut between characters', () => {
  const doc = new Y.Doc()
  const big = 'añ🎉日'.repeat(50000)
  doc.getText('text').insert(0, big)
  const copy = new Y.Doc()
  const parts = applySplit(Y.encodeStateAsUpdate(doc), 64 * 1024, copy)
  assert.ok(parts.length >= 8)
  assert.equal(copy.getText('text').toString(), big) // a cut pair would be two U+FFFD
})

test('a cut string keeps a leading U+FEFF and its right origin', () => {
  const doc = new Y.Doc()
  const text = doc.getText('text')
  text.insert(0, '[]')
  text.insert(1, '\ufeff' + 'añ🎉'.repeat(2000)) // between two characters: both origins
  const copy = new Y.Doc()
  applySplit(Y.encodeStateAsUpdate(doc), 400, copy)
  assertSame(copy, doc)
})

test('an array of 2000 strings pushed at once is cut between values', () => {
  const doc = new Y.Doc()
  const values = Array.from({ length: 2000 }, (_, i) => `valor ${i} ñ`)
  doc.getArray('list').push(values)
  assert.equal(Y.decodeUpdate(Y.encodeStateAsUpdate(doc)).structs.length, 1)
  const copy = new Y.Doc()
  const parts = applySplit(Y.encodeStateAsUpdate(doc), 2048, copy)
  assert.ok(parts.length > 10)
  assert.deepEqual(copy.getArray('list').toJSON(), values)
})

test('JSON content (written by old clients) is cut between values', () => {
  // One root-level ContentJSON item (ref 2) of client 5 in the array 'list'.
  const values = Array.from({ length: 300 }, (_, i) => ({ n: i, s: 'año' }))
  const update = encoding.encode(e => {
    for (const n of [1, 1, 5, 0, 2, 1]) encoding.writeVarUint(e, n) // clients, structs, id, info, root
    encoding.writeVarString(e, 'list')
    encoding.writeVarUint(e, values.length)
    for (const value of values) encoding.writeVarString(e, JSON.stringify(value))
    encoding.writeVarUint(e, 0) // no deletes
  })
  const copy = new Y.Doc()
  assert.ok(applySplit(update, 500, copy).length > 10)
  assert.deepEqual(copy.getArray('list').toJSON(), values)
})

test('a delete set of 10,000 ranges is split into parts of its own', () => {
  const doc = new Y.Doc()
  const text = doc.getText('text')
  text.insert(0, 'ab'.repeat(10000))
  for (let i = 9999; i >= 0; i--) text.delete(2 * i + 1, 1) // from the end: Yjs is 7x faster so
  const update = Y.encodeStateAsUpdate(doc)
  assert.equal(Y.decodeUpdate(update).ds.clients.get(doc.clientID).length, 10000)
  const copy = new Y.Doc()
  const parts = applySplit(update, 2048, copy)
  const withDeletes = parts.filter(part => Y.decodeUpdate(part).ds.clients.size)
  assert.ok(withDeletes.length > 1)
  for (const part of withDeletes.slice(1)) assert.equal(Y.decodeUpdate(part).structs.length, 0)
  assert.equal(copy.getText('text').toString(), 'a'.repeat(10000))
  assertSame(copy, doc)
})

test('a binary larger than a part comes whole, in a part of its own size', () => {
  const doc = new Y.Doc()
  const bytes = Uint8Array.from({ length: 5000 }, (_, i) => i % 251)
  doc.getText('text').insert(0, 'antes '.repeat(200))
  doc.getMap('map').set('audio', bytes)
  doc.getText('text').insert(0, 'después '.repeat(200))
  const copy = new Y.Doc()
  const parts = applySplit(Y.encodeStateAsUpdate(doc), 1024, copy, { oversize: true })
  assert.equal(parts.filter(part => part.length > 1024).length, 1)
  assert.deepEqual(copy.getMap('map').get('audio'), bytes)
  assert.equal(copy.getText('text').toString(), doc.getText('text').toString())
})

test('a merged update with a gap keeps its skip inside runs only', () => {
  const doc = new Y.Doc()
  const updates = []
  doc.on('update', update => updates.push(update))
  for (let i = 0; i < 30; i++) doc.getText('text').insert(0, `palabra ${i} `)
  const gapped = Y.mergeUpdates([...updates.slice(0, 10), ...updates.slice(20)])
  assert.ok(Y.decodeUpdate(gapped).structs.some(s => s.constructor === Y.Skip))
  const copy = new Y.Doc()
  for (const part of splitUpdate(gapped, 200)) {
    assert.ok(part.length <= 200)
    Y.applyUpdate(copy, part)
  }
  for (const update of updates.slice(10, 20)) Y.applyUpdate(copy, update) // fills the gap
  assertSame(copy, doc)
})

test('an update that fits comes back as it is', () => {
  const doc = new Y.Doc()
  doc.getText('text').insert(0, 'hola')
  const update = Y.encodeStateAsUpdate(doc)
  const parts = splitUpdate(update, 1000)
  assert.equal(parts.length, 1)
  assert.equal(parts[0], update)
})

test('a limit that leaves no room for content is refused', () => {
  const doc = new Y.Doc()
  doc.getText('text').insert(0, 'palabra '.repeat(50))
  assert.throws(() => splitUpdate(Y.encodeStateAsUpdate(doc), 50), RangeError)
})

test('a malformed update is refused', () => {
  const doc = new Y.Doc()
  doc.getText('text').insert(0, 'palabra '.repeat(50))
  const update = Y.encodeStateAsUpdate(doc)
  const bad = {
    truncated: update.subarray(0, update.length - 10),
    trailing: Uint8Array.from([...update, 0]),
    'a count past the end': Uint8Array.from([0xff, 0xff, 0xff, 0x7c, ...update]),
    'an unknown content type': Uint8Array.from([1, 1, 1, 0, 0x1b, ...update.subarray(5)]),
    'an integer past 2^53': Uint8Array.from([1, 1, ...Array(8).fill(0xff), 0x7f, ...update])
  }
  for (const [why, data] of Object.entries(bad)) {
    assert.throws(() => splitUpdate(data, 120), InvalidUpdateError, why)
  }
})

test('the parts of a fixed doc are updates Yjs accepts', () => {
  const doc = new Y.Doc()
  doc.clientID = 42
  const text = doc.getText('text')
  text.insert(0, 'Buenos días a todos. '.repeat(20))
  text.insert(21, 'Empezamos 🎉 ')
  text.delete(0, 7)
  doc.getMap('map').set('título', 'Reunión de presupuesto')
  doc.getArray('list').push(['ana', 'luis', { rol: 'secretaria' }])
  const update = Y.encodeStateAsUpdate(doc)
  const parts = splitUpdate(update, 200)
  assert.ok(parts.length > 3)
  const copy = new Y.Doc()
  for (const part of parts) {
    const { structs, ds } = Y.decodeUpdate(part)
    assert.ok(structs.length || ds.clients.size)
    Y.applyUpdate(copy, part)
  }
  assertSame(copy, doc)
  const merged = new Y.Doc() // as a server that merges what it receives would keep them
  Y.applyUpdate(merged, Y.mergeUpdates(parts))
  assertSame(merged, doc)
})
