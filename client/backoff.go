package client

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/wire"
)

// maxServerDelay bounds a delay a server asks for (Retry-After,
// retry-after-ms): a typo or a hostile proxy must not park the client for
// days. The JavaScript client caps it alike.
const maxServerDelay = 10 * time.Minute

// backoff is full-jitter exponential backoff: the n-th consecutive failure
// waits a uniformly random time in [0, min(max, min·2^n)) (AWS
// Architecture Blog, "Exponential Backoff And Jitter"): clients that lost
// the same node spread out instead of reconnecting in step.
type backoff struct {
	min, max time.Duration
	attempt  int
	rand     func(n int64) int64 // [0, n); rand.Int64N unless a test sets it
}

// ceiling is the upper bound of the next wait.
func (b *backoff) ceiling() time.Duration {
	d := b.min
	for i := 0; i < b.attempt && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// next returns the wait before the next attempt and counts the failure.
func (b *backoff) next() time.Duration {
	d := jitter(b.ceiling(), b.rand)
	b.attempt++
	return d
}

// reset starts the sequence again from min (after a connection that held).
func (b *backoff) reset() { b.attempt = 0 }

// jitter returns a uniformly random duration in [0, d).
func jitter(d time.Duration, rnd func(int64) int64) time.Duration {
	if d <= 0 {
		return 0
	}
	if rnd == nil {
		rnd = rand.Int64N
	}
	return time.Duration(rnd(int64(d)))
}

// cause is what ended a connection, or refused an attempt, as far as
// reconnecting goes.
type cause uint8

const (
	causeTransient    cause = iota // anything else: back off and try the next URL
	causeDrain                     // 1001 "draining; retry-after-ms=N": wait N to 1.5·N (N ≥ MinBackoff), then another node
	causeRetryAfter                // 503 or 429: wait at least the Retry-After (or the backoff)
	causeTokenExpired              // 4001, or a refresh refused: reconnect soon with a fresh token (final without Options.Token)
	causeUnauthorized              // 401: once more with a fresh token (before the first connection, twice is final)
	causeRefused                   // another 4xx refusal, or the subprotocol refused: final before the first connection, else transient
)

// classify maps err, the end of a connection or a failed attempt, to its
// cause and the delay the server asked for (0 when none). Whether a cause
// is final depends on the client (a token function, a first connection):
// the connection goroutine decides (see the package doc).
func classify(err error) (cause, time.Duration) {
	var ce *CloseError
	var he *HandshakeError
	switch {
	case errors.Is(err, errRefreshRefused):
		return causeTokenExpired, 0
	case errors.Is(err, ErrSubprotocolRefused):
		// The node speaks only JSON: the options are wrong, unless one
		// node of a rollout answered.
		return causeRefused, 0
	case errors.As(err, &ce):
		switch ce.Code {
		case wire.CloseGoingAway:
			if d, ok := parseDrainReason(ce.Reason); ok {
				return causeDrain, d
			}
		case wire.CloseTokenExpired:
			return causeTokenExpired, 0
		}
		// 1000 idle timeout, 1001 shutting down, 1002, 1007, 1008, 1009,
		// 1011, 1013, and codes the client does not know: none says "do not
		// come back", and each can come from one burst or one node.
		return causeTransient, 0
	case errors.As(err, &he):
		switch he.Status {
		case http.StatusUnauthorized:
			return causeUnauthorized, 0
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			return causeRetryAfter, he.RetryAfter
		case http.StatusRequestTimeout:
			return causeTransient, 0
		}
		if he.Status >= 400 && he.Status < 500 {
			// 400 (a bad query), 403 (origin or channel not allowed), 404
			// (wrong path), 426 (version), 431 (headers too large): the
			// request is wrong, unless a proxy or a rollout answered.
			return causeRefused, 0
		}
		return causeTransient, 0 // 5xx of a proxy, a node starting
	}
	return causeTransient, 0
}

// reconnectDelay is how long to wait before the next attempt, given why
// the last one ended and whether its connection held (stayed up
// ResetBackoffAfter). b is the consecutive-failure backoff.
func reconnectDelay(c cause, hint time.Duration, held bool, b *backoff) time.Duration {
	switch c {
	case causeDrain:
		// D to 1.5·D: the server spread its clients over the drain
		// window, the client spreads them a little more. D is at least
		// MinBackoff: a server announcing 0 on every connection must
		// not get a storm of handshakes.
		d := max(hint, b.min)
		d += jitter(d/2, b.rand)
		if !held {
			// Drained again before the connection held: a failure, or
			// drains in a row would never back off.
			d = max(d, b.next())
		}
		return d
	case causeTokenExpired, causeUnauthorized:
		return jitter(b.min, b.rand)
	case causeRetryAfter:
		d := b.next()
		if hint > 0 {
			d = max(d, hint+jitter(b.min, b.rand))
		}
		return d
	}
	return b.next()
}

// parseDrainReason reads the delay of a drain's close reason,
// "draining; retry-after-ms=N" (wire.DrainingReason).
func parseDrainReason(reason string) (time.Duration, bool) {
	ms, ok := strings.CutPrefix(reason, wire.ReasonDrainingPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(ms), 10, 64)
	if err != nil {
		return 0, false
	}
	if n > uint64(maxServerDelay/time.Millisecond) {
		return maxServerDelay, true
	}
	return time.Duration(n) * time.Millisecond, true
}

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): a number
// of seconds, or an HTTP date (the wait is then until it, from now). 0 and
// false when absent or malformed.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n > uint64(maxServerDelay/time.Second) {
			return maxServerDelay, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxServerDelay), true
}
