// Unsaved edits kept in the browser (web/src/pending.js), with a Map for localStorage and
// a doc standing in for the relay's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { PendingEdits, recordAck, unsavedFrom } from '../src/pending.js'

class Storage {
  constructor () { this.items = new Map() }
  get length () { return this.items.size }
  key (i) { return [...this.items.keys()][i] ?? null }
  getItem (k) { return this.items.get(k) ?? null }
  setItem (k, v) { this.items.set(k, String(v)) }
  removeItem (k) { this.items.delete(k) }
}

/** A tab: its doc, the relay's ACKed state, and its pending edits. */
function tab (storage, relay, scope = 'acme/ana/t-1') {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(relay))
  const mine = new Set([doc.clientID])
  const acked = new Map()
  const pending = new PendingEdits(doc, scope, {
    unsavedFrom: () => unsavedFrom(doc, mine, acked), storage
  })
  /** The relay stores everything of ours and ACKs it. */
  const sync = () => {
    Y.applyUpdate(relay, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(relay)))
    recordAck(acked, Y.encodeStateVector(relay))
    pending.save()
  }
  return { doc, pending, mine, sync }
}

function relayDoc () {
  const relay = new Y.Doc()
  relay.getMap('segments').set('s1', new Y.Text('hola a todos'))
  return relay
}

const text = (doc) => doc.getMap('segments').get('s1').toString()

test('an edit made offline comes back in the next tab and reaches the relay', () => {
  const storage = new Storage()
  const relay = relayDoc()
  const first = tab(storage, relay)
  first.pending.restore()
  first.pending.start()
  first.doc.getMap('segments').get('s1').insert(0, 'Bueno, ')
  first.pending.save() // the tab is closed, offline
  assert.equal(storage.length, 1)
  assert.equal(text(relay), 'hola a todos')

  const second = tab(storage, relay)
  const ids = second.pending.restore()
  assert.deepEqual([...ids], [first.doc.clientID])
  assert.equal(text(second.doc), 'Bueno, hola a todos')
  for (const id of ids) second.mine.add(id)
  second.pending.start()
  assert.equal(storage.length, 1, 'the second tab keeps them until the relay has them')
  second.sync()
  assert.equal(text(relay), 'Bueno, hola a todos')
  assert.equal(storage.length, 0)
})

test('nothing is kept once the relay has it, and other people never get it', () => {
  const storage = new Storage()
  const relay = relayDoc()
  const ana = tab(storage, relay)
  ana.pending.start()
  ana.doc.getMap('segments').get('s1').insert(12, '!')
  ana.pending.save()
  assert.equal(storage.length, 1)
  const bo = tab(storage, relay, 'acme/bo/t-1')
  assert.equal(bo.pending.restore().size, 0)
  assert.equal(text(bo.doc), 'hola a todos')
  ana.sync()
  assert.equal(storage.length, 0)
})

test('two tabs offline at once keep separate entries; an unreadable one is dropped', () => {
  const storage = new Storage()
  const relay = relayDoc()
  const a = tab(storage, relay)
  const b = tab(storage, relay)
  for (const [t, word] of [[a, 'uno '], [b, 'dos ']]) {
    t.pending.start()
    t.doc.getMap('segments').get('s1').insert(0, word)
    t.pending.save()
  }
  storage.setItem('minuta.pending.acme/ana/t-1/123', 'not base64 of an update!')
  assert.equal(storage.length, 3)
  const c = tab(storage, relay)
  assert.equal(c.pending.restore().size, 2)
  assert.ok(['uno dos hola a todos', 'dos uno hola a todos'].includes(text(c.doc)))
  assert.equal(storage.length, 0)
})

test('a full storage is survived, not thrown', () => {
  const storage = new Storage()
  storage.setItem = () => { throw new Error('QuotaExceededError') }
  const relay = relayDoc()
  const t = tab(storage, relay)
  t.pending.start()
  t.doc.getMap('segments').get('s1').insert(0, 'x')
  const warn = console.warn
  console.warn = () => {}
  try {
    t.pending.save()
  } finally {
    console.warn = warn
  }
  assert.equal(storage.length, 0)
})

test('edits restored after the relay already has them count as saved at once', () => {
  const storage = new Storage()
  const relay = relayDoc()
  const first = tab(storage, relay)
  first.pending.start()
  first.doc.getMap('segments').get('s1').insert(0, 'Bueno, ')
  first.pending.save()
  const stale = [...storage.items]
  first.sync() // stored and ACKed, but the tab closed before it wrote that down
  for (const [k, v] of stale) storage.setItem(k, v)

  const second = tab(storage, relay)
  second.sync() // the relay's first ACK comes before the restore
  const ids = second.pending.restore()
  for (const id of ids) second.mine.add(id)
  second.pending.start()
  assert.equal(text(second.doc), 'Bueno, hola a todos')
  assert.equal(storage.length, 0, 'nothing left to keep: the relay has it')
})
