package reactor

import (
	"math/bits"
	"sync/atomic"
)

// wheel is a per-loop hierarchical timing wheel. Each connection is in at
// most one list, linked through its own prev/next fields, and keyed by the
// tick of its next deadline (conn.at). Ticks are grouped in blocks of
// fineSlots:
//   - fine: a slot per tick of the current block; every connection in a
//     slot is due when its tick comes;
//   - coarse: a slot per block for the next coarseSlots-1 blocks, poured
//     into fine when its block begins;
//   - far: deadlines further still, poured (and placed again) once per
//     coarseSlots blocks.
//
// Scheduling and removal are O(1), a tick visits only the connections due
// then, and a connection waiting long is moved once per block at most.
// Occupancy bitmaps give the next tick with anything to do (wake), so the
// engine's ticker wakes a loop only when a timer is due: an idle loop
// costs nothing per tick.
//
// It is touched only by its loop, except wake, which the ticker reads.
type wheel struct {
	fine       [fineSlots]*conn
	coarse     [coarseSlots]*conn
	far        *conn
	fineUsed   [fineSlots / 64]uint64 // bit i: fine[i] is not empty
	coarseUsed uint64                 // bit i: coarse[i] is not empty
	now        uint32                 // ticks since the loop's wheel started
	next       uint32                 // the loop's copy of wake
	// lowered, if set, is called when wake moves earlier between ticks.
	lowered func()
	// wake is the earliest tick at which the wheel has work: a fine slot
	// due, or a coarse or far list to pour. The ticker skips the loop
	// before it.
	wake atomic.Uint32
}

const (
	fineBits    = 9
	fineSlots   = 1 << fineBits
	coarseSlots = 64
	blockMask   = 1<<(32-fineBits) - 1 // blocks are numbered modulo 2^23
	// never is how far ahead wake is put when the wheel is empty.
	never = 1 << 30
)

func block(t uint32) uint32 { return t >> fineBits }

// due reports whether tick at has come, robust to wrap-around.
func (w *wheel) due(at uint32) bool { return int32(at-w.now) <= 0 }

// schedule (re)places c to fire at tick at, or at the next tick if at has
// passed.
func (w *wheel) schedule(c *conn, at uint32) {
	w.remove(c)
	if w.due(at) {
		at = w.now + 1
	}
	c.at = at
	w.place(c)
}

// place links c into the list for c.at, which lies after now.
func (w *wheel) place(c *conn) {
	ahead := (block(c.at) - block(w.now)) & blockMask
	switch {
	case ahead == 0:
		i := c.at & (fineSlots - 1)
		push(&w.fine[i], c)
		w.fineUsed[i/64] |= 1 << (i % 64)
		w.lower(c.at)
	case ahead < coarseSlots:
		b := block(c.at)
		i := b % coarseSlots
		push(&w.coarse[i], c)
		w.coarseUsed |= 1 << i
		w.lower(b << fineBits)
	default:
		push(&w.far, c)
		w.lower(w.nextFarPour())
	}
}

func push(head **conn, c *conn) {
	c.next, c.prev = *head, nil
	if c.next != nil {
		c.next.prev = c
	}
	*head = c
}

// lower brings wake forward to tick t if t comes first.
func (w *wheel) lower(t uint32) {
	if int32(t-w.next) < 0 {
		w.next = t
		w.wake.Store(t)
		if w.lowered != nil {
			w.lowered()
		}
	}
}

// nextFarPour is the tick at which the far list is next poured: the start
// of the next block that is a multiple of coarseSlots.
func (w *wheel) nextFarPour() uint32 {
	return (block(w.now)/coarseSlots + 1) * coarseSlots << fineBits
}

// remove unlinks c from whichever list it is in, if any: it has a
// predecessor, or heads the list of its deadline (a flag would cost the
// connection a byte it does not have).
func (w *wheel) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
		if c.next != nil {
			c.next.prev = c.prev
		}
		c.prev, c.next = nil, nil
		return
	}
	if i := c.at % fineSlots; w.fine[i] == c {
		w.fine[i] = c.next
		if c.next == nil {
			w.fineUsed[i/64] &^= 1 << (i % 64)
		}
	} else if i := block(c.at) % coarseSlots; w.coarse[i] == c {
		w.coarse[i] = c.next
		if c.next == nil {
			w.coarseUsed &^= 1 << i
		}
	} else if w.far == c {
		w.far = c.next
	} else {
		return
	}
	if c.next != nil {
		c.next.prev = nil
	}
	c.next = nil
}

// empty reports whether no connection is scheduled.
func (w *wheel) empty() bool {
	for _, used := range w.fineUsed {
		if used != 0 {
			return false
		}
	}
	return w.coarseUsed == 0 && w.far == nil
}

// advance moves to the next tick and calls fire for each connection due
// then; fire must reschedule or forget it. A block's start first pours the
// block's coarse list (and, every coarseSlots blocks, the far list) into
// place.
func (w *wheel) advance(fire func(*conn)) {
	w.now++
	if w.now%fineSlots == 0 {
		b := block(w.now)
		if b%coarseSlots == 0 {
			w.pour(&w.far)
		}
		i := b % coarseSlots
		w.coarseUsed &^= 1 << i
		w.pour(&w.coarse[i])
	}
	i := w.now % fineSlots
	c := w.fine[i]
	w.fine[i] = nil
	w.fineUsed[i/64] &^= 1 << (i % 64)
	for c != nil {
		next := c.next
		c.prev, c.next = nil, nil
		if w.due(c.at) {
			fire(c)
		} else {
			w.place(c) // defensive: fine holds only the current block
		}
		c = next
	}
}

// pour empties the list at head and places each connection again.
func (w *wheel) pour(head **conn) {
	c := *head
	*head = nil
	for c != nil {
		next := c.next
		c.prev, c.next = nil, nil
		w.place(c)
		c = next
	}
}

// settle recomputes wake after the loop's tick: the next fine slot in use
// in this block, else the earlier of the start of the next block with a
// coarse list and the far list's next pour.
func (w *wheel) settle() {
	w.next = w.now + never
	if i := w.now%fineSlots + 1; i < fineSlots {
		for word := i / 64; word < uint32(len(w.fineUsed)); word++ {
			used := w.fineUsed[word]
			if word == i/64 {
				used &= ^uint64(0) << (i % 64)
			}
			if used != 0 {
				w.next = w.now&^(fineSlots-1) | word*64 + uint32(bits.TrailingZeros64(used))
				w.wake.Store(w.next)
				return
			}
		}
	}
	nb := block(w.now)
	// coarse slot nb%coarseSlots was poured when this block began: look
	// at the slots after it, in block order.
	if used := bits.RotateLeft64(w.coarseUsed, -int((nb+1)%coarseSlots)); used != 0 {
		w.next = (nb + 1 + uint32(bits.TrailingZeros64(used))) << fineBits
	}
	if far := w.nextFarPour(); w.far != nil && int32(far-w.next) < 0 {
		w.next = far
	}
	w.wake.Store(w.next)
}

// each calls fn for every scheduled connection; fn may remove it.
func (w *wheel) each(fn func(*conn)) {
	visit := func(head *conn) {
		for c := head; c != nil; {
			next := c.next
			fn(c)
			c = next
		}
	}
	for _, head := range w.fine {
		visit(head)
	}
	for _, head := range w.coarse {
		visit(head)
	}
	visit(w.far)
}
