package relay

import "sync"

// interestSet is the set of channels this node wants from the bus, and the
// changes to it that the bus goroutine has yet to apply. Interest updates
// it at once (the reactor calls it under its hub lock, so it must not
// wait for the bus); the bus goroutine then subscribes or unsubscribes.
//
// Changes are coalesced per channel: a channel waits in pending at most
// once, whatever happens to it before the bus goroutine gets to it, so the
// backlog is bounded by the number of channels, not by how often they
// flip. The bus goroutine applies a channel's latest wish, in the order
// channels first changed: a change made before another is in force no
// later than it (what lets a subscriber that sees a later interest at work
// rely on the earlier ones).
type interestSet struct {
	mu      sync.Mutex
	want    map[string]struct{} // channels with local subscribers
	queued  map[string]struct{} // channels in pending
	pending []string            // channels whose wish may differ from the bus, oldest first
}

func newInterestSet() *interestSet {
	return &interestSet{want: make(map[string]struct{}), queued: make(map[string]struct{})}
}

// set records the wish for channel and reports whether it changed (the bus
// goroutine then has work).
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
	if _, ok := s.queued[channel]; !ok {
		s.queued[channel] = struct{}{}
		s.pending = append(s.pending, channel)
	}
	return true
}

// take hands the pending channels to the bus goroutine, oldest first,
// reusing buf. A channel changed again after take is pending anew.
func (s *interestSet) take(buf []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf = append(buf[:0], s.pending...)
	if cap(s.pending) > 4096 {
		s.pending = nil // a burst passed: give its memory back
	} else {
		clear(s.pending)
		s.pending = s.pending[:0]
	}
	clear(s.queued)
	return buf
}

// wanted reports whether channel has local subscribers now.
func (s *interestSet) wanted(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.want[channel]
	return ok
}

// counts returns the number of channels wanted and of channels with a
// change not yet applied.
func (s *interestSet) counts() (wanted, pending int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.want), len(s.pending)
}
