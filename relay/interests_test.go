package relay

import (
	"fmt"
	"slices"
	"testing"
)

// Fresh channel names turned on and off while the bus goroutine is stuck
// (a stalled NATS) leave nothing pending: the backlog is bounded by the
// channels that differ from the bus, not by how many names churned.
func TestInterestSetChurnLeavesNothingPending(t *testing.T) {
	s := newInterestSet()
	s.set("kept", true)
	for i := range 100_000 {
		name := fmt.Sprintf("churn.%d", i)
		s.set(name, true)
		s.set(name, false)
	}
	if _, pending := s.counts(); pending != 1 {
		t.Fatalf("%d channels pending after churn, want 1 (kept)", pending)
	}
	if got := s.take(nil); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("take = %v, want [kept]", got)
	}
	if len(s.pending) != 0 || cap(s.pending) > 4096 {
		t.Fatalf("pending kept %d entries, capacity %d", len(s.pending), cap(s.pending))
	}
}

// A channel is reconciled in the order it first differed, and a wish that
// changes while the bus goroutine applies the old one is pending again.
func TestInterestSetOrderAndReapply(t *testing.T) {
	s := newInterestSet()
	for _, ch := range []string{"a", "b", "c"} {
		s.set(ch, true)
	}
	s.set("b", false) // b never reached the bus: withdrawn
	if got := s.take(nil); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("take = %v, want [a c]", got)
	}
	// The bus goroutine subscribes a; meanwhile a loses its last subscriber.
	s.set("a", false)
	s.setApplied("a", true)
	s.setApplied("c", true)
	if got := s.take(nil); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after a changed during its subscribe: take = %v, want [a]", got)
	}
	// A failed subscribe leaves the channel pending.
	s.set("d", true)
	s.take(nil)
	s.setApplied("d", false)
	if got := s.take(nil); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("after a failed subscribe: take = %v, want [d]", got)
	}
}
