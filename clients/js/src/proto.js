// The Protobuf codec of wsgate's client protocol (subprotocol
// "wsgate.v1.proto", wireproto/wsgate.v1.proto, docs/protocol.md
// "Protobuf (wsgate.v1.proto)"), written by hand for exactly its two
// messages: encode turns a command of the client (the JSON protocol's
// object: {type: 'subscribe', channel, id, since}, …) into a ClientFrame,
// decode turns a ServerFrame into the object the JSON protocol's frame
// would parse to, so the client's state machine does not know which it
// speaks. No dependency, and nothing imports it but the "wsgate-client/proto"
// entry point: users of JSON never load it.
//
// Decoding is bounded: every length and varint is checked against the end
// of the message it is in, and malformed input throws (the client reports
// it as an 'error' with code bad_frame). Unknown fields are skipped, of any
// wire type but the deprecated groups. Numbers are JavaScript numbers:
// uint64 values are exact up to 2^53.

const te = new TextEncoder()
const td = new TextDecoder('utf-8', { fatal: true }) // proto3 strings are UTF-8

const bad = (what) => new TypeError('wsgate.v1.proto: ' + what)

// ---- decoding ----

class Reader {
  constructor(b) {
    this.b = b
    this.p = 0
    this.e = b.length // end of the message being read
  }

  uint() {
    let v = 0
    let m = 1
    let x
    do {
      if (this.p >= this.e) throw bad('truncated varint')
      if (m > 2 ** 63) throw bad('varint longer than 10 bytes')
      x = this.b[this.p++]
      if (m === 2 ** 63 && x > 1) throw bad('varint overflows 64 bits')
      v += (x & 127) * m
      m *= 128
    } while (x > 127)
    return v
  }

  /** Moves past n bytes, which must be there; returns where they start. */
  over(n) {
    const p = this.p
    if (n > this.e - p) throw bad('length past the end')
    this.p += n
    return p
  }

  /** A length-delimited field's bytes: a view of the frame. */
  view() {
    const n = this.uint()
    const p = this.over(n)
    return this.b.subarray(p, p + n)
  }

  str() {
    return td.decode(this.view())
  }

  /** A bytes field: a copy, so that data.buffer is the data alone. */
  bytes() {
    return this.view().slice()
  }

  bool() {
    return this.uint() !== 0
  }

  /**
   * An int64: two's complement on 10 bytes when negative, read as
   * -(~v + 1) from the complement of each 7-bit group (bit 63 alone in the
   * last), since v itself is past 2^53 and not exact as a number.
   */
  int() {
    const start = this.p
    const v = this.uint()
    if (v < 2 ** 63) return v
    let n = 0
    for (let i = this.p - 1; i >= start; i--) n = n * 128 + (~this.b[i] & (i - start === 9 ? 1 : 127))
    return -(n + 1)
  }

  /** An embedded message: read reads its fields (with this.e its end). */
  msg(read) {
    const n = this.uint()
    const start = this.over(n)
    const end = this.e
    this.p = start
    this.e = start + n
    const v = read(this) // reads up to this.e exactly
    this.e = end
    return v
  }

  /**
   * Reads fields up to the end: field(tag) reads the value of a tag it
   * knows and returns true; other fields are skipped.
   */
  fields(field) {
    while (this.p < this.e) {
      const t = this.uint()
      if (t < 8 || t > 0xffffffff) throw bad('bad field number')
      if (field(t)) continue
      switch (t & 7) {
        case 0:
          this.uint()
          break
        case 1:
          this.over(8)
          break
        case 2:
          this.over(this.uint())
          break
        case 5:
          this.over(4)
          break
        default:
          throw bad('bad wire type ' + (t & 7))
      }
    }
  }
}

// Each reader below returns the JSON protocol's frame: fields that JSON
// leaves out (an id of 0, a channel without history's offset) are left
// out, as proto3 does not tell absent from zero.

function connected(r) {
  const f = { type: 'connected', client: '', node: '', version: '', ping_interval_ms: 0 }
  r.fields((t) => {
    if (t === 10) f.client = r.str()
    else if (t === 18) f.node = r.str()
    else if (t === 26) f.version = r.str()
    else if (t === 32) f.ping_interval_ms = r.int()
    else return false
    return true
  })
  return f
}

function ack(r) {
  const f = { type: 'ack' }
  let offset = 0
  r.fields((t) => {
    if (t === 8) put(f, 'id', r.uint())
    else if (t === 18) f.channel = r.str()
    else if (t === 24) offset = r.uint()
    else if (t === 34) f.epoch = r.str()
    else if (t === 40) f.recovered = r.bool() // optional: present when the server set it
    else return false
    return true
  })
  if (!f.channel) delete f.channel
  if (f.epoch) f.offset = offset
  else delete f.epoch
  return f
}

function error(r) {
  const f = { type: 'error', code: '', message: '' }
  r.fields((t) => {
    if (t === 8) put(f, 'id', r.uint())
    else if (t === 18) f.code = r.str()
    else if (t === 26) f.message = r.str()
    else return false
    return true
  })
  return f
}

function message(r) {
  const f = { type: 'message', channel: '', data: undefined }
  let offset = 0
  let prev = 0
  r.fields((t) => {
    if (t === 10) f.channel = r.str()
    else if (t === 18) f.data = r.bytes()
    else if (t === 24) offset = r.uint()
    else if (t === 32) prev = r.uint()
    else return false
    return true
  })
  if (!f.data) f.data = new Uint8Array(0)
  if (offset) {
    f.offset = offset
    f.prev = prev
  }
  return f
}

function publication(r) {
  const p = { offset: 0, prev: 0, data: undefined }
  r.fields((t) => {
    if (t === 8) p.offset = r.uint()
    else if (t === 16) p.prev = r.uint()
    else if (t === 26) p.data = r.bytes()
    else return false
    return true
  })
  if (!p.data) p.data = new Uint8Array(0)
  return p
}

function history(r) {
  const f = { type: 'history', channel: '', offset: 0, epoch: '', recovered: false, more: false, publications: [] }
  r.fields((t) => {
    if (t === 8) put(f, 'id', r.uint())
    else if (t === 18) f.channel = r.str()
    else if (t === 24) f.offset = r.uint()
    else if (t === 34) f.epoch = r.str()
    else if (t === 40) f.recovered = r.bool()
    else if (t === 48) f.more = r.bool()
    else if (t === 58) f.publications.push(r.msg(publication))
    else return false
    return true
  })
  return f
}

function unsubscribed(r) {
  const f = { type: 'unsubscribed', channel: '', reason: '' }
  r.fields((t) => {
    if (t === 10) f.channel = r.str()
    else if (t === 18) f.reason = r.str()
    else return false
    return true
  })
  return f
}

// Dropped is the JSON protocol's error "dropped", message included (the
// client reads the count from it), plus count as a number.
function dropped(r) {
  const f = { type: 'error', code: 'dropped', channel: '', count: 0 }
  r.fields((t) => {
    if (t === 10) f.channel = r.str()
    else if (t === 16) f.count = r.uint()
    else if (t === 24) put(f, 'offset', r.uint())
    else return false
    return true
  })
  f.message = f.count + ' messages dropped: the connection was not reading fast enough'
  return f
}

function ping(r) {
  r.fields(() => false)
  return { type: 'ping' }
}

function push(r) {
  const f = { type: 'push', data: undefined }
  r.fields((t) => {
    if (t === 10) f.data = r.bytes()
    else return false
    return true
  })
  if (!f.data) f.data = new Uint8Array(0)
  return f
}

// Presence is the JSON protocol's join or leave frame.
function presence(r) {
  const f = { type: 'leave', channel: '', conn: '', user: '', node: '', joined: 0 }
  r.fields((t) => {
    if (t === 10) f.channel = r.str()
    else if (t === 16) f.type = r.bool() ? 'join' : 'leave'
    else if (t === 26) f.conn = r.str()
    else if (t === 34) f.user = r.str()
    else if (t === 42) f.node = r.str()
    else if (t === 48) f.joined = r.int()
    else return false
    return true
  })
  return f
}

/** Sets f[k] to v, or leaves it out when v is 0. */
function put(f, k, v) {
  if (v) f[k] = v
  else delete f[k]
}

// ServerFrame's oneof, by tag (field number << 3 | 2).
const FRAMES = { 10: connected, 18: ack, 26: error, 34: message, 42: history, 50: unsubscribed, 58: dropped, 66: ping, 74: push, 82: presence }

/**
 * Decodes a ServerFrame (an ArrayBuffer or a view of one, e.g. a Node
 * Buffer) into the JSON protocol's frame object. A frame whose kind this
 * client does not know decodes to {} (ignored, as an unknown JSON type).
 * Throws on malformed input and on text.
 */
export function decodeServerFrame(data) {
  let b
  if (data instanceof ArrayBuffer) b = new Uint8Array(data)
  else if (ArrayBuffer.isView(data)) b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  else throw bad('not a binary frame')
  const r = new Reader(b)
  let f = {}
  r.fields((t) => FRAMES[t] && (f = r.msg(FRAMES[t])))
  return f
}

// ---- encoding ----

const U = 0 // uint64 (0 left out)
const S = 1 // string ('' left out)
const B = 2 // bytes (empty left out)
const M = 3 // embedded message, already encoded (always written)

function varint(out, v) {
  if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 64)) throw bad('not an unsigned integer: ' + v)
  while (v > 127) {
    out.push((v % 128) | 128)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return out
}

/** Encodes a message from [field number, kind, value] (value null: left out). */
function encode(fields) {
  const parts = []
  let n = 0
  for (const [no, kind, v] of fields) {
    if (v == null) continue
    let part
    if (kind === U) {
      if (v === 0) continue
      part = varint([no << 3], v)
    } else {
      if (kind === S && typeof v !== 'string') throw bad('field ' + no + ' is not a string')
      const b = kind === S ? te.encode(v) : v
      if (!b.length && kind !== M) continue
      parts.push(varint(varint([], (no << 3) | 2), b.length))
      n += parts[parts.length - 1].length
      part = b
    }
    parts.push(part)
    n += part.length
  }
  const out = new Uint8Array(n)
  n = 0
  for (const p of parts) {
    out.set(p, n)
    n += p.length
  }
  return out
}

/**
 * A publication's data as bytes: a Uint8Array, any other view or an
 * ArrayBuffer as they are; any other value as its JSON text in UTF-8
 * (undefined as null).
 */
export function dataBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return te.encode(JSON.stringify(data) ?? 'null')
}

const since = (s) => s && encode([[1, U, s.offset], [2, S, s.epoch]])

/**
 * Encodes a command of the client (the JSON protocol's object) into a
 * ClientFrame. Throws on an unknown type or a field of the wrong type.
 */
export function encodeClientFrame(c) {
  let no
  let body
  switch (c.type) {
    case 'subscribe':
      no = 1
      body = [[1, S, c.channel], [2, U, c.id], [3, M, since(c.since)], [4, U, c.presence ? 1 : 0]]
      break
    case 'unsubscribe':
      no = 2
      body = [[1, S, c.channel], [2, U, c.id]]
      break
    case 'publish':
      no = 3
      body = [[1, S, c.channel], [2, B, dataBytes(c.data)], [3, S, c.idempotency_key], [4, U, c.id]]
      break
    case 'history':
      no = 4
      body = [[1, S, c.channel], [2, U, c.id], [3, M, since(c.since)], [4, U, c.limit]]
      break
    case 'refresh':
      no = 5
      body = [[1, S, c.token], [2, U, c.id]]
      break
    case 'pong':
      no = 6
      body = []
      break
    case 'send':
      no = 7
      body = [[1, B, dataBytes(c.data)], [2, U, c.id]]
      break
    default:
      throw bad('unknown command ' + c.type)
  }
  return encode([[no, M, encode(body)]])
}

/** Parses data received in Protobuf mode (UTF-8 JSON bytes) as JSON. */
export function parseJSON(data) {
  return JSON.parse(td.decode(data))
}

/**
 * The codec of new Client(urls, {codec: protobuf}): binary frames of
 * wsgate.v1.proto. Message, history and push data arrive as Uint8Array
 * (read JSON with parseJSON); publish and send send a Uint8Array or
 * ArrayBuffer as it is, any other value as JSON text.
 */
export const protobuf = {
  subprotocol: 'wsgate.v1.proto',
  binaryType: 'arraybuffer',
  encode: encodeClientFrame,
  decode: decodeServerFrame,
}
