// Reads a JWT's "exp" without verifying it (the server verifies): only to
// know when to refresh.

/** The token's exp claim (seconds since the epoch), or undefined. */
export function tokenExpiry(token) {
  try {
    const p = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    const exp = JSON.parse(atob(p + '==='.slice((p.length + 3) % 4))).exp
    return typeof exp === 'number' && isFinite(exp) ? exp : undefined
  } catch {
    return undefined
  }
}

/** Shortest delay before a refresh, whatever the token says. */
export const MIN_REFRESH_DELAY_MS = 1000

/**
 * Milliseconds from nowMs until the refresh of a token expiring at expSec:
 * leadMs before expiry, or half the remaining lifetime when that is later
 * (a short token is not refreshed at once), and never under
 * MIN_REFRESH_DELAY_MS (a client clock ahead of the server's by more than
 * the token's lifetime must not refresh in a tight loop).
 */
export function refreshDelay(expSec, nowMs, leadMs) {
  const left = expSec * 1000 - nowMs
  return Math.max(left - leadMs, left / 2, MIN_REFRESH_DELAY_MS)
}
