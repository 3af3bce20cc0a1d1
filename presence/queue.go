package presence

import "sync"

// queueBlock is the number of events per queue block. Blocks keep the
// queue's slack to one block and are freed as it drains, so an idle store
// holds one block however large its bound.
const queueBlock = 64

// block is a run of queueBlock events in a linked list.
type block struct {
	events [queueBlock]Event
	next   *block
}

// queue is a bounded FIFO of events: the writes waiting for NATS (NATS)
// or the events waiting for the handler (Local). Any goroutine pushes; one
// goroutine takes. Its mutex is held for a few operations, never across
// I/O, and a push never waits: over the bound it refuses.
type queue struct {
	max    int
	signal chan struct{} // has a value when events arrived since the last take

	mu         sync.Mutex
	head, tail *block
	headPos    int // next event to take in head
	tailPos    int // next free slot in tail
	spare      *block
	n          int
	closed     bool
	pushed     uint64 // events ever pushed
	taken      uint64 // events ever taken
	dropped    bool   // a push was refused for want of room since takeRepair
	dropMark   uint64 // pushed when it last was
}

func newQueue(max int) *queue {
	b := &block{}
	return &queue{max: max, signal: make(chan struct{}, 1), head: b, tail: b}
}

// push appends ev and reports whether it fit (false: full or closed).
func (q *queue) push(ev Event) bool {
	q.mu.Lock()
	if q.closed || q.n >= q.max {
		if !q.closed {
			q.dropped, q.dropMark = true, q.pushed
		}
		q.mu.Unlock()
		return false
	}
	if q.tailPos == queueBlock {
		next := q.spare
		if next == nil {
			next = &block{}
		}
		q.spare = nil
		q.tail.next, q.tail, q.tailPos = next, next, 0
	}
	q.tail.events[q.tailPos] = ev
	q.tailPos++
	q.n++
	q.pushed++
	q.mu.Unlock()
	q.wake()
	return true
}

// wake makes the taker look at the queue (and whatever else it serves).
func (q *queue) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take moves up to cap(buf) events from the front of the queue into
// buf[:0] and returns it.
func (q *queue) take(buf []Event) []Event {
	buf = buf[:0]
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n > 0 && len(buf) < cap(buf) {
		if q.headPos == queueBlock {
			old := q.head
			q.head, q.headPos = old.next, 0
			old.next = nil // its slots were cleared as they were taken
			q.spare = old
		}
		ev := &q.head.events[q.headPos]
		buf = append(buf, *ev)
		*ev = Event{}
		q.headPos++
		q.n--
		q.taken++
	}
	if q.n == 0 { // rewind, so an idle queue holds one block
		q.headPos, q.tailPos = 0, 0
		q.tail = q.head
		q.head.next = nil
	}
	return buf
}

// takeRepair reports whether the taker should now repair what refused
// pushes lost, and clears the request. That is once every event pushed
// before the last refused one has been taken: an event of the same member
// queued before the lost one must be applied before the repair, or it
// would undo it (a join applied after the repair, its leave lost).
func (q *queue) takeRepair() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.dropped || q.taken < q.dropMark {
		return false
	}
	q.dropped = false
	return true
}

// len is the number of events waiting.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// close makes every later push refuse.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
