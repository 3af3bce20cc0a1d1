// Reconnection policy: pure functions, no timers, no I/O. The random source
// is injected so tests are deterministic.

/** The 1001 close reason of a graceful drain; milliseconds follow. */
export const DRAIN_PREFIX = 'draining; retry-after-ms='

/** Longest retry-after the client honours (10 minutes). */
export const MAX_RETRY_AFTER_MS = 600000

/**
 * The N of a 1001 close reason "draining; retry-after-ms=N", capped at
 * MAX_RETRY_AFTER_MS; undefined for any other reason.
 */
export function parseRetryAfter(reason) {
  if (typeof reason !== 'string' || !reason.startsWith(DRAIN_PREFIX)) return undefined
  const s = reason.slice(DRAIN_PREFIX.length)
  if (!/^[0-9]{1,15}$/.test(s)) return undefined
  return Math.min(Number(s), MAX_RETRY_AFTER_MS)
}

/**
 * Full-jitter exponential backoff: a delay in [0, min(maxMs, minMs * 2^attempt)),
 * attempt counting from 0.
 */
export function backoffDelay(attempt, minMs, maxMs, random) {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 40))
  return Math.floor(random() * cap)
}

/**
 * After a drain announcing N ms: a delay in [D, 1.5 D) with D = max(N,
 * minMs), so a server announcing 0 cannot make the client reconnect at once.
 */
export function drainDelay(retryAfterMs, random, minMs = 0) {
  const d = Math.max(retryAfterMs, minMs)
  return Math.floor(d * (1 + random() / 2))
}

/**
 * Whether a close is final (no reconnection). Only one server close is:
 * 4001 "token expired" when the client has no getToken to fetch another
 * token (reconnecting would present the same expired token, or none).
 * Every other code, known or not, is retried with backoff; a client that
 * wants another rule passes options.shouldReconnect.
 */
export function isFinalClose(code, canRefreshToken) {
  return code === 4001 && !canRefreshToken
}

/**
 * Plans what follows a closed or failed connection.
 *   close: {code, reason, upMs}: upMs is how long the connection was up
 *          after its "connected" frame (0 when it never got there)
 *   state: {attempt}: reconnections since the last stable connection
 *   opts:  {minBackoffMs, maxBackoffMs, resetBackoffAfterMs, canRefreshToken}
 * Returns {final: true} or {final: false, delayMs, attempt} (the attempt
 * count to keep for the next plan).
 */
export function planReconnect(close, attempt, opts, random) {
  if (isFinalClose(close.code, opts.canRefreshToken)) return { final: true }
  const stable = close.upMs >= opts.resetBackoffAfterMs
  if (stable) attempt = 0
  const drain = close.code === 1001 ? parseRetryAfter(close.reason) : undefined
  if (drain !== undefined) {
    const delayMs = drainDelay(drain, random, opts.minBackoffMs)
    if (stable) return { final: false, delayMs, attempt: 0 }
    // A drain of a connection that did not hold counts as a failure: a
    // server draining every connection at once must not get a storm.
    const backoff = backoffDelay(attempt, opts.minBackoffMs, opts.maxBackoffMs, random)
    return { final: false, delayMs: Math.max(delayMs, backoff), attempt: attempt + 1 }
  }
  return {
    final: false,
    delayMs: backoffDelay(attempt, opts.minBackoffMs, opts.maxBackoffMs, random),
    attempt: attempt + 1,
  }
}

/** The index of the URL to try after index i (round robin); -1 starts at 0. */
export function nextUrlIndex(i, n) {
  return (i + 1) % n
}
