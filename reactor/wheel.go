package reactor

// wheel is a per-loop hashed timing wheel. Each connection is in exactly one
// slot, linked through its own prev/next fields, keyed by the tick of its next
// deadline; scheduling and removal are O(1), and a tick visits only the
// connections in its slot. A deadline further away than one revolution is
// simply visited early and put back. It is touched only by its loop.
type wheel struct {
	slots []*conn // heads of doubly linked lists; len is a power of two
	now   uint32  // ticks since the loop's wheel started
}

const wheelSlots = 512

func newWheel() wheel { return wheel{slots: make([]*conn, wheelSlots)} }

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
	slot := &w.slots[at&(wheelSlots-1)]
	c.next, c.prev = *slot, nil
	if c.next != nil {
		c.next.prev = c
	}
	*slot = c
}

// linked reports whether c is in a slot: it has a predecessor or heads its
// slot (a flag would cost the connection a byte it does not have).
func (w *wheel) linked(c *conn) bool {
	return c.prev != nil || w.slots[c.at&(wheelSlots-1)] == c
}

func (w *wheel) remove(c *conn) {
	if !w.linked(c) {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		w.slots[c.at&(wheelSlots-1)] = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	c.prev, c.next = nil, nil
}

// advance moves to the next tick and calls fire for each connection whose
// deadline has come; fire must reschedule or forget it. Connections in the
// slot whose deadline lies a revolution or more ahead are put back.
func (w *wheel) advance(fire func(*conn)) {
	w.now++
	slot := &w.slots[w.now&(wheelSlots-1)]
	c := *slot
	*slot = nil
	for c != nil {
		next := c.next
		c.prev, c.next = nil, nil
		if w.due(c.at) {
			fire(c)
		} else {
			w.schedule(c, c.at)
		}
		c = next
	}
}

// each calls fn for every scheduled connection; fn may remove it.
func (w *wheel) each(fn func(*conn)) {
	for _, head := range w.slots {
		for c := head; c != nil; {
			next := c.next
			fn(c)
			c = next
		}
	}
}
