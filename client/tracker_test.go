package client

import (
	"slices"
	"testing"
)

// stream is a fake server feeding one subscription: it numbers
// publications like the JetStream store (offsets with holes, prev the
// channel's previous offset) and answers a resume the way the server does:
// an ack, then every retained publication after since.
type stream struct {
	pubs  []uint64 // offsets of the channel's publications, increasing
	epoch string
}

func (s *stream) prev(i int) uint64 {
	if i == 0 {
		return 0
	}
	return s.pubs[i-1]
}

// TestTrackerGapRepairDeliversEachOnceInOrder: a subscriber that misses
// publications (they never reach it), sees one twice, or gets messages
// sent before its resubscription's ack ends with every publication once,
// in offset order, following the tracker's verdicts alone.
func TestTrackerGapRepairDeliversEachOnceInOrder(t *testing.T) {
	s := &stream{epoch: "e1"}
	for o := uint64(3); len(s.pubs) < 40; o += 1 + o%3 { // holes: other channels' offsets
		s.pubs = append(s.pubs, o)
	}
	var tr tracker
	var got []uint64
	resubscribes := 0
	// The first subscribe: no since; the ack's offset is the position
	// before the first publication.
	tr.subscribing()
	if lost := tr.ack(2, s.epoch, nil); lost || tr.since() == nil || *tr.since() != (Position{2, "e1"}) {
		t.Fatalf("first ack: lost %v, since %v", lost, tr.since())
	}
	live := func(i int) verdict {
		v := tr.message(true, s.pubs[i], s.prev(i))
		if v == deliver {
			got = append(got, s.pubs[i])
		}
		return v
	}
	// resume answers the pending resubscription as the server does: an
	// ack, recovered, then the retained publications after since up to
	// index upTo (where the live feed takes over).
	resume := func(upTo int) {
		resubscribes++
		since := tr.since()
		if since == nil || since.Epoch != s.epoch {
			t.Fatalf("resume without a position: %v", since)
		}
		tru := true
		// A message of the old subscription, sent before the ack, is ignored.
		if v := tr.message(true, since.Offset+100, since.Offset+99); v != ignore {
			t.Fatalf("message while waiting: %v, want ignore", v)
		}
		if lost := tr.ack(s.pubs[upTo], s.epoch, &tru); lost {
			t.Fatal("recovered ack reported a loss")
		}
		for i := 0; i <= upTo; i++ {
			if s.pubs[i] > since.Offset {
				if v := live(i); v != deliver {
					t.Fatalf("replayed %d: %v", s.pubs[i], v)
				}
			}
		}
	}
	for i := 0; i < 10; i++ {
		if v := live(i); v != deliver {
			t.Fatalf("publication %d: %v", i, v)
		}
	}
	// Publications 10..14 are lost; 15 shows the gap.
	if v := live(15); v != resubscribe {
		t.Fatalf("gap: %v, want resubscribe", v)
	}
	if v := live(16); v != ignore {
		t.Fatalf("after the gap, before the ack: %v, want ignore", v)
	}
	resume(20) // replays 10..20
	// A duplicate (the live feed repeating what the replay gave).
	if v := live(20); v != resubscribe {
		t.Fatalf("duplicate: %v, want resubscribe", v)
	}
	resume(20) // nothing after 20 yet: the live feed goes on
	for i := 21; i < len(s.pubs); i++ {
		if v := live(i); v != deliver {
			t.Fatalf("live %d after the repairs: %v", i, v)
		}
	}
	if !slices.Equal(got, s.pubs) {
		t.Fatalf("delivered %v\nwant      %v", got, s.pubs)
	}
	if resubscribes != 2 {
		t.Fatalf("%d resubscriptions, want 2", resubscribes)
	}
}

// TestTrackerAcks: the position follows the acks as docs/history.md says:
// recovered:true keeps L, recovered:false or no since takes the ack's
// offset; an ack without a position is a channel without history; an
// unasked ack moves the position unless a subscribe is pending.
func TestTrackerAcks(t *testing.T) {
	tru, fal := true, false
	var tr tracker
	tr.subscribing()
	if tr.ack(0, "", nil) || tr.history || tr.since() != nil {
		t.Fatalf("ack without position: %+v", tr)
	}
	if v := tr.message(false, 0, 0); v != deliver {
		t.Fatalf("message of a channel without history: %v", v)
	}
	tr.subscribing()
	tr.ack(10, "e1", nil)
	if tr.last != 10 || tr.epoch != "e1" || tr.waiting {
		t.Fatalf("first ack: %+v", tr)
	}
	tr.message(true, 11, 10)
	tr.subscribing()
	if lost := tr.ack(50, "e1", &tru); lost || tr.last != 11 {
		t.Fatalf("recovered: lost %v, %+v (L must stay 11: the replay follows)", lost, tr)
	}
	tr.subscribing()
	if lost := tr.ack(70, "e2", &fal); !lost || tr.last != 70 || tr.epoch != "e2" {
		t.Fatalf("not recovered: lost %v, %+v", lost, tr)
	}
	// Unasked ack: applied when nothing is pending...
	if !tr.unasked(90, "e3") || tr.last != 90 || tr.epoch != "e3" {
		t.Fatalf("unasked: %+v", tr)
	}
	// ...ignored while a subscribe is pending (its own ack decides).
	tr.subscribing()
	if tr.unasked(95, "e4") || tr.last != 90 {
		t.Fatalf("unasked while waiting: %+v", tr)
	}
	// A new epoch under a live subscription: offsets restart, offset <= L.
	tr.ack(90, "e3", &tru)
	if v := tr.message(true, 5, 4); v != resubscribe {
		t.Fatalf("offsets restarted: %v, want resubscribe", v)
	}
}

// TestTrackerDropped: a dropped notice resumes at once when the gap starts
// at or after L, not when it was already repaired, nor while waiting, nor
// without history.
func TestTrackerDropped(t *testing.T) {
	var tr tracker
	if tr.dropped(true, 5) {
		t.Fatal("no history: nothing to resume")
	}
	tr.ack(10, "e", nil)
	if tr.dropped(true, 9) {
		t.Fatal("a gap before L was seen already")
	}
	if !tr.dropped(true, 10) || !tr.waiting {
		t.Fatal("a gap right after L: resume")
	}
	if tr.dropped(true, 12) {
		t.Fatal("while waiting: the pending subscribe covers it")
	}
	// A notice without offset: the gap starts at 0 (nothing before it).
	tr.ack(20, "e", nil)
	if tr.dropped(false, 0) {
		t.Fatal("a notice without offset, L 20: the gap was already seen")
	}
	tr.ack(0, "e", nil)
	if !tr.dropped(false, 0) {
		t.Fatal("a notice without offset, L 0: resume")
	}
}
