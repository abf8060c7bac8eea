// Presence through Yjs awareness: each tab announces {user: {name, color}, cursor} and
// sees the others'. The relay keeps the latest state of each connection, so a newcomer
// sees everyone at once, and removes a connection's state when it goes.

const COLORS = ['#d9480f', '#2b8a3e', '#1971c2', '#9c36b5', '#e67700', '#0c8599', '#c2255c', '#5f3dc4']

function colorOf (name) {
  let hash = 0
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0
  return COLORS[hash % COLORS.length]
}

export class Presence {
  /** @param {import('y-protocols/awareness').Awareness} awareness */
  constructor (awareness, username) {
    this.awareness = awareness
    awareness.setLocalState({ user: { name: username, color: colorOf(username) }, cursor: null })
  }

  /** Where our caret is: a segment and a UTF-16 offset in its text, or null. */
  setCursor (segmentId, index = 0) {
    const cursor = segmentId ? { segment_id: segmentId, index } : null
    const old = this.awareness.getLocalState()?.cursor ?? null
    if (old?.segment_id === cursor?.segment_id && old?.index === cursor?.index) return
    this.awareness.setLocalStateField('cursor', cursor)
  }

  /** The others here: [{clientId, name, color, cursor}], each person once per tab. */
  others () {
    const list = []
    this.awareness.getStates().forEach((state, clientId) => {
      if (clientId === this.awareness.clientID || !state?.user) return
      list.push({ clientId, ...state.user, cursor: state.cursor ?? null })
    })
    return list.sort((a, b) => a.name.localeCompare(b.name))
  }

  peersAt (segmentId) {
    return this.others().filter((p) => p.cursor?.segment_id === segmentId)
  }

  onChange (fn) {
    this.awareness.on('change', fn)
    return () => this.awareness.off('change', fn)
  }
}
