package relay

import "sync"

// PublicationOverhead is what the publish queue charges each publication
// on top of its subject and data bytes: the queue slot (a string and a
// slice header, 40 bytes), the round-up of the subject's and the data's
// allocations to the Go allocator's size classes, and the queue's spare
// block, amortised. TestNATSQueueChargesRealCost fills the queue with
// small and large publications and fails if the heap grows by more than
// twice the charge (it logs the ratio).
const PublicationOverhead = 64

// queueBlock is the number of publications per queue block. Blocks keep
// the queue's slack to one block (no doubling slice that can hold twice
// what it needs) and are freed as the queue drains.
const queueBlock = 64

// publication is one message waiting for NATS. The queue owns both the
// subject and the data: they are copies, made when Publish accepted it.
type publication struct {
	subject string
	data    []byte
	msgID   string // JetStream's de-duplication ID (stored publications with a key), or ""
}

// cost is what p is charged against the queue's byte bound.
func (p *publication) cost() int {
	return len(p.subject) + len(p.data) + len(p.msgID) + PublicationOverhead
}

// block is a run of queueBlock publications in a linked list.
type block struct {
	pubs [queueBlock]publication
	next *block
}

// pubQueue is the FIFO of publications waiting for NATS: queued for the bus
// goroutine while connected, held while NATS is unreachable (the outage
// buffer). It is bounded in publications and in bytes, each publication
// charged its cost. Publish pushes; the bus goroutine alone reads the front
// and drops what it has sent. Its mutex is held only for these few
// operations, never across I/O.
type pubQueue struct {
	maxMsgs, maxBytes int

	mu         sync.Mutex
	head, tail *block
	headPos    int // next publication to read in head
	tailPos    int // next free slot in tail
	spare      *block
	msgs       int
	bytes      int
	closed     bool // push refuses: the relay is closing
}

func newPubQueue(maxMsgs, maxBytes int) *pubQueue {
	b := &block{}
	return &pubQueue{maxMsgs: maxMsgs, maxBytes: maxBytes, head: b, tail: b}
}

// pushResult says what push did with a publication.
type pushResult int

const (
	pushed    pushResult = iota
	queueFull            // over maxMsgs or maxBytes
	queueShut            // the relay is closing
)

// push copies subject and data into the queue unless that would exceed a
// bound.
func (q *pubQueue) push(prefix, channel string, data []byte, msgID string) pushResult {
	subjectLen := len(prefix) + 1 + len(channel)
	cost := subjectLen + len(data) + len(msgID) + PublicationOverhead
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return queueShut
	case q.msgs+1 > q.maxMsgs || q.bytes+cost > q.maxBytes:
		return queueFull
	}
	if q.tailPos == queueBlock {
		next := q.spare
		if next == nil {
			next = &block{}
		}
		q.spare = nil
		q.tail.next, q.tail, q.tailPos = next, next, 0
	}
	q.tail.pubs[q.tailPos] = publication{
		subject: prefix + "." + channel,
		data:    append([]byte(nil), data...),
		msgID:   msgID,
	}
	q.tailPos++
	q.msgs++
	q.bytes += cost
	return pushed
}

// front appends up to len(buf[:cap]) publications from the front of the
// queue to buf[:0], without removing them. Only the bus goroutine calls it,
// and it alone removes, so they stay at the front until its drop.
func (q *pubQueue) front(buf []publication) []publication {
	buf = buf[:0]
	q.mu.Lock()
	defer q.mu.Unlock()
	b, pos := q.head, q.headPos
	for i := 0; i < q.msgs && len(buf) < cap(buf); i++ {
		if pos == queueBlock {
			b, pos = b.next, 0
		}
		buf = append(buf, b.pubs[pos])
		pos++
	}
	return buf
}

// drop removes the first n publications (sent, or given up on) and returns
// their count and cost.
func (q *pubQueue) drop(n int) (msgs, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for ; n > 0 && q.msgs > 0; n-- {
		if q.headPos == queueBlock {
			old := q.head
			q.head, q.headPos = old.next, 0
			old.next = nil // its slots were cleared as they were dropped
			q.spare = old
		}
		p := &q.head.pubs[q.headPos]
		bytes += p.cost()
		msgs++
		q.msgs--
		q.bytes -= p.cost()
		*p = publication{}
		q.headPos++
	}
	if q.msgs == 0 { // rewind, so an idle queue holds one block
		q.headPos, q.tailPos = 0, 0
		q.tail = q.head
		q.head.next = nil
	}
	return msgs, bytes
}

// size is the number of publications waiting and their cost.
func (q *pubQueue) size() (msgs, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.msgs, q.bytes
}

// shut makes every later push fail: from then on the queue only shrinks.
func (q *pubQueue) shut() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
}
