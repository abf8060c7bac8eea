// What is drawn over (or under) a segment's textarea: others' carets, and the word being
// spoken while the recording plays. Each is a copy of the text laid out like the textarea
// (same box, font and wrapping) but invisible, with a mark at the place to show.

/** Others' carets in `box`: a mark where each one's caret is in `text`. */
export function drawCarets (box, text, peers) {
  if (!peers.length) {
    box.replaceChildren()
    return
  }
  const marks = peers
    .map((p) => ({ ...p, at: Math.min(p.cursor?.index ?? 0, text.length) }))
    .sort((a, b) => a.at - b.at)
  const parts = []
  let from = 0
  for (const p of marks) {
    parts.push(text.slice(from, p.at))
    const mark = document.createElement('span')
    mark.className = 'caret'
    mark.style.setProperty('--peer', p.color)
    mark.dataset.name = p.name
    parts.push(mark)
    from = p.at
  }
  parts.push(text.slice(from))
  box.replaceChildren(...parts)
}

/**
 * The spoken word in `box`, under the text: `span` is its [start, end) in `text`, or null
 * (nothing, the segment alone is lit). Three nodes, rewritten only when the word changes.
 */
export function drawSpoken (box, text, span, index = -1) {
  if (!span) {
    if (box.firstChild) box.replaceChildren()
    return
  }
  const word = document.createElement('span')
  word.className = 'word spoken'
  word.dataset.word = String(index)
  word.textContent = text.slice(span[0], span[1])
  box.replaceChildren(text.slice(0, span[0]), word, text.slice(span[1]))
}
