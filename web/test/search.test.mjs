// The search's pure pieces: snippets cut at their highlights, and the query string.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { snippetParts, renderSnippet, searchQuery } from '../src/search.js'

const marked = (parts) => parts.map((p) => (p.mark ? `[${p.text}]` : p.text)).join('')

test('a snippet is cut at its highlights, in order, covering all of it', () => {
  const snippet = '… el presupuesto está aprobado para marzo …'
  const at = (word) => [snippet.indexOf(word), snippet.indexOf(word) + word.length]
  const parts = snippetParts(snippet, [at('marzo'), at('presupuesto')])
  assert.equal(marked(parts), '… el [presupuesto] está aprobado para [marzo] …')
  assert.equal(parts.map((p) => p.text).join(''), snippet)
  assert.deepEqual(snippetParts('hola', []), [{ text: 'hola', mark: false }])
  assert.deepEqual(snippetParts('', [[0, 3]]), [])
})

test('highlights out of range, reversed, overlapping or malformed are tamed', () => {
  assert.equal(marked(snippetParts('abcdef', [[4, 99]])), 'abcd[ef]')
  assert.equal(marked(snippetParts('abcdef', [[-5, 2]])), '[ab]cdef')
  assert.equal(marked(snippetParts('abcdef', [[3, 1]])), 'abcdef')
  assert.equal(marked(snippetParts('abcdef', [[1, 3], [2, 5]])), 'a[bcde]f')
  assert.equal(marked(snippetParts('abcdef', [[1, 2], [2, 3]])), 'a[bc]def')
  assert.equal(marked(snippetParts('abcdef', [[1, 2], [1, 2]])), 'a[b]cdef')
  assert.equal(marked(snippetParts('abcdef', ['x', [null, 2], [1], null, [2, 'y']])), 'abcdef')
  assert.equal(marked(snippetParts('abcdef', null)), 'abcdef')
})

test('offsets are UTF-16 units, and a bound never splits an emoji', () => {
  const snippet = 'ok 👍 aprobado'
  // JS indices: 👍 is two units, so "aprobado" starts at 6.
  assert.equal(marked(snippetParts(snippet, [[6, 14]])), 'ok 👍 [aprobado]')
  assert.equal(marked(snippetParts(snippet, [[4, 5]])), 'ok [👍] aprobado')
  assert.equal(marked(snippetParts(snippet, [[3, 4]])), 'ok [👍] aprobado')
})

test('a snippet is rendered as text nodes and marks, never parsed as HTML', () => {
  // A minimal document: renderSnippet only makes text nodes and <mark> elements.
  const doc = {
    createTextNode: (text) => ({ kind: 'text', text }),
    createElement: (tag) => ({ kind: tag, textContent: '' })
  }
  const el = { children: [], replaceChildren (...nodes) { this.children = nodes } }
  const snippet = '<img src=x onerror=alert(1)> dijo <b>hola</b>'
  const at = snippet.indexOf('hola')
  renderSnippet(el, snippet, [[at, at + 4]], doc)
  assert.deepEqual(el.children, [
    { kind: 'text', text: '<img src=x onerror=alert(1)> dijo <b>' },
    { kind: 'mark', textContent: 'hola' },
    { kind: 'text', text: '</b>' }
  ])
})

test('the query string leaves empty filters out', () => {
  assert.equal(searchQuery({ q: ' presupuesto ' }), 'q=presupuesto&limit=20&offset=0')
  assert.equal(
    searchQuery({ q: 'a&b', speaker: 'Ana María', from: '2026-01-01', to: '2026-02-01' }, 40, 10),
    'q=a%26b&speaker=Ana+Mar%C3%ADa&from=2026-01-01&to=2026-02-01&limit=10&offset=40'
  )
})
