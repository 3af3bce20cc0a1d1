import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tokenExpiry, refreshDelay, MIN_REFRESH_DELAY_MS } from '../index.js'
import { jwt } from './helpers.js'

test('tokenExpiry reads exp without verifying', () => {
  assert.equal(tokenExpiry(jwt({ sub: 'u', exp: 1700000000 })), 1700000000)
  // base64url characters (- and _) and missing padding
  let urlChars = 0
  for (let n = 0; n < 4; n++) {
    const t = jwt({ sub: '>>>???~~~ü', exp: 1700000123, x: 'a'.repeat(n) })
    if (/[-_]/.test(t.split('.')[1])) urlChars++
    assert.equal(tokenExpiry(t), 1700000123)
  }
  assert.ok(urlChars > 0, 'some payload used - or _')
  for (const bad of [undefined, '', 'abc', 'a.b.c', jwt({ sub: 'u' }), jwt({ exp: '17' }), 'x.' + Buffer.from('[1]').toString('base64url') + '.y']) {
    assert.equal(tokenExpiry(bad), undefined, String(bad))
  }
})

test('refreshDelay: lead before expiry, half the lifetime for short tokens, floored', () => {
  const now = 1000 * 1000
  // 10 minutes left, 30 s lead: refresh in 9m30s
  assert.equal(refreshDelay(1000 + 600, now, 30000), 570000)
  // 40 s left: half (20 s) is later than 10 s
  assert.equal(refreshDelay(1000 + 40, now, 30000), 20000)
  // a 6 s token refreshed 3 s before expiry
  assert.equal(refreshDelay(1000 + 6, now, 3000), 3000)
  // 4 s left: half of it
  assert.equal(refreshDelay(1000 + 4, now, 30000), 2000)
  // 1.5 s left, or already expired (clock ahead of the server's): the floor
  assert.equal(refreshDelay(1000 + 1.5, now, 30000), MIN_REFRESH_DELAY_MS)
  assert.equal(refreshDelay(900, now, 30000), MIN_REFRESH_DELAY_MS)
  // lead is configurable
  assert.equal(refreshDelay(1000 + 600, now, 120000), 480000)
})
