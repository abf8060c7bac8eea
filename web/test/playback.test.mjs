// Playback's lookups: the segment and the word being said at a time, and where each word
// is in a segment's (maybe edited) text. Plus the routes a search hit opens.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import {
  lastAtOrBefore, segmentAt, wordAt, wordSpans, wordAtOffset, cleanWords
} from '../src/playback.js'
import { parseRoute, transcriptHash, listHash } from '../src/routes.js'
import { Transcript } from '../src/transcript.js'

const seg = (id, t0, t1) => ({ segment_id: id, t0, t1 })

test('lastAtOrBefore is a binary search for the last key <= t', () => {
  const xs = [0, 1, 1, 3, 7]
  const id = (x) => x
  assert.equal(lastAtOrBefore(xs, -1, id), -1)
  assert.equal(lastAtOrBefore(xs, 0, id), 0)
  assert.equal(lastAtOrBefore(xs, 1, id), 2)
  assert.equal(lastAtOrBefore(xs, 2.5, id), 2)
  assert.equal(lastAtOrBefore(xs, 100, id), 4)
  assert.equal(lastAtOrBefore([], 1, id), -1)
})

test('the segment at a time: none in a silence, an overlapping one still running', () => {
  const order = [seg('a', 0, 2), seg('b', 2, 5), seg('c', 6, 9), seg('d', 7, 8)]
  assert.equal(segmentAt(order, 0), 0)
  assert.equal(segmentAt(order, 1.99), 0)
  assert.equal(segmentAt(order, 2), 1)
  assert.equal(segmentAt(order, 5.5), -1) // between b and c
  assert.equal(segmentAt(order, 7.5), 3) // d, the later start, over c
  assert.equal(segmentAt(order, 8.5), 2) // d ended, c still runs
  assert.equal(segmentAt(order, 7.5, 'c'), 2) // c was clicked
  assert.equal(segmentAt(order, 10), -1)
  assert.equal(segmentAt([], 1), -1)
})

test('a long transcript is searched, not scanned', () => {
  const order = Array.from({ length: 20_000 }, (_, i) => seg(`s${i}`, i * 3, i * 3 + 2.5))
  let reads = 0
  const counted = new Proxy(order, {
    get (target, key) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++
      return target[key]
    }
  })
  assert.equal(segmentAt(counted, 30_001), 10_000)
  assert.ok(reads < 40, `${reads} reads`)
})

test('the word at a time stays lit between two words', () => {
  const words = [['hola', 0.0, 0.4, 0.9], ['a', 0.5, 0.6, 0.9], ['todos', 0.9, 1.3, 0.9]]
  assert.equal(wordAt(words, -0.1), -1)
  assert.equal(wordAt(words, 0.2), 0)
  assert.equal(wordAt(words, 0.45), 0)
  assert.equal(wordAt(words, 0.5), 1)
  assert.equal(wordAt(words, 2), 2)
})

test('words are found in the text the ASR wrote, and not in one a person changed', () => {
  const words = [['hola', 0, 0.4, 0.9], ['a', 0.5, 0.6, 0.9], ['todos,', 0.9, 1.3, 0.9], ['👍', 1.4, 1.5, 0.5]]
  assert.deepEqual(wordSpans('hola a todos, 👍', words), [[0, 4], [5, 6], [7, 13], [14, 16]])
  assert.deepEqual(wordSpans('  hola  a\ntodos, 👍 ', words), [[2, 6], [8, 9], [10, 16], [17, 19]])
  assert.equal(wordSpans('Hola a todos, 👍', words), null) // edited
  assert.equal(wordSpans('hola a todos, 👍 y más', words), null) // added to
  assert.equal(wordSpans('hola a', words), null) // cut
  assert.equal(wordSpans('hola', []), null)
  // A word Whisper joined to the one before, with no space between them.
  assert.deepEqual(wordSpans('well-known', [['well', 0, 1, 1], ['-known', 1, 2, 1]]), [[0, 4], [4, 10]])
})

test('a click in the text finds its word', () => {
  const spans = [[0, 4], [5, 6], [7, 13]]
  assert.equal(wordAtOffset(spans, 0), 0)
  assert.equal(wordAtOffset(spans, 4), 0) // the caret just after "hola"
  assert.equal(wordAtOffset(spans, 5), 1)
  assert.equal(wordAtOffset(spans, 13), 2)
  assert.equal(wordAtOffset(null, 3), -1)
})

test('malformed or unsorted words are none', () => {
  assert.deepEqual(cleanWords([['a', 0, 1, 0.9]]), [['a', 0, 1, 0.9]])
  assert.deepEqual(cleanWords(null), [])
  assert.deepEqual(cleanWords([['a', 0, 1, 0.9], ['b', 'x', 2, 1]]), [])
  assert.deepEqual(cleanWords([['a', 2, 1, 0.9]]), [])
  assert.deepEqual(cleanWords([['a', 1, 2, 0.9], ['b', 0, 1, 0.9]]), [])
})

test('a segment view carries its words', () => {
  const t = new Transcript(new Y.Doc())
  t.doc.transact(() => {
    const s = new Y.Map([['segment_id', 's1'], ['texts', new Y.Map()]])
    t.segments.set('s1', s)
    s.get('texts').set('1', new Y.Text('hola a todos'))
    const words = [['hola', 0, 0.4, 0.9], ['a', 0.5, 0.6, 0.9], ['todos', 0.9, 1.3, 0.9]]
    s.set('asr', { rev: 1, text: 'hola a todos', t0: 0, t1: 1.3, speaker: 'S1', conf: 0.9, final: true, words, lang: 'es', text_key: '1', deleted: false })
  })
  const view = t.view('s1')
  assert.equal(view.words.length, 3)
  assert.deepEqual(wordSpans(view.text, view.words), [[0, 4], [5, 6], [7, 12]])
})

test('routes: the list with its search, a transcript, a transcript at a segment', () => {
  const empty = { q: '', speaker: '', from: '', to: '' }
  assert.deepEqual(parseRoute(''), { view: 'list', search: empty })
  assert.deepEqual(parseRoute('#/'), { view: 'list', search: empty })
  assert.deepEqual(parseRoute('#/?q=presupuesto&speaker=Ana&from=2026-01-01'),
    { view: 'list', search: { ...empty, q: 'presupuesto', speaker: 'Ana', from: '2026-01-01' } })
  assert.deepEqual(parseRoute('#/t/abc'), { view: 'transcript', transcriptId: 'abc', segmentId: null })
  assert.deepEqual(parseRoute('#/t/abc/?segment=s2'), { view: 'transcript', transcriptId: 'abc', segmentId: 's2' })
  assert.deepEqual(parseRoute('#/t/%E0'), { view: 'list', search: empty }) // not UTF-8
  assert.deepEqual(parseRoute('#/t/'), { view: 'list', search: empty })
  // Round trips, with ids that need escaping.
  for (const [id, segment] of [['t 1/ñ', 's&2=?'], ['abc', null]]) {
    assert.deepEqual(parseRoute(transcriptHash(id, segment)),
      { view: 'transcript', transcriptId: id, segmentId: segment })
  }
  const search = { q: 'a & b', speaker: '', from: '', to: '2026-03-01' }
  assert.equal(listHash(search), '#/?q=a+%26+b&to=2026-03-01')
  assert.deepEqual(parseRoute(listHash(search)).search, search)
  assert.equal(listHash({ q: '  ' }), '#/')
})
