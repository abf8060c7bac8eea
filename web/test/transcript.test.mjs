// The page's doc rules, without a browser: `node --test web/test/` (pytest runs it too).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { Transcript, diff, clock } from '../src/transcript.js'

/** A segment as the ASR writes it (engine: upsert_segment). */
function asr (t, segmentId, { rev, text, final, speaker = 'S1' }) {
  t.doc.transact(() => {
    let seg = t.segments.get(segmentId)
    if (!seg) {
      seg = new Y.Map([['segment_id', segmentId], ['texts', new Y.Map()]])
      t.segments.set(segmentId, seg)
    }
    let textKey = null
    if (final) {
      textKey = `${rev}`
      seg.get('texts').set(textKey, new Y.Text(text))
    }
    seg.set('asr', { rev, text, t0: 0, t1: 1, speaker, conf: 0.9, final, words: [], lang: 'es', text_key: textKey, deleted: false })
  }, 'agent')
}

test('diff finds the smallest edit and never splits a surrogate pair', () => {
  assert.equal(diff('abc', 'abc'), null)
  assert.deepEqual(diff('hola', 'hola!'), { index: 4, del: 0, insert: '!' })
  assert.deepEqual(diff('hola mundo', 'hola, mundo'), { index: 4, del: 0, insert: ',' })
  // 😀 and 😁 share their high surrogate: the edit covers the whole emoji.
  assert.deepEqual(diff('a😀b', 'a😁b'), { index: 1, del: 2, insert: '😁' })
  // U+1F600 and U+1F200 share their low surrogate.
  assert.deepEqual(diff('\u{1F600}', '\u{1F200}'), { index: 0, del: 2, insert: '\u{1F200}' })
})

test('clock writes times as the exports do', () => {
  assert.equal(clock(0), '00:00')
  assert.equal(clock(65.9), '01:05')
  assert.equal(clock(3725), '01:02:05')
})

test('a human edit of a final claims its Y.Text and survives the next revision', () => {
  const t = new Transcript(new Y.Doc())
  asr(t, 's1', { rev: 1, text: 'hola a todos', final: true })
  t.editText('s1', 0, 1, 'H', 'ana')
  asr(t, 's1', { rev: 2, text: 'hola a todos, bienvenidos', final: true })
  const view = t.view('s1')
  assert.equal(view.text, 'Hola a todos')
  assert.equal(view.source, 'human')
  assert.equal(view.asr_text, 'hola a todos, bienvenidos')
  assert.equal(view.edited_by, 'ana')
})

test('editing a partial makes a Y.Text of ones own, keyed rev.clientID', () => {
  const doc = new Y.Doc()
  const t = new Transcript(doc)
  asr(t, 's1', { rev: 3, text: 'y ahora', final: false })
  t.editText('s1', 7, 0, ' los riesgos', 'ana')
  const seg = t.segments.get('s1')
  assert.equal(seg.get('human_key'), `3.${doc.clientID}`)
  assert.equal(t.view('s1').text, 'y ahora los riesgos')
  assert.throws(() => t.editText('s1', 50, 1, 'x', 'ana'), /out of range/)
})

test('action edits mark each field, and hand-made actions are human', () => {
  const t = new Transcript(new Y.Doc())
  t.doc.transact(() => t.actions.set('a-1', new Y.Map(Object.entries({
    action_id: 'a-1', text: 'Llamar', owner: 'Jorge', due: null, status: 'open', segment_ids: ['s1'], origin: 'worker'
  }))))
  t.editAction('a-1', { owner: 'Rocío', status: 'done', conf: 1 }, 'ana')
  const [edited] = t.actionList()
  assert.equal(edited.owner, 'Rocío')
  assert.deepEqual(edited.edited.sort(), ['owner', 'status'])
  assert.equal(t.actions.get('a-1').get('conf'), undefined) // not a field people edit
  const id = t.addAction({ text: 'Enviar el acta', owner: 'Ana' })
  assert.equal(t.actions.get(id).get('origin'), 'human')
})
