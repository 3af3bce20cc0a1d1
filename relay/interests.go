package relay

import "sync"

// interestSet is the set of channels this node wants from the bus, the set
// the bus has (as far as the bus goroutine has applied), and the channels
// where the two differ, for the bus goroutine to reconcile. Interest
// updates it at once (the reactor calls it under its hub lock, so it must
// not wait for the bus); the bus goroutine then subscribes or unsubscribes.
//
// A channel is pending only while what is wanted differs from what is
// applied: a channel turned on and off again before the bus goroutine got
// to it (fresh names churned while the bus is stalled) leaves nothing
// behind. So the backlog is bounded by the channels the node has (its
// MaxChannels) plus those the bus still has, not by how often or how many
// names flip. The bus goroutine reconciles channels in the order they
// first differed: a change made before another is in force no later than
// it (what lets a subscriber that sees a later interest at work rely on
// the earlier ones).
type interestSet struct {
	mu      sync.Mutex
	want    map[string]struct{} // channels with local subscribers
	applied map[string]struct{} // channels the bus goroutine has subscribed
	queued  map[string]int      // pending channels: their index in pending
	pending []string            // channels to reconcile, oldest first; "" where one was withdrawn
	holes   int                 // withdrawn entries in pending
}

func newInterestSet() *interestSet {
	return &interestSet{
		want:    make(map[string]struct{}),
		applied: make(map[string]struct{}),
		queued:  make(map[string]int),
	}
}

// set records the wish for channel and reports whether the bus goroutine
// has work.
func (s *interestSet) set(channel string, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, had := s.want[channel]; had == on {
		return false
	}
	if on {
		s.want[channel] = struct{}{}
	} else {
		delete(s.want, channel)
	}
	return s.reconcileLocked(channel)
}

// setApplied records what the bus goroutine did for channel (subscribed or
// not) and queues the channel again if the wish changed meanwhile.
func (s *interestSet) setApplied(channel string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.applied[channel] = struct{}{}
	} else {
		delete(s.applied, channel)
	}
	s.reconcileLocked(channel)
}

// reconcileLocked queues channel when its wish differs from what is
// applied and withdraws it when they agree again. It reports whether the
// channel is pending. s.mu must be held.
func (s *interestSet) reconcileLocked(channel string) bool {
	_, on := s.want[channel]
	_, have := s.applied[channel]
	i, queued := s.queued[channel]
	switch {
	case on != have && !queued:
		s.queued[channel] = len(s.pending)
		s.pending = append(s.pending, channel)
	case on == have && queued:
		delete(s.queued, channel)
		s.pending[i] = ""
		if s.holes++; s.holes > len(s.pending)/2 {
			s.compactLocked()
		}
	}
	return on != have
}

// compactLocked drops the withdrawn entries of pending, keeping the order.
func (s *interestSet) compactLocked() {
	kept := s.pending[:0]
	for _, ch := range s.pending {
		if ch != "" {
			s.queued[ch] = len(kept)
			kept = append(kept, ch)
		}
	}
	clear(s.pending[len(kept):])
	s.pending, s.holes = kept, 0
}

// take hands the pending channels to the bus goroutine, oldest first,
// reusing buf. A channel that differs again after take, or whose
// reconciliation fails, is pending anew (setApplied).
func (s *interestSet) take(buf []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf = buf[:0]
	for _, ch := range s.pending {
		if ch != "" {
			buf = append(buf, ch)
		}
	}
	if cap(s.pending) > 4096 {
		s.pending = nil // a burst passed: give its memory back
	} else {
		clear(s.pending)
		s.pending = s.pending[:0]
	}
	clear(s.queued)
	s.holes = 0
	return buf
}

// wanted reports whether channel has local subscribers now.
func (s *interestSet) wanted(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.want[channel]
	return ok
}

// counts returns the number of channels wanted and of channels whose wish
// the bus has yet to apply.
func (s *interestSet) counts() (wanted, pending int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.want), len(s.queued)
}
