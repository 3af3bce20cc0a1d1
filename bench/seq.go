package bench

// seqWindow is how far back, in sequence numbers, a receiver remembers
// exactly which messages it has seen. A message older than that is counted
// as late (out of order) and assumed not to be a duplicate.
const seqWindow = 64

// seqOutcome classifies one received sequence number.
type seqOutcome uint8

const (
	seqInOrder   seqOutcome = iota // the next one, or later (a gap may be filled later)
	seqLate                        // below the highest seen and not seen before: out of order
	seqDuplicate                   // seen before
	seqInvalid                     // 0: senders number from 1
)

// seqTrack follows one publisher's sequence numbers as one subscriber
// receives them, in 24 bytes: the first and highest numbers seen, how many
// distinct numbers arrived, and a bitmap of the seqWindow numbers up to the
// highest. Lost messages are counted at the end, as the numbers expected in
// a range minus the distinct numbers received (seqTrack.lost).
type seqTrack struct {
	first  uint32 // first number received; 0: nothing yet
	high   uint32 // highest number received
	unique uint32 // distinct numbers received
	seen   uint64 // bit i set: high-i was received
}

// observe records sequence number s.
func (t *seqTrack) observe(s uint32) seqOutcome {
	switch {
	case s == 0:
		return seqInvalid
	case t.first == 0:
		t.first, t.high, t.unique, t.seen = s, s, 1, 1
		return seqInOrder
	case s > t.high:
		shift := s - t.high
		if shift >= seqWindow {
			t.seen = 0
		} else {
			t.seen <<= shift
		}
		t.seen |= 1
		t.high = s
		t.unique++
		return seqInOrder
	}
	t.first = min(t.first, s)
	back := t.high - s
	if back >= seqWindow {
		t.unique++
		return seqLate
	}
	bit := uint64(1) << back
	if t.seen&bit != 0 {
		return seqDuplicate
	}
	t.seen |= bit
	t.unique++
	return seqLate
}

// lost is the number of messages numbered from..to (inclusive) that never
// arrived, assuming numbers outside the window were not duplicates.
func (t *seqTrack) lost(from, to uint32) uint64 {
	if to < from {
		return 0
	}
	want := uint64(to-from) + 1
	got := uint64(t.unique)
	if got >= want {
		return 0
	}
	return want - got
}
