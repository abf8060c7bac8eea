/**
 * Split a Yjs update into several smaller ones, for a transport with a frame limit: the
 * browser's port of engine/_split.py, which cuts where that one does (byte for byte).
 *
 * A long meeting with many revisions encodes to more than the relay's frame limit, so its
 * sync is sent as parts. A part is an ordinary update (v1): some structs of some clients,
 * cut at struct boundaries, and the delete set at the end (alone if it does not fit). A
 * string, JSON or `any` item larger than a part is cut in two as Yjs itself cuts items
 * (the right half's origin is the left half's last character), so only an item that is
 * one value (a binary, an embed, a subdocument, a format, a type) can make a part larger
 * than asked. Applied in order, the parts build what the update builds; send them in
 * order (out of order, yrs does not always integrate what waited for a dependency). The
 * update is checked on the way, as engine/_updates.py checks it.
 *
 * @example
 *   for (const part of splitUpdate(Y.encodeStateAsUpdate(doc), 64 * 1024)) socket.send(part)
 */
import * as encoding from 'lib0/encoding'

// Item content references (the low 5 bits of an item's info byte).
const [GC, DELETED, JSON_, BINARY, STRING, EMBED, FORMAT, TYPE, ANY, DOC, SKIP] =
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
const [XML_ELEMENT, XML_HOOK, LAST_TYPE_REF] = [3, 5, 6] // type references
const MAX_ANY_DEPTH = 64
// Room for a client's header in a part (its struct count, ID and first clock), and for
// a part's client count and empty delete set.
const CLIENT_OVERHEAD = 30
const PART_OVERHEAD = 12
const NO_DELETES = Uint8Array.of(0)
const NO_BYTES = new Uint8Array(0)
// ignoreBOM: a string's leading U+FEFF is a character Yjs counts, not a mark to drop.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const toUtf8 = new TextEncoder()

export class InvalidUpdateError extends Error {}
const fail = (why) => { throw new InvalidUpdateError(why) }

/** Reads an update, refusing any count or length that runs past its end. */
class Reader {
  constructor (data, pos = 0) { this.data = data; this.pos = pos }
  left () { return this.data.length - this.pos }
  byte () { return this.pos < this.data.length ? this.data[this.pos++] : fail('truncated') }
  id () { this.uint(); this.uint() } // client, clock
  buf () { this.skip(this.uint()) }
  skip (n) { this.pos += n <= this.left() ? n : fail(`a length of ${n} runs past the end`) }

  // Not lib0's readVarUint, which reads any number of continuation bytes and lets the
  // last one carry the number past 2^53 (which JS cannot hold exactly).
  uint () {
    for (let value = 0, mult = 1; ; mult *= 128) {
      const byte = this.byte()
      value += (byte & 0x7f) * mult
      if (byte < 0x80) return value <= Number.MAX_SAFE_INTEGER ? value : fail(`integer ${value} is too large`)
      if (mult >= 2 ** 56) fail('integer too long')
    }
  }

  /** A number of things that each take at least one byte. */
  count (what) {
    const n = this.uint()
    return n <= this.left() ? n : fail(`${n} ${what} cannot fit in ${this.left()} bytes`)
  }

  /** A string, decoded: its length is the clock ticks it takes (UTF-16 code units). */
  string () {
    const length = this.uint()
    const start = this.pos
    this.skip(length)
    try { return utf8.decode(this.data.subarray(start, this.pos)) } catch { fail('a string is not UTF-8') }
  }

  varInt () {
    for (let byte = this.byte(), shift = 6; byte & 0x80; shift += 7) {
      byte = this.byte()
      if (shift + 7 > 62) fail('integer too long')
    }
  }

  any (depth = 0) {
    if (depth > MAX_ANY_DEPTH) fail('value nested too deep')
    const kind = this.byte()
    if ([127, 126, 121, 120].includes(kind)) return // undefined, null, false, true
    if (kind === 125) this.varInt()
    else if (kind === 124) this.skip(4) // float32
    else if (kind === 123 || kind === 122) this.skip(8) // float64, bigint64
    else if (kind === 119) this.string()
    else if (kind === 118) for (let n = this.count('object entries'); n > 0; n--) { this.string(); this.any(depth + 1) }
    else if (kind === 117) for (let n = this.count('array items'); n > 0; n--) this.any(depth + 1)
    else if (kind === 116) this.buf()
    else fail(`unknown value type ${kind}`)
  }
}

/** Skips an item's content; returns how many clock ticks it takes. */
function content (r, ref) {
  switch (ref) {
    case DELETED: return r.uint()
    case STRING: return r.string().length
    case JSON_: case ANY: {
      const n = r.count(ref === ANY ? 'values' : 'JSON values')
      for (let i = 0; i < n; i++) ref === ANY ? r.any() : r.string()
      return n
    }
    case BINARY: r.buf(); return 1
    case EMBED: r.string(); return 1
    case FORMAT: r.string(); r.string(); return 1
    case DOC: r.string(); r.any(); return 1
    case TYPE: {
      const type = r.uint()
      if (type > LAST_TYPE_REF) fail(`unknown shared type ${type}`)
      if (type === XML_ELEMENT || type === XML_HOOK) r.string()
      return 1
    }
    default: fail(`unknown content type ${ref}`)
  }
}

/**
 * Every struct of an update, client by client in clock order, as where it lies (`start`
 * to `end`, its content from `content` on) and the clocks it takes; and its delete set,
 * as [client, clock, length] ranges.
 */
function walk (data) {
  const r = new Reader(data)
  const structs = []
  const ranges = []
  for (let c = r.count('clients'); c > 0; c--) {
    let n = r.count('structs')
    const client = r.uint()
    for (let clock = r.uint(); n > 0; n--) {
      const start = r.pos
      const info = r.byte()
      const ref = info & 0x1f
      let length // a GC's or a skip's is all it holds
      let right = NO_BYTES
      if (ref === GC || ref === SKIP) length = r.uint()
      else {
        if (info & 0x80) r.id() // origin
        if (info & 0x40) { // right origin: a cut item's right half keeps it
          const from = r.pos
          r.id()
          right = data.subarray(from, r.pos)
        }
        if (!(info & 0xc0)) { // no origins: the parent is written out
          r.uint() === 1 ? r.string() : r.id() // a root type's name, or a type's ID
          if (info & 0x20) r.string() // the key in a map
        }
      }
      const at = r.pos
      length ??= content(r, ref)
      structs.push({ client, clock, length, ref, start, content: at, end: r.pos, right })
      clock += length
    }
  }
  for (let c = r.count('deleting clients'); c > 0; c--) {
    const client = r.uint()
    for (let n = r.count('deleted ranges'); n > 0; n--) {
      const [clock, length] = [r.uint(), r.uint()]
      if (clock + length > Number.MAX_SAFE_INTEGER) fail('deleted range too large')
      ranges.push([client, clock, length])
    }
  }
  if (r.left()) fail(`${r.left()} bytes after the end of the update`)
  return { structs, ranges }
}

/**
 * Updates (v1) of at most `maxBytes` (120 or more) each that, applied in order, are
 * `update`; `[update]` when it is that small already. Only a part holding a single
 * indivisible item may be larger. Throws an InvalidUpdateError for a malformed update.
 * @param {Uint8Array} update @param {number} maxBytes @return {Uint8Array[]}
 */
export function splitUpdate (update, maxBytes) {
  if (update.length <= maxBytes) return [update]
  if (!(maxBytes >= 4 * CLIENT_OVERHEAD)) throw new RangeError(`maxBytes=${maxBytes} leaves no room for content`)
  const { structs, ranges } = walk(update)
  const parts = new Parts(maxBytes)
  const budget = maxBytes - CLIENT_OVERHEAD - PART_OVERHEAD
  for (const s of structs) {
    if (s.ref === SKIP) parts.skip(s)
    else if (s.end - s.start > budget) for (const piece of cut(update, s, budget)) parts.add(s.client, ...piece)
    else parts.add(s.client, s.clock, update.subarray(s.start, s.end), s.length)
  }
  return parts.finish(deleteSets(ranges, maxBytes))
}

/** Parts being filled: each holds one run of structs per client, in clock order. */
class Parts {
  constructor (maxBytes) { this.maxBytes = maxBytes; this.done = []; this.flush() }

  add (client, clock, bytes, length) {
    let run = this.runs.get(client)
    // A client appears once in an update: a run that cannot go on starts a part.
    const broken = run !== undefined && run.next !== clock
    if (this.runs.size && (broken || this.size + bytes.length + (run ? 0 : CLIENT_OVERHEAD) > this.maxBytes)) {
      this.flush()
      run = undefined
    }
    if (!run) {
      this.runs.set(client, run = { clock, structs: [] })
      this.size += CLIENT_OVERHEAD
    }
    run.structs.push(bytes)
    run.next = clock + length
    this.size += bytes.length
  }

  /** A gap in a client's clocks: kept inside a run, and starts none. */
  skip (s) {
    const encoded = concat([Uint8Array.of(SKIP), varUint(s.length)])
    if (this.runs.get(s.client)?.next === s.clock && this.size + encoded.length <= this.maxBytes) {
      this.add(s.client, s.clock, encoded, s.length)
    }
  }

  flush () {
    if (this.runs?.size) this.done.push(this.runs)
    this.runs = new Map() // client -> { clock: its first, next: the one after its last, structs }
    this.size = PART_OVERHEAD
  }

  /** The encoded parts: the delete set goes into the last, or after it. */
  finish ([first, ...rest]) {
    if (this.runs.size && this.size + first.length > this.maxBytes) {
      this.flush()
      rest.unshift(first)
      first = NO_DELETES
    }
    this.flush()
    const last = this.done.length - 1
    const parts = this.done.map((runs, i) => encodePart(runs, i === last ? first : NO_DELETES))
    return [...(parts.length ? parts : [concat([NO_DELETES, first])]), ...rest.map(ds => concat([NO_DELETES, ds]))]
  }
}

function encodePart (runs, deleteSet) {
  return encoding.encode(e => {
    encoding.writeVarUint(e, runs.size)
    for (const [client, { clock, structs }] of runs) {
      for (const n of [structs.length, client, clock]) encoding.writeVarUint(e, n)
      for (const s of structs) encoding.writeUint8Array(e, s)
    }
    encoding.writeUint8Array(e, deleteSet)
  })
}

const concat = (arrays) => encoding.encode(e => arrays.forEach(a => encoding.writeUint8Array(e, a)))
const varUint = (n) => encoding.encode(e => encoding.writeVarUint(e, n))

/** The delete set, encoded in one piece or, if larger than a part, in several. */
function deleteSets (ranges, maxBytes) {
  const pieces = []
  let groups = [] // [client, its encoded ranges]
  let size = PART_OVERHEAD
  for (const [client, clock, length] of ranges) {
    const entry = concat([varUint(clock), varUint(length)])
    if (groups.length && size + entry.length + CLIENT_OVERHEAD > maxBytes) {
      pieces.push(encodeDeletes(groups))
      groups = []
      size = PART_OVERHEAD
    }
    if (groups[groups.length - 1]?.[0] !== client) {
      groups.push([client, []])
      size += CLIENT_OVERHEAD
    }
    groups[groups.length - 1][1].push(entry)
    size += entry.length
  }
  pieces.push(encodeDeletes(groups))
  return pieces
}

const encodeDeletes = (groups) => concat([varUint(groups.length), ...groups.flatMap(
  ([client, entries]) => [varUint(client), varUint(entries.length), ...entries])])

/**
 * A large item as several, each [clock, encoded item, length]; an item that is a single
 * value comes back whole.
 */
function cut (data, s, budget) {
  const values = itemValues(data, s, Math.max(1, Math.min(4096, Math.floor(budget / 8))))
  if (!values) return [[s.clock, data.subarray(s.start, s.end), s.length]]
  const info = data[s.start]
  let head = data.subarray(s.start, s.content)
  const pieces = []
  let [chunk, clock, ticks, bytes] = [[], s.clock, 0, 0]
  const piece = () => [clock, concat([head, varUint(s.ref === STRING ? bytes : chunk.length), ...chunk]), ticks]
  for (const [value, length] of values) {
    if (chunk.length && bytes + value.length + head.length + 12 > budget) {
      pieces.push(piece())
      // What follows continues the item: its origin is the piece just made.
      head = concat([Uint8Array.of((info & 0x7f) | 0x80), varUint(s.client), varUint(clock + ticks - 1), s.right])
      ;[chunk, clock, ticks, bytes] = [[], clock + ticks, 0, 0]
    }
    chunk.push(value)
    ticks += length
    bytes += value.length
  }
  pieces.push(piece())
  return pieces
}

/**
 * The content of a string, JSON or `any` item as its values, each [bytes, clock ticks]
 * (a string in chunks of `step` characters, as UTF-8); null for any other item.
 */
function itemValues (data, s, step) {
  const r = new Reader(data, s.content)
  const values = []
  if (s.ref === STRING) {
    const text = r.string()
    // `step` code points at a time, as Python slices (so the parts are the engine's), and
    // never between the halves of a surrogate pair, which Yjs would turn into two U+FFFD.
    for (let i = 0, j = 0; i < text.length; i = j) {
      for (let n = 0; n < step && j < text.length; n++) j += (text.charCodeAt(j) & 0xfc00) === 0xd800 ? 2 : 1
      values.push([toUtf8.encode(text.slice(i, j)), j - i])
    }
    return values
  }
  if (s.ref !== JSON_ && s.ref !== ANY) return null
  for (let n = r.uint(); n > 0; n--) {
    const start = r.pos
    s.ref === JSON_ ? r.string() : r.any()
    values.push([data.subarray(start, r.pos), 1])
  }
  return r.pos === s.end ? values : fail("an item's content does not end where it should")
}
