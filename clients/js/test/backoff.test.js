import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  backoffDelay,
  parseRetryAfter,
  drainDelay,
  planReconnect,
  isFinalClose,
  nextUrlIndex,
  MAX_RETRY_AFTER_MS,
} from '../index.js'
import { seq } from './helpers.js'

const opts = { minBackoffMs: 250, maxBackoffMs: 10000, resetBackoffAfterMs: 30000, canRefreshToken: true }

test('backoffDelay: full jitter within [0, min(max, base*2^attempt))', () => {
  const caps = [250, 500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]
  caps.forEach((cap, attempt) => {
    assert.equal(backoffDelay(attempt, 250, 10000, () => 0), 0)
    assert.equal(backoffDelay(attempt, 250, 10000, () => 0.5), Math.floor(cap / 2))
    const top = backoffDelay(attempt, 250, 10000, () => 0.999999)
    assert.ok(top < cap && top >= cap - 1, `attempt ${attempt}: ${top} vs cap ${cap}`)
  })
  // huge attempt counts do not overflow to Infinity or NaN
  assert.equal(backoffDelay(1e6, 250, 10000, () => 0.5), 5000)
})

test('backoffDelay: jitter spreads over the whole window', () => {
  const seen = new Set()
  for (let i = 0; i < 10; i++) seen.add(backoffDelay(3, 250, 10000, () => i / 10))
  assert.equal(seen.size, 10)
  assert.deepEqual([...seen].sort((a, b) => a - b), [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800])
})

test('parseRetryAfter: only the drain reason, digits only, capped', () => {
  assert.equal(parseRetryAfter('draining; retry-after-ms=1500'), 1500)
  assert.equal(parseRetryAfter('draining; retry-after-ms=0'), 0)
  assert.equal(parseRetryAfter('draining; retry-after-ms=99999999'), MAX_RETRY_AFTER_MS)
  for (const r of ['server shutting down', 'draining; retry-after-ms=', 'draining; retry-after-ms=-5',
    'draining; retry-after-ms=1.5', 'draining; retry-after-ms=12abc', 'xdraining; retry-after-ms=5', '', undefined, null, 42]) {
    assert.equal(parseRetryAfter(r), undefined, String(r))
  }
})

test('drainDelay: in [N, 1.5N), never below the minimum backoff', () => {
  assert.equal(drainDelay(2000, () => 0), 2000)
  assert.equal(drainDelay(2000, () => 0.5), 2500)
  assert.equal(drainDelay(2000, () => 0.999999), 2999)
  assert.equal(drainDelay(0, () => 0, 250), 250)
  assert.equal(drainDelay(100, () => 0.5, 250), 312)
})

test('planReconnect: backoff grows with attempts, reset after a stable connection', () => {
  let attempt = 0
  const delays = []
  for (let i = 0; i < 8; i++) {
    const p = planReconnect({ code: 1006, reason: '', upMs: 0 }, attempt, opts, () => 0.5)
    assert.equal(p.final, false)
    delays.push(p.delayMs)
    attempt = p.attempt
  }
  assert.deepEqual(delays, [125, 250, 500, 1000, 2000, 4000, 5000, 5000])
  // up for 29 s: no reset; 30 s: reset
  assert.equal(planReconnect({ code: 1006, upMs: 29999 }, attempt, opts, () => 0.5).delayMs, 5000)
  const p = planReconnect({ code: 1006, upMs: 30000 }, attempt, opts, () => 0.5)
  assert.deepEqual(p, { final: false, delayMs: 125, attempt: 1 })
})

test('planReconnect: a drain honours retry-after and resets the attempts', () => {
  const p = planReconnect({ code: 1001, reason: 'draining; retry-after-ms=4000', upMs: 30000 }, 6, opts, () => 0.25)
  assert.deepEqual(p, { final: false, delayMs: 4500, attempt: 0 })
  // a connection drained before it held: the drain counts as a failure
  const s = planReconnect({ code: 1001, reason: 'draining; retry-after-ms=4000', upMs: 10 }, 6, opts, () => 0.25)
  assert.deepEqual(s, { final: false, delayMs: 4500, attempt: 7 })
  // a server draining every connection with N=0: the backoff still grows
  let attempt = 0
  const delays = []
  for (let i = 0; i < 6; i++) {
    const r = planReconnect({ code: 1001, reason: 'draining; retry-after-ms=0', upMs: 5 }, attempt, opts, () => 0.5)
    delays.push(r.delayMs)
    attempt = r.attempt
  }
  assert.deepEqual(delays, [312, 312, 500, 1000, 2000, 4000])
  // 1001 without retry-after (immediate shutdown): plain backoff
  const q = planReconnect({ code: 1001, reason: 'server shutting down', upMs: 10 }, 2, opts, () => 0.5)
  assert.deepEqual(q, { final: false, delayMs: 500, attempt: 3 })
  // the drain reason under another code is not a drain
  assert.equal(planReconnect({ code: 1000, reason: 'draining; retry-after-ms=4000', upMs: 0 }, 0, opts, () => 0.5).delayMs, 125)
})

test('final close codes: only 4001 without a way to get a new token', () => {
  assert.equal(isFinalClose(4001, false), true)
  assert.equal(isFinalClose(4001, true), false)
  for (const code of [1000, 1001, 1002, 1006, 1007, 1008, 1009, 1011, 1012, 1013, 4000, 4002, 4003, 4999]) {
    assert.equal(isFinalClose(code, false), false, String(code))
  }
  assert.deepEqual(planReconnect({ code: 4001, reason: 'token expired', upMs: 0 }, 0, { ...opts, canRefreshToken: false }, Math.random), { final: true })
  assert.equal(planReconnect({ code: 4001, reason: 'token expired', upMs: 0 }, 0, opts, () => 0).final, false)
})

test('nextUrlIndex: round robin from the first', () => {
  const order = []
  let i = -1
  for (let k = 0; k < 7; k++) order.push((i = nextUrlIndex(i, 3)))
  assert.deepEqual(order, [0, 1, 2, 0, 1, 2, 0])
  assert.equal(nextUrlIndex(-1, 1), 0)
  assert.equal(nextUrlIndex(0, 1), 0)
})

test('seq helper', () => {
  const r = seq(0.1, 0.2)
  assert.deepEqual([r(), r(), r()], [0.1, 0.2, 0.2])
})
