// Test doubles: a fake clock (timers and now) and a fake WebSocket class.
// No server, no network.
import { Client } from '../index.js'
import { encodeServer, decodeClient } from './protowire.js'

// How the fake socket reads what the client sends and frames what the
// test makes the server send: JSON text, or wsgate.v1.proto.
const jsonWire = { decode: (s) => JSON.parse(s), encode: (f) => JSON.stringify(f) }
export const protoWire = { decode: decodeClient, encode: (f) => encodeServer(f).buffer }

export function fakeClock() {
  let now = 0
  let seq = 0
  const timers = new Map()
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq
      timers.set(id, { at: now + Math.max(0, ms || 0), fn, seq: id })
      return id
    },
    clearTimeout(id) {
      timers.delete(id)
    },
    pending() {
      return [...timers.values()].map((t) => t.at - now).sort((a, b) => a - b)
    },
    /** Runs the timers due within ms, in order, and moves the clock. */
    advance(ms) {
      const end = now + ms
      for (;;) {
        let next
        for (const [id, t] of timers) {
          if (t.at <= end && (!next || t.at < next[1].at || (t.at === next[1].at && t.seq < next[1].seq))) next = [id, t]
        }
        if (!next) break
        timers.delete(next[0])
        now = next[1].at
        next[1].fn()
      }
      now = end
    },
  }
}

/**
 * A WebSocket class recording its instances; sockets are driven by the
 * test. sent holds the client's frames as objects (the JSON protocol's,
 * decoded from Protobuf with protoWire).
 */
export function fakeWebSocket(wire = jsonWire) {
  const sockets = []
  class FakeWS {
    constructor(url, protocols) {
      this.url = url
      this.protocols = protocols
      this.readyState = 0
      this.sent = []
      this.closed = null
      sockets.push(this)
    }
    send(s) {
      if (this.readyState !== 1) throw new Error('not open')
      this.raw = s
      this.sent.push(wire.decode(s))
    }
    close(code, reason) {
      this.readyState = 3
      this.closed = { code, reason }
    }
    // driven by tests
    open() {
      this.readyState = 1
      if (this.onopen) this.onopen({})
    }
    recv(frame) {
      if (this.onmessage) this.onmessage({ data: typeof frame === 'string' ? frame : wire.encode(frame) })
    }
    greet(extra = {}) {
      this.open()
      this.recv({ type: 'connected', client: 'n1.0.1', node: 'n1', version: 'v1', ping_interval_ms: 25000, ...extra })
    }
    serverClose(code, reason = '') {
      this.readyState = 3
      if (this.onclose) this.onclose({ code, reason })
    }
    /** Frames sent of type t. */
    of(t) {
      return this.sent.filter((f) => f.type === t)
    }
    last(t) {
      const a = this.of(t)
      return a[a.length - 1]
    }
  }
  FakeWS.sockets = sockets
  FakeWS.last = () => sockets[sockets.length - 1]
  return FakeWS
}

/** A deterministic random source returning the values given, then the last one. */
export function seq(...values) {
  let i = 0
  return () => values[Math.min(i++, values.length - 1)]
}

/** A client on fakes; returns {client, WS, clock, states, errors}. */
export function setup(options = {}, urls = 'ws://a/ws') {
  const clock = fakeClock()
  const WS = fakeWebSocket(options.codec && options.codec.subprotocol === 'wsgate.v1.proto' ? protoWire : jsonWire)
  const client = new Client(urls, { WebSocket: WS, timers: clock, now: clock.now, random: () => 0.5, ...options })
  const states = []
  const errors = []
  client.on('state', (s) => states.push(s))
  client.on('error', (e) => errors.push(e))
  return { client, WS, clock, states, errors }
}

/** Lets pending promise callbacks run. */
export const flush = () => new Promise((r) => setImmediate(r))

/** A JWT (unsigned: the client never verifies) with the given claims. */
export function jwt(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64(claims) + '.sig'
}
