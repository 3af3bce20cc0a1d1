import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { protobuf, parseJSON, encodeClientFrame, decodeServerFrame, dataBytes } from '../proto.js'
import { jsonCodec } from '../index.js'
import { setup, flush, jwt } from './helpers.js'
import { encodeServer, decodeClient } from './protowire.js'

// fixtures/frames.json is written by the Go test wireproto/jsfixtures_test.go
// from the generated Go code: hex of ServerFrames with the frame object this
// codec must decode them to, and hex of ClientFrames with the command it
// must encode to exactly those bytes.
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/frames.json', import.meta.url), 'utf8'))

const u8 = (hex) => new Uint8Array(Buffer.from(hex, 'hex'))
const hexOf = (b) => Buffer.from(b).toString('hex')

/** The fixture's object with {"$bytes": hex} as Uint8Array. */
function revive(v) {
  if (Array.isArray(v)) return v.map(revive)
  if (v && typeof v === 'object') {
    if (typeof v.$bytes === 'string') return u8(v.$bytes)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]))
  }
  return v
}

test('fixtures: every kind of ServerFrame decodes to the JSON protocol frame', () => {
  assert.ok(fixtures.server.length >= 20)
  for (const fx of fixtures.server) {
    const want = revive(fx.object)
    assert.deepEqual(decodeServerFrame(u8(fx.hex).buffer), want, fx.name)
    assert.deepEqual(decodeServerFrame(Buffer.from(fx.hex, 'hex')), want, fx.name + ' (a Node Buffer)')
    // the tests' server side writes the same bytes as Go's generated code
    if (!/unknown|later version/.test(fx.name)) assert.equal(hexOf(encodeServer(want)), fx.hex, fx.name + ': test encoder')
  }
})

test('fixtures: every command encodes to the bytes of the generated Go code', () => {
  assert.ok(fixtures.client.length >= 10)
  for (const fx of fixtures.client) {
    const cmd = revive(fx.object)
    assert.equal(hexOf(encodeClientFrame(cmd)), fx.hex, fx.name)
    assert.equal(hexOf(protobuf.encode(cmd)), fx.hex, fx.name)
    const back = decodeClient(u8(fx.hex))
    assert.equal(back.type, cmd.type, fx.name)
    assert.equal(back.id, cmd.id, fx.name)
    assert.deepEqual(back.since, cmd.since, fx.name)
    if (cmd.type === 'publish') assert.deepEqual(back.data, dataBytes(cmd.data), fx.name)
  }
})

test('round trips: offsets and ids across varint sizes up to 2^53 - 1', () => {
  for (const n of [1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 5, 2 ** 49, 2 ** 53 - 1]) {
    const c = { type: 'subscribe', channel: 'chat.room.42', id: n, since: { offset: n, epoch: 'e' } }
    assert.deepEqual(decodeClient(encodeClientFrame(c)), c, String(n))
    const m = { type: 'message', channel: 'c', data: u8('00ff'), offset: n, prev: n - 1 }
    assert.deepEqual(decodeServerFrame(encodeServer(m)), m, String(n))
    const a = { type: 'ack', id: n, channel: 'c', offset: n, epoch: 'E', recovered: n % 2 === 0 }
    assert.deepEqual(decodeServerFrame(encodeServer(a)), a, String(n))
  }
  // strings of every UTF-8 length, and data of a publication of 64 KiB
  const channel = 'a-é-日-🎉'
  const data = new Uint8Array(65536).map((_, i) => i * 7)
  const m = { type: 'message', channel, data }
  assert.deepEqual(decodeServerFrame(encodeServer(m)), m)
  const p = decodeClient(encodeClientFrame({ type: 'publish', channel, data, idempotency_key: 'k', id: 3 }))
  assert.deepEqual([p.channel, p.data, p.idempotency_key, p.id], [channel, data, 'k', 3])
})

test('decoded data owns its bytes (not a view of the frame)', () => {
  const m = decodeServerFrame(encodeServer({ type: 'message', channel: 'c', data: u8('010203') }))
  assert.equal(m.data.byteOffset, 0)
  assert.equal(m.data.buffer.byteLength, 3)
})

test('publish data: bytes as they are, any other value as JSON text', () => {
  const pub = (data) => decodeClient(encodeClientFrame({ type: 'publish', channel: 'c', data, idempotency_key: 'k', id: 1 }))
  assert.deepEqual(pub(new Uint8Array([1, 2])).data, u8('0102'))
  assert.deepEqual(pub(new Uint8Array([9, 1, 2, 9]).subarray(1, 3)).data, u8('0102'), 'a view: its bytes only')
  assert.deepEqual(pub(new Uint8Array([1, 2]).buffer).data, u8('0102'))
  assert.deepEqual(pub(new DataView(new Uint8Array([7, 1, 2]).buffer, 1)).data, u8('0102'))
  assert.deepEqual(pub(Buffer.from([1, 2])).data, u8('0102'))
  assert.deepEqual(pub(new Uint8Array(0)).data, new Uint8Array(0))
  assert.deepEqual(pub({ a: [1, 'ü'] }).json, { a: [1, 'ü'] })
  assert.deepEqual(pub('x').json, 'x')
  assert.deepEqual(pub(0).json, 0)
  assert.deepEqual(pub(null).json, null)
  assert.deepEqual(pub(undefined).json, null)
  assert.deepEqual(parseJSON(new TextEncoder().encode('{"a":"é"}')), { a: 'é' })
})

test('encode refuses what ClientFrame cannot carry', () => {
  assert.throws(() => encodeClientFrame({ type: 'nope' }), /unknown command/)
  assert.throws(() => encodeClientFrame({ type: 'subscribe', channel: 'c', id: -1 }), /unsigned integer/)
  assert.throws(() => encodeClientFrame({ type: 'subscribe', channel: 'c', id: 1.5 }), /unsigned integer/)
  assert.throws(() => encodeClientFrame({ type: 'history', channel: 'c', id: 1, since: { offset: '42', epoch: 'E' } }), /unsigned integer/)
  assert.throws(() => encodeClientFrame({ type: 'subscribe', channel: 42, id: 1 }), /not a string/)
  assert.deepEqual(encodeClientFrame({ type: 'pong' }), u8('3200'))
})

test('malformed frames throw, bounded by the buffer and by each message', () => {
  // fixtures: what the generated Go code refuses too
  assert.ok(fixtures.malformed.length >= 10)
  for (const fx of fixtures.malformed) {
    assert.throws(() => decodeServerFrame(u8(fx.hex).buffer), TypeError, fx.name)
    assert.throws(() => decodeServerFrame(Buffer.from(fx.hex, 'hex')), TypeError, fx.name)
  }
  // groups (deprecated, never sent) are refused rather than skipped
  assert.throws(() => decodeServerFrame(u8('0b0c').buffer), /wire type 3/)
  assert.throws(() => decodeServerFrame('{"type":"ping"}'), /not a binary frame/)
  assert.throws(() => decodeServerFrame(undefined), /not a binary frame/)
  // empty and unknown frames: nothing the client acts on
  assert.deepEqual(decodeServerFrame(new ArrayBuffer(0)), {})
  assert.deepEqual(decodeServerFrame(u8('7a00').buffer), {})
})

test('the JSON codec has the same shape (the default)', () => {
  assert.equal(jsonCodec.subprotocol, 'wsgate.v1')
  assert.equal(jsonCodec.encode({ type: 'pong' }), '{"type":"pong"}')
  assert.deepEqual(jsonCodec.decode('{"type":"ping"}'), { type: 'ping' })
  assert.deepEqual(jsonCodec.decode(Buffer.from('{"type":"ping"}')), { type: 'ping' })
  assert.equal(jsonCodec.decode(new ArrayBuffer(2)), undefined)
  assert.equal(protobuf.subprotocol, 'wsgate.v1.proto')
})

test('protobuf: subprotocol offered always, beside the token; binary frames', async () => {
  const a = setup({ codec: protobuf })
  a.client.connect()
  assert.deepEqual(a.WS.last().protocols, ['wsgate.v1.proto'])
  assert.equal(a.WS.last().binaryType, 'arraybuffer')

  const token = jwt({ sub: 'u', exp: 2e9 })
  const b = setup({ codec: protobuf, getToken: async () => token })
  b.client.connect()
  await flush()
  assert.deepEqual(b.WS.last().protocols, ['wsgate.v1.proto', 'wsgate.token.' + token])

  const c = setup({ codec: protobuf, getToken: async () => token, tokenIn: 'query' })
  c.client.connect()
  await flush()
  assert.deepEqual(c.WS.last().protocols, ['wsgate.v1.proto'])
  assert.equal(c.WS.last().url, 'ws://a/ws?token=' + token)
})

const B = 2 ** 40 // offsets past 32 bits

test('protobuf: connect, subscribe with history, messages, gap resubscribe, publish, history, ping, dropped', async () => {
  const { client, WS, errors, clock, states } = setup({ codec: protobuf })
  const got = []
  const infos = []
  const subErrs = []
  client.subscribe('h', { onMessage: (d, m) => got.push([d, m]), onSubscribed: (i) => infos.push(i), onError: (e) => subErrs.push(e) })
  client.connect()
  let ws = WS.last()
  ws.greet()
  assert.equal(client.state, 'connected')
  assert.equal(states[1].clientId, 'n1.0.1')
  assert.equal(states[1].pingIntervalMs, 25000)
  let f = ws.last('subscribe')
  assert.deepEqual(f, { type: 'subscribe', channel: 'h', id: 1 })
  assert.ok(ws.raw instanceof Uint8Array, 'a binary frame')

  // the ack's position; then messages, data as bytes
  ws.recv({ type: 'ack', id: f.id, channel: 'h', offset: B, epoch: 'E' })
  assert.deepEqual(infos, [{ channel: 'h', offset: B, epoch: 'E', recovered: undefined }])
  ws.recv({ type: 'message', channel: 'h', offset: B + 1, prev: B, data: { a: 1 } })
  ws.recv({ type: 'message', channel: 'h', offset: B + 2, prev: B + 1, data: u8('00ff') })
  ws.recv({ type: 'message', channel: 'h', offset: B + 2, prev: B + 1, data: 'dup' }) // duplicate: not delivered
  assert.equal(got.length, 2)
  assert.ok(got[0][0] instanceof Uint8Array)
  assert.deepEqual(parseJSON(got[0][0]), { a: 1 })
  assert.deepEqual(got[0][1], { channel: 'h', offset: B + 1, prev: B })
  assert.deepEqual(got[1][0], u8('00ff'))
  assert.equal(client.getSubscription('h').offset, B + 2)

  // a gap: resubscribe with since on the same socket, nothing delivered until the ack
  ws.recv({ type: 'message', channel: 'h', offset: B + 5, prev: B + 4, data: 5 })
  f = ws.last('subscribe')
  assert.deepEqual(f, { type: 'subscribe', channel: 'h', id: 2, since: { offset: B + 2, epoch: 'E' } })
  ws.recv({ type: 'message', channel: 'h', offset: B + 6, prev: B + 5, data: 6 })
  assert.equal(got.length, 2)
  ws.recv({ type: 'ack', id: f.id, channel: 'h', offset: B + 6, epoch: 'E', recovered: true })
  assert.equal(infos[1].recovered, true)
  ws.recv({ type: 'message', channel: 'h', offset: B + 3, prev: B + 2, data: 3 })
  assert.deepEqual(got.slice(2).map(([d, m]) => [parseJSON(d), m.offset]), [[3, B + 3]])

  // publish: JSON value, then bytes with a key; ack and error replies
  const p1 = client.publish('h', { text: 'hé' })
  f = ws.last('publish')
  assert.deepEqual(f.json, { text: 'hé' })
  assert.equal(typeof f.idempotency_key, 'string')
  ws.recv({ type: 'ack', id: f.id })
  assert.equal(await p1, undefined)
  const p2 = client.publish('h', new Uint8Array([1, 2, 3]), { idempotencyKey: 'k-1' })
  f = ws.last('publish')
  assert.deepEqual([f.data, f.idempotency_key, f.json], [u8('010203'), 'k-1', undefined])
  ws.recv({ type: 'error', id: f.id, code: 'forbidden', message: 'no' })
  await assert.rejects(p2, { code: 'forbidden', message: 'no' })

  // history: the reply with publications as bytes
  const h = client.history('h', { since: { offset: B, epoch: 'E' }, limit: 2 })
  f = ws.last('history')
  assert.deepEqual(f, { type: 'history', channel: 'h', id: f.id, since: { offset: B, epoch: 'E' }, limit: 2 })
  ws.recv({ type: 'history', id: f.id, channel: 'h', offset: B + 6, epoch: 'E', recovered: true, more: true,
    publications: [{ offset: B + 1, prev: B, data: { a: 1 } }, { offset: B + 2, prev: B + 1, data: u8('00ff') }] })
  const reply = await h
  assert.deepEqual([reply.type, reply.id, reply.offset, reply.recovered, reply.more], ['history', f.id, B + 6, true, true])
  assert.deepEqual(parseJSON(reply.publications[0].data), { a: 1 })
  assert.deepEqual(reply.publications[1], { offset: B + 2, prev: B + 1, data: u8('00ff') })

  // the heartbeat's ping is answered with a Pong
  ws.recv({ type: 'ping' })
  assert.deepEqual(ws.sent[ws.sent.length - 1], { type: 'pong' })
  assert.deepEqual(ws.raw, u8('3200'))

  // dropped: surfaced with its count, resubscribes from the position
  ws.recv({ type: 'error', code: 'dropped', channel: 'h', offset: B + 4, message: '4 messages dropped' })
  assert.deepEqual([subErrs[0].code, subErrs[0].count], ['dropped', 4])
  f = ws.last('subscribe')
  assert.deepEqual(f.since, { offset: B + 3, epoch: 'E' })

  // malformed frames and text: an 'error' (bad_frame), no crash, the connection goes on
  ws.onmessage({ data: u8('22050a').buffer })
  ws.onmessage({ data: u8('08ffffffffffffffffffff01').buffer })
  ws.recv('{"type":"ping"}')
  assert.deepEqual(errors.map((e) => e.code), ['bad_frame', 'bad_frame', 'bad_frame'])
  assert.match(errors[0].message, /length past the end/)
  assert.match(errors[2].message, /not a binary frame/)
  ws.recv({ type: 'ack', id: f.id, channel: 'h', offset: B + 3, epoch: 'E', recovered: true })
  ws.recv({ type: 'message', channel: 'h', offset: B + 4, prev: B + 3, data: 4 })
  assert.equal(parseJSON(got[got.length - 1][0]), 4)

  // reconnection: resumes with since; a queued publish is re-sent with its key
  ws.serverClose(1006)
  const p3 = client.publish('h', 'later', { idempotencyKey: 'k-2' })
  clock.advance(states[states.length - 1].delayMs)
  ws = WS.last()
  assert.notEqual(ws, WS.sockets[0])
  ws.greet()
  assert.deepEqual(ws.last('subscribe').since, { offset: B + 4, epoch: 'E' })
  f = ws.last('publish')
  assert.deepEqual([f.json, f.idempotency_key], ['later', 'k-2'])
  ws.recv({ type: 'ack', id: f.id })
  await p3

  // an ack without id mid-replay, then unsubscribed forbidden
  ws.recv({ type: 'ack', id: ws.last('subscribe').id, channel: 'h', offset: B + 4, epoch: 'E', recovered: true })
  ws.recv({ type: 'ack', channel: 'h', offset: B + 9, epoch: 'E', recovered: false })
  assert.deepEqual(infos[infos.length - 1], { channel: 'h', offset: B + 9, epoch: 'E', recovered: false, unsolicited: true })
  let ended
  client.getSubscription('h').on('unsubscribed', (r) => (ended = r))
  ws.recv({ type: 'unsubscribed', channel: 'h', reason: 'forbidden' })
  assert.equal(ended, 'forbidden')
  assert.equal(client.getSubscription('h'), undefined)
  client.close()
})

test('the core entry point never loads the Protobuf codec; the codec imports nothing', () => {
  const seen = new Set()
  const walk = (url) => {
    if (seen.has(url.href)) return
    seen.add(url.href)
    const src = readFileSync(url, 'utf8')
    for (const m of src.matchAll(/^(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) {
      assert.ok(m[1].startsWith('./') || m[1].startsWith('../'), `${url.pathname} imports ${m[1]}: no dependency`)
      walk(new URL(m[1], url))
    }
  }
  walk(new URL('../index.js', import.meta.url))
  assert.ok(seen.size >= 6, [...seen].join())
  assert.ok(![...seen].some((u) => u.endsWith('/src/proto.js')), [...seen].join())
  assert.doesNotMatch(readFileSync(new URL('../src/proto.js', import.meta.url), 'utf8'), /^import /m)
})

// Push, presence and send are in fixtures/frames.json with the rest; what
// the fixtures cannot show is checked here.
test('presence and send: int64 joined, presence false, truncated frames', () => {
  // int64 joined: negative values are ten-byte two's complement, exact to 2^53
  for (const joined of [-1, -2, -128, -(2 ** 31), -(2 ** 53 - 1), 2 ** 53 - 1]) {
    const f = { type: 'join', channel: 'c', conn: 'x', user: '', node: 'n', joined }
    assert.deepEqual(decodeServerFrame(encodeServer(f)), f, String(joined))
  }
  // presence false is left out, as proto3 does
  assert.equal(hexOf(encodeClientFrame({ type: 'subscribe', channel: 'room.1', id: 6, presence: false })), '0a0a0a06726f6f6d2e311006')
  // truncated: refused like any frame
  assert.throws(() => decodeServerFrame(u8('523f0a06726f6f6d').buffer), TypeError)
})

test('protobuf: connectionId, push, send, presence, unsubscribed "server"', async () => {
  const { client, WS, clock } = setup({ codec: protobuf })
  const pushes = []
  client.on('push', (d) => pushes.push(d))
  const log = []
  const room = client.subscribe('room.1', {
    presence: true,
    onJoin: (m) => log.push(['join', m]),
    onLeave: (m) => log.push(['leave', m]),
    onMessage: (d) => log.push(['message', parseJSON(d)]),
    onUnsubscribed: (r) => log.push(['unsubscribed', r]),
  })
  const early = client.send(new Uint8Array([1, 2])) // waits for the connection
  client.connect()
  let ws = WS.last()
  ws.greet({ client: 'n1.5f0c3d9e8a7b6c5d4e3f2a1b0c9d8e7f' })
  assert.equal(client.connectionId, 'n1.5f0c3d9e8a7b6c5d4e3f2a1b0c9d8e7f')
  const sub = ws.last('subscribe')
  assert.deepEqual(sub, { type: 'subscribe', channel: 'room.1', id: sub.id, presence: true })
  let f = ws.last('send')
  assert.deepEqual([f.data, f.json], [u8('0102'), undefined])
  ws.recv({ type: 'ack', id: f.id })
  await early

  // send: the reply push (bytes) before the ack; an error frame rejects
  const p = client.send({ hi: 1 })
  f = ws.last('send')
  assert.deepEqual(f.json, { hi: 1 })
  ws.recv({ type: 'push', data: { echo: { hi: 1 } } })
  ws.recv({ type: 'ack', id: f.id })
  await p
  assert.equal(pushes.length, 1)
  assert.ok(pushes[0] instanceof Uint8Array)
  assert.deepEqual(parseJSON(pushes[0]), { echo: { hi: 1 } })
  ws.recv({ type: 'push', data: u8('00ff') })
  assert.deepEqual(pushes[1], u8('00ff'))
  const q = client.send('x')
  ws.recv({ type: 'error', id: ws.last('send').id, code: 'hook_unavailable', message: 'no answer' })
  await assert.rejects(q, { code: 'hook_unavailable' })

  // presence, in order with messages
  ws.recv({ type: 'ack', id: sub.id, channel: 'room.1', offset: 5, epoch: 'E' })
  const ann = { channel: 'room.1', conn: 'n1.a', user: 'ann', node: 'n1', joined: 1765100000123 }
  ws.recv({ type: 'join', ...ann })
  ws.recv({ type: 'message', channel: 'room.1', offset: 6, prev: 5, data: 'hi' })
  ws.recv({ type: 'leave', ...ann })
  assert.deepEqual(log, [['join', ann], ['message', 'hi'], ['leave', ann]])

  // a send in flight fails with its connection; the subscription asks for presence again
  const lost = client.send(1)
  ws.serverClose(1006)
  await assert.rejects(lost, { code: 'disconnected' })
  clock.advance(5000)
  ws = WS.last()
  ws.greet()
  assert.equal(ws.of('send').length, 0)
  const re = ws.last('subscribe')
  assert.deepEqual(re, { type: 'subscribe', channel: 'room.1', id: re.id, since: { offset: 6, epoch: 'E' }, presence: true })
  ws.recv({ type: 'ack', id: re.id, channel: 'room.1', offset: 6, epoch: 'E', recovered: true })

  // ended by the backend: not subscribed again
  ws.recv({ type: 'unsubscribed', channel: 'room.1', reason: 'server' })
  assert.deepEqual(log[log.length - 1], ['unsubscribed', 'server'])
  assert.equal(room.active, false)
  ws.serverClose(1006)
  clock.advance(5000)
  WS.last().greet()
  assert.equal(WS.last().of('subscribe').length, 0)
  client.close()
})
