// What is being said at a time of the recording: the segment (by binary search on t0, so a
// two-hour meeting costs some fifteen comparisons a frame) and the word, from the word
// times the ASR wrote ([word, t0, t1, prob], engine/_schema.py Word). Pure functions, no DOM.

/** The index of the last item whose `key` is at most `t` (items sorted by key), or -1. */
export function lastAtOrBefore (items, t, key) {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (key(items[mid]) <= t) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

// Segments overlap when two people speak at once: a few earlier ones may still be running.
const OVERLAP_LOOKBACK = 4

/**
 * The index in `order` (views sorted by t0) of the segment being spoken at `t`, or -1 in a
 * silence. `preferId`, the segment someone clicked, wins over another that also spans t.
 */
export function segmentAt (order, t, preferId = null) {
  const last = lastAtOrBefore(order, t, (v) => v.t0)
  let found = -1
  for (let i = last; i >= 0 && i > last - OVERLAP_LOOKBACK; i--) {
    const v = order[i]
    if (t < v.t1 || (v.t1 <= v.t0 && t === v.t0)) {
      if (v.segment_id === preferId) return i
      if (found < 0) found = i
    }
  }
  return found
}

/**
 * The index of the word being spoken at `t`, or -1 before the first: between two words the
 * one before stays lit (no flicker at every short pause).
 */
export function wordAt (words, t) {
  return lastAtOrBefore(words, t, (w) => w[1])
}

/**
 * Where each word is in the segment's text: one [start, end) per word (UTF-16 offsets), or
 * null when the text no longer reads as the words (a person edited it): then only the
 * segment is lit. The ASR's text is its words joined by spaces (agent/asr.py); a word that
 * joined the previous one without a space ("-ish") is found all the same.
 */
export function wordSpans (text, words) {
  if (!words?.length) return null
  const spans = new Array(words.length)
  let at = 0
  for (let i = 0; i < words.length; i++) {
    const word = String(words[i][0]).trim()
    while (at < text.length && isSpace(text.charCodeAt(at))) at++
    if (!word || !text.startsWith(word, at)) return null
    spans[i] = [at, at + word.length]
    at += word.length
  }
  while (at < text.length && isSpace(text.charCodeAt(at))) at++
  return at === text.length ? spans : null
}

/** The index of the word at text offset `offset` (a click's caret), or -1. */
export function wordAtOffset (spans, offset) {
  if (!spans?.length) return -1
  const i = lastAtOrBefore(spans, offset, (s) => s[0])
  return Math.max(0, i)
}

/**
 * The words of a segment as the doc holds them, or [] when any is not [str, t0, t1, p] or
 * they are out of time order (the binary search needs them sorted).
 */
export function cleanWords (value) {
  const list = typeof value?.toJSON === 'function' ? value.toJSON() : value
  if (!Array.isArray(list)) return []
  let before = -Infinity
  for (const w of list) {
    if (!Array.isArray(w) || w.length < 3 || typeof w[0] !== 'string' ||
        !Number.isFinite(w[1]) || !Number.isFinite(w[2]) || w[1] > w[2] || w[1] < before) return []
    before = w[1]
  }
  return list
}

const isSpace = (c) => c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x3000
