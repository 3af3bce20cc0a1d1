package client

// tracker is one channel's resume state, the client's rules of
// docs/history.md ("The client's rules") as a pure state machine: no
// socket, no lock, no clock. The client holds one per subscription, under
// its mutex, and acts on what the methods return.
type tracker struct {
	history bool   // the channel keeps history: its last ack carried a position
	last    uint64 // L: the offset of the last publication delivered (or the ack's)
	epoch   string // E: the epoch L belongs to; "" before the first position
	waiting bool   // a subscribe is in flight: the channel's messages are ignored until its ack
}

// verdict is what to do with a message.
type verdict uint8

const (
	deliver     verdict = iota // hand it to the subscriber
	ignore                     // drop it: sent before the pending subscribe's ack, whose replay has it
	resubscribe                // drop it and subscribe again with since (a gap, or a new epoch)
)

// since is the position to resume after: nil before the channel's first
// position (subscribe without since).
func (t *tracker) since() *Position {
	if t.epoch == "" {
		return nil
	}
	return &Position{Offset: t.last, Epoch: t.epoch}
}

// position is the current position (zero before the first).
func (t *tracker) position() Position { return Position{Offset: t.last, Epoch: t.epoch} }

// subscribing records that a subscribe is sent: the channel's messages are
// ignored until its ack.
func (t *tracker) subscribing() { t.waiting = true }

// message judges a publication: has reports whether it carried an offset
// (a channel with history), offset and prev its numbers.
//
//	waiting                 → ignore (the replay after the ack has it)
//	offset ≤ L or prev > L  → resubscribe with since {L, E}: a duplicate or
//	                          a new epoch, or publications were missed
//	else                    → deliver, L = offset
//
// A channel without history (no position in its ack), or a message
// without offset, is delivered as it comes: nothing can be checked.
func (t *tracker) message(has bool, offset, prev uint64) verdict {
	switch {
	case t.waiting:
		return ignore
	case !t.history || !has:
		return deliver
	case offset <= t.last || prev > t.last:
		t.waiting = true
		return resubscribe
	}
	t.last = offset
	return deliver
}

// ack applies the answer to the pending subscribe. epoch is "" for a
// channel without history (a plain {"type":"ack","id":N}); recovered is nil
// when no since was sent. It reports whether publications may have been
// lost (recovered:false): the position then jumps to the ack's.
func (t *tracker) ack(offset uint64, epoch string, recovered *bool) (lost bool) {
	t.waiting = false
	if epoch == "" {
		// No history (any more): nothing to resume from.
		t.history, t.last, t.epoch = false, 0, ""
		return false
	}
	t.history = true
	if recovered == nil || !*recovered {
		t.last = offset
	}
	t.epoch = epoch
	return recovered != nil && !*recovered
}

// unasked applies an ack without id, sent by the server while the
// subscription replays or joins the live feed: the history it was to
// replay could not be given whole, the position becomes the ack's. While a
// subscribe is pending it is ignored: it concerns the subscription that
// subscribe replaces, and the pending subscribe's own ack says whether
// anything after L was lost. It reports whether it was applied.
func (t *tracker) unasked(offset uint64, epoch string) bool {
	if t.waiting || epoch == "" {
		return false
	}
	t.history, t.last, t.epoch = true, offset, epoch
	return true
}

// dropped judges a "dropped" notice (slow policy drop): offset is the last
// offset before the gap, has false when the notice carried none (it
// leaves out 0). It reports whether to resubscribe with since now rather
// than wait for the channel's next message to show the gap: when the gap
// starts at or after L and no subscribe is pending. A gap that starts
// before L was already seen and repaired.
func (t *tracker) dropped(has bool, offset uint64) bool {
	if t.waiting || !t.history {
		return false
	}
	if !has {
		offset = 0
	}
	if offset >= t.last {
		t.waiting = true
		return true
	}
	return false
}

// reset forgets the position: the next subscribe goes without since.
func (t *tracker) reset() { t.history, t.last, t.epoch = false, 0, "" }
