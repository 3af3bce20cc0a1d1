package client

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// maxRand is a "random" source that always picks the top of the range,
// and zeroRand the bottom: the backoff's bounds without chance.
func maxRand(n int64) int64  { return n - 1 }
func zeroRand(n int64) int64 { return 0 }

// TestBackoffFullJitter: the n-th wait is drawn from [0, min(max,
// min·2^n)): ceilings 250ms, 500ms, 1s, ... capped at max; reset starts
// again; with a real source every draw stays within its ceiling.
func TestBackoffFullJitter(t *testing.T) {
	b := backoff{min: 250 * time.Millisecond, max: 10 * time.Second, rand: maxRand}
	want := []time.Duration{250, 500, 1000, 2000, 4000, 8000, 10000, 10000, 10000}
	for i, w := range want {
		if got := b.next(); got != w*time.Millisecond-1 {
			t.Fatalf("attempt %d: %v, want just under %v", i, got, w*time.Millisecond)
		}
	}
	b.reset()
	if got := b.next(); got != 250*time.Millisecond-1 {
		t.Fatalf("after reset: %v", got)
	}
	b = backoff{min: 250 * time.Millisecond, max: 10 * time.Second, rand: zeroRand}
	if got := b.next(); got != 0 {
		t.Fatalf("full jitter starts at 0, got %v", got)
	}
	r := backoff{min: 100 * time.Millisecond, max: time.Second}
	for i := range 1000 {
		ceiling := r.ceiling()
		if d := r.next(); d < 0 || d >= ceiling {
			t.Fatalf("draw %d: %v outside [0, %v)", i, d, ceiling)
		}
	}
	// Many attempts must not overflow the doubling.
	huge := backoff{min: time.Second, max: time.Hour, attempt: 200, rand: maxRand}
	if got := huge.next(); got != time.Hour-1 {
		t.Fatalf("attempt 200: %v", got)
	}
}

func TestParseDrainReason(t *testing.T) {
	for _, c := range []struct {
		reason string
		want   time.Duration
		ok     bool
	}{
		{"draining; retry-after-ms=1500", 1500 * time.Millisecond, true},
		{"draining; retry-after-ms=0", 0, true},
		{"draining; retry-after-ms=99999999999", 10 * time.Minute, true},
		{"draining; retry-after-ms=", 0, false},
		{"draining; retry-after-ms=-5", 0, false},
		{"draining; retry-after-ms=1.5", 0, false},
		{"server shutting down", 0, false},
		{"", 0, false},
	} {
		got, ok := parseDrainReason(c.reason)
		if got != c.want || ok != c.ok {
			t.Errorf("parseDrainReason(%q) = %v, %v; want %v, %v", c.reason, got, ok, c.want, c.ok)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"100000", 10 * time.Minute, true},
		{"Fri, 02 Jan 2026 03:04:35 GMT", 30 * time.Second, true},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0, true}, // in the past: at once
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
	} {
		got, ok := parseRetryAfter(c.v, now)
		if got != c.want || ok != c.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", c.v, got, ok, c.want, c.ok)
		}
	}
}

// TestClassify: what each ending is, as far as reconnecting goes (the
// connection goroutine turns causeTokenExpired without a token function,
// and causeUnauthorized and causeRefused before the first connection,
// into final refusals), and which delay the server asks for.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want cause
		hint time.Duration
	}{
		{&CloseError{1001, "draining; retry-after-ms=700"}, causeDrain, 700 * time.Millisecond},
		{&CloseError{1001, "server shutting down"}, causeTransient, 0},
		{&CloseError{1000, "idle timeout"}, causeTransient, 0},
		{&CloseError{1008, "slow consumer"}, causeTransient, 0},
		{&CloseError{1008, "too many errors"}, causeTransient, 0},
		{&CloseError{1008, "pong timeout"}, causeTransient, 0},
		{&CloseError{1009, "frame too big"}, causeTransient, 0},
		{&CloseError{1011, ""}, causeTransient, 0},
		{&CloseError{4001, "token expired"}, causeTokenExpired, 0},
		{&CloseError{4999, "future"}, causeTransient, 0},
		{&CloseError{1002, "protocol error"}, causeTransient, 0},
		{&CloseError{1003, ""}, causeTransient, 0},
		{&CloseError{1007, "not utf-8"}, causeTransient, 0},
		{&CloseError{1005, ""}, causeTransient, 0},
		{fmt.Errorf("wrapped: %w", &CloseError{4001, "token expired"}), causeTokenExpired, 0},
		{fmt.Errorf("%w: %w", errRefreshRefused, &Error{Code: "unauthorized"}), causeTokenExpired, 0},
		{&HandshakeError{Status: 503, RetryAfter: time.Second}, causeRetryAfter, time.Second},
		{&HandshakeError{Status: 429, RetryAfter: time.Second}, causeRetryAfter, time.Second},
		{&HandshakeError{Status: 503}, causeRetryAfter, 0},
		{&HandshakeError{Status: 401}, causeUnauthorized, 0},
		{&HandshakeError{Status: 408}, causeTransient, 0},
		{&HandshakeError{Status: 502}, causeTransient, 0},
		{&HandshakeError{Status: 400}, causeRefused, 0},
		{&HandshakeError{Status: 403}, causeRefused, 0},
		{&HandshakeError{Status: 404}, causeRefused, 0},
		{&HandshakeError{Status: 426}, causeRefused, 0},
		{&HandshakeError{Status: 431}, causeRefused, 0},
		{fmt.Errorf("%w: ws://a/ws answered %q", ErrSubprotocolRefused, ""), causeRefused, 0},
		{errors.New("connection refused"), causeTransient, 0},
	} {
		got, hint := classify(c.err)
		if got != c.want || hint != c.hint {
			t.Errorf("classify(%v) = %v, %v; want %v, %v", c.err, got, hint, c.want, c.hint)
		}
	}
}

// TestReconnectDelay: a drain announcing N waits N to 1.5·N; a
// Retry-After is a floor under the backoff; an expired token reconnects
// within MinBackoff.
func TestReconnectDelay(t *testing.T) {
	b := backoff{min: 250 * time.Millisecond, max: 10 * time.Second, rand: maxRand}
	if d := reconnectDelay(causeDrain, 2*time.Second, true, &b); d != 3*time.Second-1 || b.attempt != 0 {
		t.Fatalf("drain: %v (attempt %d)", d, b.attempt)
	}
	b.rand = zeroRand
	if d := reconnectDelay(causeDrain, 2*time.Second, true, &b); d != 2*time.Second {
		t.Fatalf("drain, least: %v", d)
	}
	b = backoff{min: 250 * time.Millisecond, max: 10 * time.Second, rand: zeroRand}
	if d := reconnectDelay(causeRetryAfter, time.Second, false, &b); d != time.Second {
		t.Fatalf("retry-after 1s with a 0 backoff: %v", d)
	}
	b = backoff{min: 250 * time.Millisecond, max: 10 * time.Second, attempt: 6, rand: maxRand}
	if d := reconnectDelay(causeRetryAfter, time.Second, false, &b); d != 10*time.Second-1 {
		t.Fatalf("retry-after under a longer backoff: %v", d)
	}
	b = backoff{min: 250 * time.Millisecond, max: 10 * time.Second, attempt: 6, rand: maxRand}
	if d := reconnectDelay(causeTokenExpired, 0, false, &b); d >= 250*time.Millisecond {
		t.Fatalf("token expired: %v", d)
	}
	b = backoff{min: 250 * time.Millisecond, max: 10 * time.Second, attempt: 2, rand: maxRand}
	if d := reconnectDelay(causeTransient, 0, false, &b); d != time.Second-1 || b.attempt != 3 {
		t.Fatalf("transient: %v", d)
	}
}

// TestDrainDelay: a drain announcing N waits [D, 1.5·D), D = max(N,
// MinBackoff); the drain of a connection that held leaves the backoff
// alone, the drain of one that did not counts as a failure, so repeated
// drains of short connections back off.
func TestDrainDelay(t *testing.T) {
	b := backoff{min: 250 * time.Millisecond, max: 10 * time.Second, rand: zeroRand}
	if d := reconnectDelay(causeDrain, 0, true, &b); d != 250*time.Millisecond || b.attempt != 0 {
		t.Fatalf("drain announcing 0: %v (attempt %d), want MinBackoff", d, b.attempt)
	}
	b.rand = maxRand
	if d := reconnectDelay(causeDrain, 100*time.Millisecond, true, &b); d != 375*time.Millisecond-1 {
		t.Fatalf("drain announcing 100ms, most: %v", d)
	}
	for range 6 {
		reconnectDelay(causeDrain, 0, false, &b)
	}
	if d := reconnectDelay(causeDrain, 0, false, &b); d != 10*time.Second-1 || b.attempt != 7 {
		t.Fatalf("7th drain in a row of short connections: %v (attempt %d), want the backoff's ceiling", d, b.attempt)
	}
}
