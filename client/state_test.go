package client

import (
	"testing"
	"time"
)

// TestClosedIsFinal: no state follows StateClosed, whatever goroutine
// reports one late (an abandoned Connect's idle, a run's last state).
func TestClosedIsFinal(t *testing.T) {
	var seen []State
	c := New([]string{"ws://127.0.0.1:1/ws"}, Options{OnState: func(s State) { seen = append(seen, s) }})
	c.setState(StateConnecting)
	c.setState(StateClosed)
	c.setState(StateIdle)
	c.setState(StateConnected)
	if c.State() != StateClosed || len(seen) != 2 {
		t.Fatalf("state %v after %v, want closed to stay", c.State(), seen)
	}
}

// TestPingIntervalBounded: the server's ping_interval_ms is bounded like
// any delay a server asks for, so the silence timeout cannot overflow.
func TestPingIntervalBounded(t *testing.T) {
	for _, c := range []struct {
		ms   int64
		want time.Duration
	}{
		{0, defaultPingInterval},
		{-5, defaultPingInterval},
		{100, 100 * time.Millisecond},
		{25000, 25 * time.Second},
		{int64(maxServerDelay / time.Millisecond), maxServerDelay},
		{int64(maxServerDelay/time.Millisecond) + 1, maxServerDelay},
		{1 << 53, maxServerDelay},
		{1<<63 - 1, maxServerDelay},
	} {
		got := pingInterval(c.ms)
		if got != c.want {
			t.Errorf("pingInterval(%d) = %v, want %v", c.ms, got, c.want)
		}
		if s := silenceFor(got); s <= got {
			t.Errorf("silenceFor(%v) = %v", got, s)
		}
	}
}
