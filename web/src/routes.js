// The page's routes, in the URL hash so that the relay serves one file:
//   #/                                the list (#/?q=…&speaker=…&from=…&to=… with a search)
//   #/t/<transcript_id>               one transcript
//   #/t/<transcript_id>?segment=<id>  one transcript, opened at a segment (a search hit)
// The search lives in the hash too, so that Back from a hit finds the results again.

const SEARCH_FIELDS = ['q', 'speaker', 'from', 'to']

/**
 * What a hash asks for: {view: 'list', search: {q, speaker, from, to}} or
 * {view: 'transcript', transcriptId, segmentId (or null)}.
 */
export function parseRoute (hash) {
  const raw = String(hash ?? '').replace(/^#/, '')
  const cut = raw.indexOf('?')
  const path = cut < 0 ? raw : raw.slice(0, cut)
  const params = new URLSearchParams(cut < 0 ? '' : raw.slice(cut + 1))
  const match = path.match(/^\/t\/([^/]+)\/?$/)
  if (match) {
    const transcriptId = safeDecode(match[1])
    if (transcriptId) {
      return { view: 'transcript', transcriptId, segmentId: params.get('segment') || null }
    }
  }
  const search = {}
  for (const key of SEARCH_FIELDS) search[key] = params.get(key) ?? ''
  return { view: 'list', search }
}

/** The hash of a transcript, opened at `segmentId` when one is given. */
export function transcriptHash (transcriptId, segmentId = null) {
  const base = `#/t/${encodeURIComponent(transcriptId)}`
  return segmentId ? `${base}?${new URLSearchParams({ segment: segmentId })}` : base
}

/** The hash of the list with a search (empty fields are left out). */
export function listHash (search = {}) {
  const params = new URLSearchParams()
  for (const key of SEARCH_FIELDS) {
    const value = String(search[key] ?? '').trim()
    if (value) params.set(key, value)
  }
  const query = params.toString()
  return query ? `#/?${query}` : '#/'
}

// A hand-typed "%E0" must not throw out of the router: the list shows instead.
function safeDecode (text) {
  try {
    return decodeURIComponent(text)
  } catch {
    return ''
  }
}
