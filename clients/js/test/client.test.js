import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Client } from '../index.js'
import { setup, flush, jwt } from './helpers.js'

test('connects, waits for "connected", reports state', () => {
  const { client, WS, states } = setup()
  client.connect()
  assert.equal(client.state, 'connecting')
  const ws = WS.last()
  assert.equal(ws.url, 'ws://a/ws')
  assert.equal(ws.protocols, undefined)
  ws.greet()
  assert.equal(client.state, 'connected')
  assert.deepEqual(states.map((s) => s.state), ['connecting', 'connected'])
  assert.equal(states[1].clientId, 'n1.0.1')
  assert.equal(states[1].node, 'n1')
  assert.equal(states[1].pingIntervalMs, 25000)
  client.connect() // again: nothing
  assert.equal(WS.sockets.length, 1)
})

test('token: subprotocol by default, query with tokenIn "query"; heartbeat=1 when asked', async () => {
  const token = jwt({ sub: 'u', exp: 2e9 })
  const a = setup({ getToken: async () => token })
  a.client.connect()
  await flush()
  assert.deepEqual(a.WS.last().protocols, ['wsgate.v1', 'wsgate.token.' + token])
  assert.equal(a.WS.last().url, 'ws://a/ws')

  const b = setup({ getToken: async () => token, tokenIn: 'query', heartbeat: true }, 'ws://b/ws?channels=x')
  b.client.connect()
  await flush()
  assert.equal(b.WS.last().url, 'ws://b/ws?channels=x&heartbeat=1&token=' + token)
  assert.equal(b.WS.last().protocols, undefined)

  // no token (getToken gives nothing): anonymous, no subprotocol
  const c = setup({ getToken: async () => null, heartbeat: true })
  c.client.connect()
  await flush()
  assert.equal(c.WS.last().url, 'ws://a/ws?heartbeat=1')
  assert.equal(c.WS.last().protocols, undefined)
})

test('reconnects over the URLs in round robin, with backoff', () => {
  const { client, WS, clock, states } = setup({ random: () => 0.5 }, ['ws://a/ws', 'ws://b/ws', 'ws://c/ws'])
  client.connect()
  const delays = []
  for (let i = 0; i < 5; i++) {
    WS.last().serverClose(1006) // handshake refused or network down
    const d = states[states.length - 1]
    assert.equal(d.state, 'disconnected')
    assert.equal(d.final, false)
    delays.push(d.delayMs)
    clock.advance(d.delayMs - 1)
    assert.equal(WS.sockets.length, i + 1, 'not before the delay')
    clock.advance(1)
    assert.equal(WS.sockets.length, i + 2)
  }
  assert.deepEqual(WS.sockets.map((s) => s.url), ['ws://a/ws', 'ws://b/ws', 'ws://c/ws', 'ws://a/ws', 'ws://b/ws', 'ws://c/ws'])
  assert.deepEqual(delays, [125, 250, 500, 1000, 2000])
})

test('attempts reset once a connection stayed up; not after a short one', () => {
  const { client, WS, clock, states } = setup({ random: () => 0.5 })
  client.connect()
  WS.last().serverClose(1006)
  clock.advance(125)
  WS.last().serverClose(1006)
  clock.advance(250)
  WS.last().greet()
  clock.advance(1000)
  WS.last().serverClose(1008, 'too many errors') // up 1 s: attempts go on
  assert.equal(states[states.length - 1].delayMs, 500)
  clock.advance(500)
  WS.last().greet()
  clock.advance(30000)
  WS.last().serverClose(1006) // up 30 s: reset
  assert.equal(states[states.length - 1].delayMs, 125)
})

test('1001 draining: waits retry-after plus up to half of it, then the next URL', () => {
  const { client, WS, clock, states } = setup({ random: () => 0.2 }, ['ws://a/ws', 'ws://b/ws'])
  client.connect()
  WS.last().greet()
  WS.last().serverClose(1001, 'draining; retry-after-ms=3000')
  const d = states[states.length - 1]
  assert.equal(d.code, 1001)
  assert.equal(d.delayMs, 3300)
  clock.advance(3299)
  assert.equal(WS.sockets.length, 1)
  clock.advance(1)
  assert.equal(WS.sockets.length, 2)
  assert.equal(WS.last().url, 'ws://b/ws')
})

test('final close: 4001 without getToken does not reconnect; with getToken it does', async () => {
  const a = setup()
  a.client.connect()
  a.WS.last().greet()
  const p = a.client.publish('news', 1)
  a.WS.last().serverClose(4001, 'token expired')
  const s = a.states[a.states.length - 1]
  assert.deepEqual([s.state, s.code, s.final], ['disconnected', 4001, true])
  await assert.rejects(p, { code: 'closed' })
  a.clock.advance(60000)
  assert.equal(a.WS.sockets.length, 1)
  await assert.rejects(a.client.publish('news', 2), { code: 'closed' })

  let n = 0
  const b = setup({ getToken: async () => jwt({ sub: 'u', exp: 2e9, n: ++n }) })
  b.client.connect()
  await flush()
  b.WS.last().greet()
  b.WS.last().serverClose(4001, 'token expired')
  assert.equal(b.states[b.states.length - 1].final, false)
  b.clock.advance(10000)
  await flush()
  assert.equal(b.WS.sockets.length, 2)
  assert.equal(n, 2, 'a fresh token for the new connection')
  assert.notDeepEqual(b.WS.sockets[0].protocols, b.WS.sockets[1].protocols)
})

test('every other close code reconnects; shouldReconnect can override', () => {
  for (const [code, reason] of [[1000, 'idle timeout'], [1001, 'server shutting down'], [1002, 'x'], [1007, 'x'],
    [1008, 'slow consumer'], [1008, 'pong timeout'], [1008, 'too many errors'], [1008, 'rate limit exceeded'], [1009, 'x'], [1011, ''], [4003, '']]) {
    const { client, WS, clock } = setup()
    client.connect()
    WS.last().greet()
    WS.last().serverClose(code, reason)
    clock.advance(5000)
    assert.equal(WS.sockets.length, 2, `${code} ${reason}`)
  }
  const { client, WS, clock, states } = setup({ shouldReconnect: ({ code, reason }) => !(code === 1008 && reason === 'too many errors') })
  client.connect()
  WS.last().greet()
  WS.last().serverClose(1008, 'too many errors')
  assert.equal(states[states.length - 1].final, true)
  clock.advance(20000)
  assert.equal(WS.sockets.length, 1)
})

test('close(): no reconnection, pending requests rejected, subscriptions kept for connect()', async () => {
  const { client, WS, clock, states } = setup()
  const sub = client.subscribe('news', { onMessage() {} })
  client.connect()
  WS.last().greet()
  const p = client.publish('news', 1)
  client.close()
  await assert.rejects(p, { code: 'closed' })
  assert.deepEqual(WS.last().closed, { code: 1000, reason: undefined })
  assert.equal(states[states.length - 1].final, true)
  clock.advance(60000)
  assert.equal(WS.sockets.length, 1)
  assert.equal(sub.active, true)
  client.connect()
  WS.last().greet()
  assert.deepEqual(WS.last().of('subscribe').map((f) => f.channel), ['news'])
})

test('connect timeout: no "connected" frame in time closes and reconnects', () => {
  const { client, WS, clock, states } = setup({ connectTimeoutMs: 5000 })
  client.connect()
  WS.last().open() // TCP and handshake fine, but no greeting
  clock.advance(4999)
  assert.equal(WS.last().closed, null)
  clock.advance(1)
  assert.ok(WS.sockets[0].closed)
  const d = states[states.length - 1]
  assert.deepEqual([d.state, d.reason, d.final], ['disconnected', 'connect timeout', false])
  clock.advance(d.delayMs)
  assert.equal(WS.sockets.length, 2)
})

test('subscribe sends frames after "connected"; ack of a channel without history', () => {
  const { client, WS } = setup()
  const got = []
  const infos = []
  client.subscribe('news', { onMessage: (d, m) => got.push([d, m]), onSubscribed: (i) => infos.push(i) })
  assert.throws(() => client.subscribe('news', {}), /already subscribed/)
  client.connect()
  const ws = WS.last()
  ws.open()
  assert.equal(ws.sent.length, 0, 'nothing before the greeting')
  ws.greet()
  const f = ws.last('subscribe')
  assert.deepEqual(f, { type: 'subscribe', channel: 'news', id: f.id })
  ws.recv({ type: 'ack', id: f.id })
  assert.deepEqual(infos, [{ channel: 'news', offset: undefined, epoch: undefined, recovered: undefined }])
  ws.recv({ type: 'message', channel: 'news', data: { a: 1 } })
  ws.recv({ type: 'message', channel: 'other', data: 2 })
  assert.deepEqual(got, [[{ a: 1 }, { channel: 'news', offset: undefined, prev: undefined }]])
})

/** A connected client subscribed to channel "h" (with history) at offset 10 of epoch E. */
function historySub(options) {
  const t = setup(options)
  const got = []
  const infos = []
  const errs = []
  const unsub = []
  const sub = t.client.subscribe('h', {
    onMessage: (d, m) => got.push(m.offset),
    onSubscribed: (i) => infos.push(i),
    onError: (e) => errs.push(e),
    onUnsubscribed: (r) => unsub.push(r),
  })
  t.client.connect()
  const ws = t.WS.last()
  ws.greet()
  ws.recv({ type: 'ack', id: ws.last('subscribe').id, channel: 'h', offset: 10, epoch: 'E' })
  return { ...t, sub, ws, got, infos, errs, unsub }
}

test('history channel: position from the ack, duplicates (offset <= L) never delivered', () => {
  const { ws, sub, got, infos } = historySub()
  assert.deepEqual(infos[0], { channel: 'h', offset: 10, epoch: 'E', recovered: undefined })
  assert.equal(sub.offset, 10)
  assert.equal(sub.epoch, 'E')
  ws.recv({ type: 'message', channel: 'h', offset: 11, prev: 10, data: 'a' })
  ws.recv({ type: 'message', channel: 'h', offset: 13, prev: 11, data: 'b' }) // offsets need not be consecutive
  assert.deepEqual(got, [11, 13])
  const before = ws.of('subscribe').length
  ws.recv({ type: 'message', channel: 'h', offset: 13, prev: 11, data: 'b' }) // a duplicate
  ws.recv({ type: 'message', channel: 'h', offset: 12, prev: 11, data: 'x' })
  assert.deepEqual(got, [11, 13], 'offset <= L is never delivered')
  // and it resubscribes from L, as the client's rules say (a new epoch shows this way)
  assert.equal(ws.of('subscribe').length, before + 1)
  assert.deepEqual(ws.last('subscribe').since, { offset: 13, epoch: 'E' })
})

test('gap (prev > L): resubscribe with since on the same socket, ignore messages until the ack', () => {
  const { WS, ws, got, infos } = historySub()
  ws.recv({ type: 'message', channel: 'h', offset: 11, prev: 10, data: 'a' })
  ws.recv({ type: 'message', channel: 'h', offset: 15, prev: 14, data: 'gap' }) // 12..14 missed
  assert.deepEqual(got, [11])
  assert.equal(WS.sockets.length, 1, 'same socket')
  const re = ws.last('subscribe')
  assert.deepEqual(re.since, { offset: 11, epoch: 'E' })
  ws.recv({ type: 'message', channel: 'h', offset: 16, prev: 15, data: 'live, ignored' })
  assert.deepEqual(got, [11])
  assert.equal(ws.of('subscribe').length, 2, 'no second resubscribe while waiting')
  ws.recv({ type: 'ack', id: re.id, channel: 'h', offset: 16, epoch: 'E', recovered: true })
  assert.equal(infos[1].recovered, true)
  for (const o of [12, 14, 15, 16]) ws.recv({ type: 'message', channel: 'h', offset: o, prev: o === 12 ? 11 : o === 14 ? 12 : o - 1, data: o })
  assert.deepEqual(got, [11, 12, 14, 15, 16])
})

test('a stale ack (of a superseded subscribe) does not end the wait', () => {
  const { ws, got } = historySub()
  ws.recv({ type: 'message', channel: 'h', offset: 12, prev: 11, data: 'gap' }) // resubscribe #2
  const first = ws.last('subscribe')
  ws.recv({ type: 'ack', id: first.id, channel: 'h', offset: 12, epoch: 'E', recovered: true })
  ws.recv({ type: 'message', channel: 'h', offset: 14, prev: 13, data: 'gap again' }) // resubscribe #3
  const second = ws.last('subscribe')
  assert.notEqual(first.id, second.id)
  // an ack that is not the last subscribe's (here #2's again) must not end the wait for #3
  ws.recv({ type: 'ack', id: first.id, channel: 'h', offset: 12, epoch: 'E', recovered: true })
  ws.recv({ type: 'message', channel: 'h', offset: 11, prev: 10, data: 'x' })
  assert.deepEqual(got, [], 'still waiting for #3')
  ws.recv({ type: 'ack', id: second.id, channel: 'h', offset: 14, epoch: 'E', recovered: true })
  ws.recv({ type: 'message', channel: 'h', offset: 11, prev: 10, data: 'x' })
  assert.deepEqual(got, [11])
})

test('reconnect: subscriptions resume with since {last offset, epoch}; plain without history', () => {
  const { client, WS, clock, ws, got, infos } = historySub()
  client.subscribe('plain', {})
  ws.recv({ type: 'ack', id: ws.last('subscribe').id })
  ws.recv({ type: 'message', channel: 'h', offset: 11, prev: 10, data: 'a' })
  ws.serverClose(1006)
  clock.advance(10000)
  const ws2 = WS.last()
  assert.notEqual(ws2, ws)
  ws2.recv({ type: 'message', channel: 'h', offset: 12, prev: 11, data: 'before greeting?' })
  ws2.greet()
  const subs = ws2.of('subscribe')
  assert.deepEqual(subs.map((f) => [f.channel, f.since]), [['h', { offset: 11, epoch: 'E' }], ['plain', undefined]])
  ws2.recv({ type: 'message', channel: 'h', offset: 12, prev: 11, data: 'b' }) // before the ack: ignored
  assert.deepEqual(got, [11])
  ws2.recv({ type: 'ack', id: subs[0].id, channel: 'h', offset: 13, epoch: 'E', recovered: true })
  ws2.recv({ type: 'message', channel: 'h', offset: 12, prev: 11, data: 'b' })
  ws2.recv({ type: 'message', channel: 'h', offset: 13, prev: 12, data: 'c' })
  assert.deepEqual(got, [11, 12, 13])
  assert.equal(infos[1].recovered, true)
})

test('recovered:false: position jumps to the ack and the app is told', () => {
  const { client, WS, clock, ws, got, infos } = historySub()
  ws.serverClose(1006)
  clock.advance(10000)
  const ws2 = WS.last()
  ws2.greet()
  ws2.recv({ type: 'ack', id: ws2.last('subscribe').id, channel: 'h', offset: 500, epoch: 'E2', recovered: false })
  assert.deepEqual(infos[1], { channel: 'h', offset: 500, epoch: 'E2', recovered: false })
  ws2.recv({ type: 'message', channel: 'h', offset: 501, prev: 500, data: 'new' })
  assert.deepEqual(got, [501])
  ws2.recv({ type: 'message', channel: 'h', offset: 499, prev: 498, data: 'old' })
  assert.deepEqual(got, [501], 'below the position: not delivered')
  assert.deepEqual(ws2.last('subscribe').since, { offset: 501, epoch: 'E2' })
  assert.equal(client.getSubscription('h').epoch, 'E2')
})

test('an ack without id mid-replay moves the position and is surfaced', () => {
  const { ws, sub, got, infos } = historySub()
  ws.recv({ type: 'message', channel: 'h', offset: 11, prev: 10, data: 'a' })
  ws.recv({ type: 'ack', channel: 'h', offset: 57, epoch: 'E2', recovered: false })
  assert.deepEqual(infos[1], { channel: 'h', offset: 57, epoch: 'E2', recovered: false, unsolicited: true })
  assert.equal(sub.offset, 57)
  assert.equal(sub.epoch, 'E2')
  ws.recv({ type: 'message', channel: 'h', offset: 58, prev: 57, data: 'b' })
  assert.deepEqual(got, [11, 58])
})

test('dropped notice: surfaced, and resubscribes at once when its offset is at or past L', () => {
  const { ws, errs } = historySub()
  ws.recv({ type: 'message', channel: 'h', offset: 11, prev: 10, data: 'a' })
  ws.recv({ type: 'error', code: 'dropped', channel: 'h', offset: 9, message: '3 messages dropped: the connection was not reading fast enough' })
  assert.equal(errs.length, 1)
  assert.equal(errs[0].code, 'dropped')
  assert.equal(errs[0].count, 3)
  assert.equal(ws.of('subscribe').length, 1, 'offset 9 < L 11: already seen')
  ws.recv({ type: 'error', code: 'dropped', channel: 'h', offset: 11, message: '2 messages dropped: x' })
  assert.equal(ws.of('subscribe').length, 2)
  assert.deepEqual(ws.last('subscribe').since, { offset: 11, epoch: 'E' })
})

test('unsubscribed forbidden ends the subscription; history_unavailable resubscribes with since', () => {
  const { ws, clock, sub, errs, unsub } = historySub()
  ws.recv({ type: 'unsubscribed', channel: 'h', reason: 'history_unavailable' })
  assert.equal(errs[0].code, 'history_unavailable')
  assert.equal(sub.active, true)
  clock.advance(2000)
  assert.deepEqual(ws.last('subscribe').since, { offset: 10, epoch: 'E' })
  ws.recv({ type: 'ack', id: ws.last('subscribe').id, channel: 'h', offset: 10, epoch: 'E', recovered: true })
  ws.recv({ type: 'unsubscribed', channel: 'h', reason: 'forbidden' })
  assert.deepEqual(unsub, ['forbidden'])
  assert.equal(sub.active, false)
})

test('subscribe errors: retryable ones retried, no_history falls back to plain, others end it', () => {
  const { client, WS, clock } = setup()
  client.connect()
  const ws = WS.last()
  ws.greet()
  const ended = []
  const a = client.subscribe('a', { onUnsubscribed: (r) => ended.push(['a', r]) })
  ws.recv({ type: 'error', id: ws.last('subscribe').id, code: 'history_unavailable', message: 'retry' })
  assert.equal(a.active, true)
  clock.advance(2000)
  assert.equal(ws.of('subscribe').filter((f) => f.channel === 'a').length, 2)
  ws.recv({ type: 'error', id: ws.last('subscribe').id, code: 'too_many_channels', message: 'node full' })
  assert.equal(a.active, true)
  clock.advance(2000)
  assert.equal(ws.of('subscribe').filter((f) => f.channel === 'a').length, 3)
  ws.recv({ type: 'error', id: ws.last('subscribe').id, code: 'forbidden', message: 'no' })
  assert.deepEqual(ended, [['a', 'forbidden']])
  assert.equal(a.active, false)
  assert.equal(client.getSubscription('a'), undefined)
  client.subscribe('a', {}) // may subscribe again

  // no_history after a resume: the position is dropped, plain subscribe, recovered:false told
  const { ws: hws, infos } = historySub()
  hws.recv({ type: 'message', channel: 'h', offset: 12, prev: 11, data: 'gap' })
  hws.recv({ type: 'error', id: hws.last('subscribe').id, code: 'no_history', message: 'x' })
  const plain = hws.last('subscribe')
  assert.equal(plain.since, undefined)
  hws.recv({ type: 'ack', id: plain.id })
  assert.equal(infos[1].recovered, false)
})

test('unsubscribe sends the frame and stops delivery', () => {
  const { client, ws, sub, got, unsub } = historySub()
  sub.unsubscribe()
  assert.deepEqual(ws.last('unsubscribe'), { type: 'unsubscribe', channel: 'h', id: ws.last('unsubscribe').id })
  ws.recv({ type: 'message', channel: 'h', offset: 11, prev: 10, data: 'a' })
  assert.deepEqual(got, [])
  assert.deepEqual(unsub, ['unsubscribe'])
  ws.recv({ type: 'ack', id: ws.last('unsubscribe').id })
  assert.equal(client.getSubscription('h'), undefined)
})

test('publish: resolves on ack, rejects with the error code', async () => {
  const { client, WS } = setup()
  client.connect()
  const ws = WS.last()
  ws.greet()
  const p1 = client.publish('news', { x: 1 })
  const f1 = ws.last('publish')
  assert.equal(f1.channel, 'news')
  assert.deepEqual(f1.data, { x: 1 })
  assert.match(f1.idempotency_key, /^[\x21-\x7e]{1,64}$/)
  ws.recv({ type: 'ack', id: f1.id })
  assert.equal(await p1, undefined)

  const p2 = client.publish('news', 2, { idempotencyKey: 'k-17' })
  const f2 = ws.last('publish')
  assert.equal(f2.idempotency_key, 'k-17')
  assert.notEqual(f2.id, f1.id)
  ws.recv({ type: 'error', id: f2.id, code: 'forbidden', message: 'the token does not allow publishing to this channel' })
  await assert.rejects(p2, (e) => e.code === 'forbidden' && /does not allow/.test(e.message))

  client.publish('news', undefined)
  assert.equal(ws.last('publish').data, null)
})

test('publish: timeout', async () => {
  const { client, WS, clock } = setup({ publishTimeoutMs: 3000 })
  client.connect()
  WS.last().greet()
  const p = client.publish('news', 1)
  clock.advance(3000)
  await assert.rejects(p, { code: 'timeout' })
  WS.last().recv({ type: 'ack', id: WS.last().last('publish').id }) // late: ignored
})

test('publish: queued while disconnected, re-sent after a reconnection with the same key', async () => {
  const { client, WS, clock } = setup()
  const early = client.publish('news', 'early') // before connect()
  client.connect()
  const ws = WS.last()
  ws.greet()
  const f0 = ws.last('publish')
  assert.equal(f0.data, 'early')
  const p = client.publish('news', 'x')
  const f1 = ws.last('publish')
  ws.recv({ type: 'ack', id: f0.id })
  await early
  ws.serverClose(1006) // ack of f1 lost
  const queued = client.publish('news', 'while down')
  clock.advance(5000)
  const ws2 = WS.last()
  ws2.greet()
  const resent = ws2.of('publish')
  assert.deepEqual(resent.map((f) => f.data), ['x', 'while down'])
  assert.equal(resent[0].idempotency_key, f1.idempotency_key, 'same key: the server publishes it once')
  ws2.recv({ type: 'ack', id: resent[0].id })
  ws2.recv({ type: 'ack', id: resent[1].id })
  await p
  await queued
  // subscribes go before re-sent publishes
  client.subscribe('z', {})
  assert.equal(ws2.sent[ws2.sent.length - 1].type, 'subscribe')
})

test('publish: timeout counts from the call, across reconnections', async () => {
  const { client, WS, clock } = setup({ publishTimeoutMs: 10000 })
  client.connect()
  WS.last().greet()
  const p = client.publish('news', 1)
  WS.last().serverClose(1006)
  clock.advance(9999)
  await flush()
  clock.advance(1)
  await assert.rejects(p, { code: 'timeout' })
  WS.last().greet()
  assert.equal(WS.last().of('publish').length, 0, 'not re-sent after its timeout')
})

test('history: resolves with the reply, re-sent after a reconnection', async () => {
  const { client, WS, clock } = setup()
  client.connect()
  WS.last().greet()
  const p = client.history('h', { since: { offset: 41, epoch: 'E' }, limit: 50 })
  const f = WS.last().last('history')
  assert.deepEqual(f, { type: 'history', channel: 'h', since: { offset: 41, epoch: 'E' }, limit: 50, id: f.id })
  WS.last().serverClose(1006)
  clock.advance(5000)
  WS.last().greet()
  const g = WS.last().last('history')
  const reply = { type: 'history', id: g.id, channel: 'h', offset: 42, epoch: 'E', recovered: true, more: false, publications: [{ offset: 42, prev: 41, data: 1 }] }
  WS.last().recv(reply)
  assert.deepEqual(await p, reply)
  const q = client.history('h')
  WS.last().recv({ type: 'error', id: WS.last().last('history').id, code: 'no_history', message: 'x' })
  await assert.rejects(q, { code: 'no_history' })
})

test('token refresh: scheduled from exp, minus the lead', async () => {
  const clockStart = 0 // the fake clock starts at 0 ms
  let n = 0
  const tokens = []
  const getToken = async () => {
    const t = jwt({ sub: 'u', exp: clockStart / 1000 + 600 + n * 600, n: n++ })
    tokens.push(t)
    return t
  }
  const { client, WS, clock } = setup({ getToken, refreshBeforeMs: 30000 })
  client.connect()
  await flush()
  const ws = WS.last()
  ws.greet()
  clock.advance(569999)
  await flush()
  assert.equal(ws.of('refresh').length, 0)
  clock.advance(1)
  await flush()
  const r = ws.last('refresh')
  assert.equal(r.token, tokens[1])
  ws.recv({ type: 'ack', id: r.id })
  await flush()
  // the next refresh follows the new token's exp (1200 s): at 1170 s
  clock.advance(1170000 - 570000 - 1)
  await flush()
  assert.equal(ws.of('refresh').length, 1)
  clock.advance(1)
  await flush()
  assert.equal(ws.of('refresh').length, 2)
  assert.equal(WS.sockets.length, 1)
  assert.ok(client.state === 'connected')
})

test('token refresh refused (unauthorized): reconnect with a fresh token; other errors retry', async () => {
  let n = 0
  const getToken = async () => jwt({ sub: 'u', exp: 100, n: n++ })
  const { client, WS, clock, errors, states } = setup({ getToken })
  client.connect()
  await flush()
  const ws = WS.last()
  ws.greet()
  clock.advance(70000) // exp 100 s, lead 30 s
  await flush()
  ws.recv({ type: 'error', id: ws.last('refresh').id, code: 'rate_limited', message: 'x' })
  await flush()
  assert.equal(errors[errors.length - 1].code, 'rate_limited')
  clock.advance(5000)
  await flush()
  assert.equal(ws.of('refresh').length, 2, 'retried')
  ws.recv({ type: 'error', id: ws.last('refresh').id, code: 'unauthorized', message: 'bad token signature' })
  await flush()
  assert.ok(ws.closed, 'the socket is given up')
  assert.equal(states[states.length - 1].reason, 'token refresh refused')
  clock.advance(10000)
  await flush()
  assert.equal(WS.sockets.length, 2)
  assert.equal(n, 4) // connect, refresh, retried refresh, reconnect
})

test('heartbeat: answers ping with pong; silence past interval + margin reconnects', () => {
  const { client, WS, clock, states } = setup({ heartbeat: true })
  client.connect()
  const ws = WS.last()
  ws.greet({ ping_interval_ms: 10000 }) // timeout 10 s + max(5 s, 5 s) = 15 s
  ws.recv({ type: 'ping' })
  assert.deepEqual(ws.sent, [{ type: 'pong' }])
  clock.advance(14999)
  ws.recv({ type: 'ping' }) // any frame keeps it alive
  clock.advance(14999)
  assert.equal(ws.closed, null)
  clock.advance(1)
  assert.ok(ws.closed)
  assert.equal(states[states.length - 1].reason, 'heartbeat timeout')
  clock.advance(1000)
  assert.equal(WS.sockets.length, 2)
  // the margin is half the interval when that is more than 5 s
  const ws2 = WS.last()
  ws2.greet({ ping_interval_ms: 25000 })
  clock.advance(37499)
  assert.equal(ws2.closed, null)
  clock.advance(1)
  assert.ok(ws2.closed)
})

test('heartbeat off (default): no timer, but a ping is still answered', () => {
  const { client, WS, clock } = setup()
  client.connect()
  const ws = WS.last()
  ws.greet({ ping_interval_ms: 1000 })
  clock.advance(3600000)
  assert.equal(ws.closed, null)
  ws.recv({ type: 'ping' })
  assert.deepEqual(ws.sent, [{ type: 'pong' }])
})

test('a throwing listener does not break the client: its exception goes to "error"', () => {
  const { client, WS, errors } = setup()
  const got = []
  client.subscribe('news', {
    onMessage: (d) => {
      got.push(d)
      throw new Error('app bug')
    },
  })
  client.connect()
  const ws = WS.last()
  ws.greet()
  ws.recv({ type: 'ack', id: ws.last('subscribe').id })
  ws.recv({ type: 'message', channel: 'news', data: 1 })
  ws.recv({ type: 'message', channel: 'news', data: 2 })
  assert.deepEqual(got, [1, 2])
  assert.deepEqual(errors.map((e) => e.message), ['app bug', 'app bug'])
  ws.recv('not json')
  assert.equal(errors[2].code, 'bad_frame')
  ws.onmessage({ data: Buffer.from(JSON.stringify({ type: 'message', channel: 'news', data: 3 })) }) // the ws package may give Buffers
  ws.onmessage({ data: new ArrayBuffer(4) }) // binary: ignored
  assert.deepEqual(got, [1, 2, 3])
  errors.splice(3)
  ws.recv({ type: 'error', code: 'rate_limited', message: 'dropped' })
  assert.equal(errors[3].code, 'rate_limited')
})

test('subscription events via sub.on, and off', () => {
  const { client, WS } = setup()
  const sub = client.subscribe('news')
  const got = []
  const fn = (d, m) => got.push([d, m.channel])
  sub.on('message', fn)
  client.connect()
  const ws = WS.last()
  ws.greet()
  ws.recv({ type: 'ack', id: ws.last('subscribe').id })
  ws.recv({ type: 'message', channel: 'news', data: 1 })
  sub.off('message', fn)
  ws.recv({ type: 'message', channel: 'news', data: 2 })
  assert.deepEqual(got, [[1, 'news']])
})

test('connect() resolves once connected; rejects when the client stops first', async () => {
  const a = setup()
  const p = a.client.connect()
  assert.equal(a.client.connect(), p, 'the same promise while connecting')
  a.WS.last().serverClose(1006)
  a.clock.advance(1000)
  a.WS.last().greet()
  assert.equal(await p, undefined)
  assert.equal(await a.client.connect(), undefined, 'resolved at once while connected')

  const b = setup()
  const q = b.client.connect()
  b.client.close()
  await assert.rejects(q, (e) => e.code === 'closed' && e.closeCode === 1000)

  const c = setup()
  const r = c.client.connect()
  c.WS.last().greet({}) // connected: r resolves
  await r
  c.WS.last().serverClose(4001, 'token expired') // final: no getToken
  const r2 = c.client.connect() // starts again
  c.WS.last().serverClose(4001, 'token expired')
  await assert.rejects(r2, (e) => e.closeCode === 4001 && e.closeReason === 'token expired')

  // unobserved: no unhandled rejection (node:test would report it)
  const d = setup()
  d.client.connect()
  d.client.close()
  await flush()
})

test('constructor: urls required; WebSocket required', () => {
  assert.throws(() => new Client([], { WebSocket: class {} }), /no URL/)
  if (!globalThis.WebSocket) assert.throws(() => new Client('ws://a/ws'), /no WebSocket/)
})

test('getToken failure counts as a failed attempt', async () => {
  let fail = true
  const { client, WS, clock, errors, states } = setup({ getToken: async () => { if (fail) throw new Error('idp down'); return jwt({ exp: 2e9 }) } })
  client.connect()
  await flush()
  assert.equal(WS.sockets.length, 0)
  assert.equal(errors[0].message, 'idp down')
  assert.equal(states[states.length - 1].reason, 'getToken failed')
  fail = false
  clock.advance(10000)
  await flush()
  assert.equal(WS.sockets.length, 1)
})

test('close() during getToken: nothing opens', async () => {
  let release
  const { client, WS } = setup({ getToken: () => new Promise((r) => (release = r)) })
  client.connect()
  client.close()
  release('t')
  await flush()
  assert.equal(WS.sockets.length, 0)
})

test('connectionId: the connected frame\'s client, new on every connection', () => {
  const { client, WS, clock } = setup()
  assert.equal(client.connectionId, undefined)
  client.connect()
  WS.last().greet({ client: 'n1.5f0c3d9e8a7b6c5d4e3f2a1b0c9d8e7f' })
  assert.equal(client.connectionId, 'n1.5f0c3d9e8a7b6c5d4e3f2a1b0c9d8e7f')
  WS.last().serverClose(1006)
  assert.equal(client.connectionId, 'n1.5f0c3d9e8a7b6c5d4e3f2a1b0c9d8e7f', 'the last one while disconnected')
  clock.advance(10000)
  WS.last().greet({ client: 'n2.00000000000000000000000000000001' })
  assert.equal(client.connectionId, 'n2.00000000000000000000000000000001')
})

test('push: emitted with its data, in order; a throwing listener goes to "error"', () => {
  const { client, WS, errors } = setup()
  const got = []
  client.on('push', (d) => got.push(d))
  client.connect()
  const ws = WS.last()
  ws.greet()
  ws.recv({ type: 'push', data: { to: 'you' } })
  ws.recv({ type: 'push', data: 'two' })
  ws.recv({ type: 'push', data: null })
  assert.deepEqual(got, [{ to: 'you' }, 'two', null])
  client.on('push', () => {
    throw new Error('app bug')
  })
  ws.recv({ type: 'push', data: 4 })
  assert.deepEqual(got.length, 4)
  assert.deepEqual(errors.map((e) => e.message), ['app bug'])
})

test('send: resolves on the ack after the reply push; rejects with the error code', async () => {
  const { client, WS } = setup()
  const pushes = []
  client.on('push', (d) => pushes.push(d))
  client.connect()
  const ws = WS.last()
  ws.greet()
  let done = false
  const p = client.send({ hi: 1 }).then(() => (done = true))
  const f = ws.last('send')
  assert.deepEqual(f, { type: 'send', data: { hi: 1 }, id: f.id })
  ws.recv({ type: 'push', data: { echo: { hi: 1 } } })
  assert.deepEqual(pushes, [{ echo: { hi: 1 } }], 'the reply, before the ack')
  await flush()
  assert.equal(done, false)
  ws.recv({ type: 'ack', id: f.id })
  assert.equal(await p, true)

  for (const code of ['unsupported', 'busy', 'hook_unavailable', 'too_large']) {
    const q = client.send(1)
    ws.recv({ type: 'error', id: ws.last('send').id, code, message: 'refused: ' + code })
    await assert.rejects(q, (e) => e.code === code && e.message === 'refused: ' + code)
  }
  client.send(undefined)
  assert.equal(ws.last('send').data, null)
})

test('send: waits while disconnected; fails "disconnected", never re-sent, when its connection ends', async () => {
  const { client, WS, clock } = setup({ publishTimeoutMs: 60000 })
  const early = client.send('early') // before connect()
  client.connect()
  let ws = WS.last()
  ws.greet()
  const f0 = ws.last('send')
  assert.equal(f0.data, 'early')
  ws.recv({ type: 'ack', id: f0.id })
  await early

  const lost = client.send('lost')
  const f1 = ws.last('send')
  const pub = client.publish('news', 'p') // a publish, unlike a send, is re-sent
  ws.serverClose(1006)
  await assert.rejects(lost, { code: 'disconnected' })
  const queued = client.send('while down')
  clock.advance(5000)
  ws = WS.last()
  ws.greet()
  const sent = ws.of('send')
  assert.deepEqual(sent.map((f) => f.data), ['while down'], 'the lost send is not sent again')
  assert.notEqual(sent[0].id, f1.id)
  assert.deepEqual(ws.of('publish').map((f) => f.data), ['p'])
  ws.recv({ type: 'ack', id: sent[0].id })
  ws.recv({ type: 'ack', id: ws.last('publish').id })
  await queued
  await pub
  // sent once: a second reconnection does not send it again either
  ws.serverClose(1006)
  clock.advance(5000)
  WS.last().greet()
  assert.equal(WS.last().of('send').length, 0)
})

test('send: timeout from the call; closed', async () => {
  const { client, WS, clock } = setup({ publishTimeoutMs: 3000 })
  const p = client.send(1) // never connected
  clock.advance(3000)
  await assert.rejects(p, { code: 'timeout' })
  client.connect()
  WS.last().greet()
  assert.equal(WS.last().of('send').length, 0, 'not sent after its timeout')
  const q = client.send(2)
  client.close()
  await assert.rejects(q, { code: 'closed' })
  await assert.rejects(client.send(3), { code: 'closed' })
})

test('presence: asked in every subscribe, join and leave to onJoin/onLeave in order with messages', () => {
  const { client, WS, clock } = setup()
  const log = []
  const room = client.subscribe('room.1', {
    presence: true,
    onJoin: (m) => log.push(['join', m]),
    onLeave: (m) => log.push(['leave', m]),
    onMessage: (d) => log.push(['message', d]),
  })
  const lobby = client.subscribe('lobby', { onMessage: (d) => log.push(['lobby', d]) })
  assert.equal(room.presence, true)
  assert.equal(lobby.presence, false)
  const viaOn = []
  room.on('join', (m) => viaOn.push(m.conn))
  client.connect()
  let ws = WS.last()
  ws.greet()
  const [s1, s2] = ws.of('subscribe')
  assert.deepEqual(s1, { type: 'subscribe', channel: 'room.1', presence: true, id: s1.id })
  assert.deepEqual(s2, { type: 'subscribe', channel: 'lobby', id: s2.id }, 'no presence without the option')
  ws.recv({ type: 'ack', id: s1.id, channel: 'room.1', offset: 5, epoch: 'E' })
  ws.recv({ type: 'ack', id: s2.id })

  const ann = { channel: 'room.1', conn: 'n1.a', user: 'ann', node: 'n1', joined: 1765100000123 }
  ws.recv({ type: 'join', ...ann })
  ws.recv({ type: 'message', channel: 'room.1', offset: 6, prev: 5, data: 'hi' })
  ws.recv({ type: 'join', channel: 'lobby', conn: 'n1.b', user: 'bob', node: 'n1', joined: 1 }) // not asked for
  ws.recv({ type: 'join', channel: 'nowhere', conn: 'n1.b', user: 'bob', node: 'n1', joined: 1 })
  ws.recv({ type: 'leave', ...ann })
  assert.deepEqual(log, [['join', ann], ['message', 'hi'], ['leave', ann]])
  assert.deepEqual(viaOn, ['n1.a'])

  // a reconnection asks again, with since; a change before the ack is delivered
  ws.serverClose(1006)
  clock.advance(5000)
  ws = WS.last()
  ws.greet()
  const re = ws.of('subscribe').find((f) => f.channel === 'room.1')
  assert.deepEqual(re, { type: 'subscribe', channel: 'room.1', since: { offset: 6, epoch: 'E' }, presence: true, id: re.id })
  ws.recv({ type: 'join', channel: 'room.1', conn: 'n2.c', user: '', node: 'n2', joined: 7 })
  assert.deepEqual(log[log.length - 1], ['join', { channel: 'room.1', conn: 'n2.c', user: '', node: 'n2', joined: 7 }])
  // and so does a resubscribe after a gap
  ws.recv({ type: 'ack', id: re.id, channel: 'room.1', offset: 6, epoch: 'E', recovered: true })
  ws.recv({ type: 'message', channel: 'room.1', offset: 9, prev: 8, data: 'gap' })
  assert.equal(ws.last('subscribe').presence, true)
  // once unsubscribed, nothing more
  room.unsubscribe()
  const n = log.length
  ws.recv({ type: 'leave', channel: 'room.1', conn: 'n2.c', user: '', node: 'n2', joined: 7 })
  assert.equal(log.length, n)
})

test('unsubscribed "server": the subscription ends and is not subscribed again after a reconnection', () => {
  const { client, WS, clock } = setup()
  const ended = []
  const got = []
  const a = client.subscribe('a', { onMessage: (d) => got.push(d), onUnsubscribed: (r) => ended.push(r) })
  client.subscribe('b', {})
  client.connect()
  let ws = WS.last()
  ws.greet()
  for (const f of ws.of('subscribe')) ws.recv({ type: 'ack', id: f.id })
  ws.recv({ type: 'unsubscribed', channel: 'a', reason: 'server' })
  assert.deepEqual(ended, ['server'])
  assert.equal(a.active, false)
  assert.equal(client.getSubscription('a'), undefined)
  ws.recv({ type: 'message', channel: 'a', data: 1 })
  assert.deepEqual(got, [])
  ws.serverClose(1006)
  clock.advance(5000)
  ws = WS.last()
  ws.greet()
  assert.deepEqual(ws.of('subscribe').map((f) => f.channel), ['b'])
  client.subscribe('a', {}) // may subscribe again
  assert.deepEqual(ws.last('subscribe'), { type: 'subscribe', channel: 'a', id: ws.last('subscribe').id })
})
