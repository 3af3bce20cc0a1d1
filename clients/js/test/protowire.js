// The server's side of wsgate.v1.proto for the tests, written apart from
// src/proto.js (and simpler: no bounds, BigInt varints): encodeServer turns
// a JSON protocol frame into a ServerFrame, decodeClient a ClientFrame into
// the JSON protocol's command. The fake socket of helpers.js uses them in
// Protobuf mode. (The fixtures of fixtures/frames.json tie both sides to
// the generated Go code.)

const te = new TextEncoder()
const td = new TextDecoder()

function varint(out, v) {
  let n = BigInt(v)
  if (n < 0n) n += 1n << 64n
  while (n > 127n) {
    out.push(Number(n & 127n) | 128)
    n >>= 7n
  }
  out.push(Number(n))
  return out
}

/** A message from [field, value] pairs: number/boolean varints (0/false left out unless keep), strings and bytes, nested arrays. */
function msg(fields) {
  const out = []
  for (const [no, v, keep] of fields) {
    if (v === undefined || v === null) continue
    if (typeof v === 'number' || typeof v === 'boolean') {
      if (!v && !keep) continue
      varint(out, no << 3)
      varint(out, Number(v))
    } else {
      const b = typeof v === 'string' ? te.encode(v) : v
      if (!b.length && !keep) continue
      varint(out, (no << 3) | 2)
      varint(out, b.length)
      for (const x of b) out.push(x)
    }
  }
  return new Uint8Array(out)
}

const bytes = (d) => (d instanceof Uint8Array ? d : te.encode(JSON.stringify(d)))

/** A JSON protocol frame object as a ServerFrame (Uint8Array). */
export function encodeServer(f) {
  let no
  let body
  switch (f.type) {
    case 'connected':
      no = 1
      body = [[1, f.client], [2, f.node], [3, f.version], [4, f.ping_interval_ms]]
      break
    case 'ack':
      no = 2
      body = [[1, f.id], [2, f.channel], [3, f.offset], [4, f.epoch], [5, f.recovered, true]]
      break
    case 'error':
      if (f.code === 'dropped') {
        no = 7
        body = [[1, f.channel], [2, parseInt(f.message, 10)], [3, f.offset]]
      } else {
        no = 3
        body = [[1, f.id], [2, f.code], [3, f.message]]
      }
      break
    case 'message':
      no = 4
      body = [[1, f.channel], [2, bytes(f.data)], [3, f.offset], [4, f.prev]]
      break
    case 'history':
      no = 5
      body = [[1, f.id], [2, f.channel], [3, f.offset], [4, f.epoch], [5, f.recovered], [6, f.more],
        ...(f.publications || []).map((p) => [7, msg([[1, p.offset], [2, p.prev], [3, bytes(p.data)]]), true])]
      break
    case 'unsubscribed':
      no = 6
      body = [[1, f.channel], [2, f.reason]]
      break
    case 'ping':
      no = 8
      body = []
      break
    case 'push':
      no = 9
      body = [[1, bytes(f.data)]]
      break
    case 'join':
    case 'leave':
      no = 10
      body = [[1, f.channel], [2, f.type === 'join'], [3, f.conn], [4, f.user], [5, f.node], [6, f.joined]]
      break
    default:
      throw new Error('encodeServer: ' + f.type)
  }
  return msg([[no, msg(body), true]])
}

/** The fields of a message: {field: [values]}, varints as numbers, the rest as Uint8Array. */
function fields(b) {
  const out = {}
  let p = 0
  const uv = () => {
    let n = 0n
    let s = 0n
    for (;;) {
      const x = b[p++]
      n |= BigInt(x & 127) << s
      s += 7n
      if (x < 128) return Number(n)
    }
  }
  while (p < b.length) {
    const t = uv()
    let v
    if ((t & 7) === 0) v = uv()
    else if ((t & 7) === 2) {
      const n = uv()
      v = b.subarray(p, (p += n))
    } else throw new Error('decodeClient: wire type ' + (t & 7))
    ;(out[t >> 3] ||= []).push(v)
  }
  return out
}

const one = (f, no) => f[no] && f[no][f[no].length - 1]
const str = (f, no) => (f[no] ? td.decode(one(f, no)) : undefined)

function since(f, no) {
  if (!f[no]) return undefined
  const s = fields(one(f, no))
  return { offset: one(s, 1) || 0, epoch: str(s, 2) || '' }
}

const TYPES = [undefined, 'subscribe', 'unsubscribe', 'publish', 'history', 'refresh', 'pong', 'send']

/** Bytes field no as data, and json: its JSON value when it is JSON. */
function payload(c, f, no) {
  c.data = (f[no] && one(f, no).slice()) || new Uint8Array(0)
  try {
    c.json = JSON.parse(td.decode(c.data))
  } catch {
    // not JSON: bytes
  }
}

/**
 * A ClientFrame as the JSON protocol's command, fields left out when the
 * frame leaves them out; a publish's or a send's data as bytes
 * (Uint8Array), and json: its JSON value when it is JSON.
 */
export function decodeClient(data) {
  const b = data instanceof Uint8Array ? data : new Uint8Array(data)
  const top = fields(b)
  const no = Number(Object.keys(top)[0])
  const f = fields(one(top, no))
  const c = { type: TYPES[no] }
  const set = (k, v) => v !== undefined && (c[k] = v)
  switch (c.type) {
    case 'subscribe':
      set('channel', str(f, 1))
      set('id', one(f, 2))
      set('since', since(f, 3))
      if (one(f, 4)) c.presence = true
      break
    case 'unsubscribe':
    case 'history':
      set('channel', str(f, 1))
      set('id', one(f, 2))
      set('since', since(f, 3))
      set('limit', one(f, 4))
      break
    case 'publish':
      set('channel', str(f, 1))
      payload(c, f, 2)
      set('idempotency_key', str(f, 3))
      set('id', one(f, 4))
      break
    case 'send':
      payload(c, f, 1)
      set('id', one(f, 2))
      break
    case 'refresh':
      set('token', str(f, 1))
      set('id', one(f, 2))
      break
  }
  return c
}
