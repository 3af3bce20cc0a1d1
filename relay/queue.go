package relay

import (
	"encoding/binary"
	"math"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PublicationOverhead is what the publish queue charges each publication
// on top of its subject and data bytes. The queue stores a publication as
// a 12-byte header and its bytes in memory mapped outside the Go heap, so
// the charge covers it with room for the unwritten tail of its chunk.
// TestNATSQueueChargesRealCost checks that filling the queue costs no more
// than the charge; e2e's TestBusOutageBufferRSS checks a node's RSS.
const PublicationOverhead = 64

const (
	// entryHeader is the stored lengths of a publication's subject, data
	// and message ID.
	entryHeader = 12
	// chunkSize is the size of the queue's memory mappings; a publication
	// larger than that gets a mapping of its own.
	chunkSize = 256 << 10
)

// publication is one message waiting for NATS. Those front returns view the
// queue's memory: they are valid until the bus goroutine drops them, and
// whatever keeps them longer (JetStream's asynchronous publish) must copy.
type publication struct {
	subject string
	data    []byte
	msgID   string // JetStream's de-duplication ID (stored publications with a key), or ""
}

// cost is what a publication is charged against the queue's byte bound.
func cost(subjectLen, dataLen, msgIDLen int) int {
	return subjectLen + dataLen + msgIDLen + PublicationOverhead
}

// chunk is one anonymous memory mapping holding publications back to back,
// each a header and its bytes. Pages the queue never writes are never
// resident, so the tail a publication did not fit in costs nothing.
type chunk struct {
	mem  []byte
	end  int // bytes written
	next *chunk
}

// pubQueue is the FIFO of publications waiting for NATS: queued for the bus
// goroutine while connected, held while NATS is unreachable (the outage
// buffer). It is bounded in publications and in bytes, each publication
// charged its cost.
//
// The publications live in memory mapped outside the Go heap. A buffer
// full during an outage then costs the node what it holds, not twice that:
// the collector lets the heap grow to twice what is live before it
// collects, and the held publications would count as live.
//
// Publish pushes (a copy of subject and data); the bus goroutine alone
// reads the front and drops what it has sent, and drop alone unmaps. The
// mutex is held only for these few operations, never across I/O.
type pubQueue struct {
	maxMsgs, maxBytes int

	mu         sync.Mutex
	head, tail *chunk // nil until the first push
	headPos    int    // next publication to read in head
	spare      *chunk // a drained chunk kept for the next, so steady traffic maps nothing
	msgs       int
	bytes      int
	closed     bool // push refuses: the relay is closing
}

func newPubQueue(maxMsgs, maxBytes int) *pubQueue {
	return &pubQueue{maxMsgs: maxMsgs, maxBytes: maxBytes}
}

// pushResult says what push did with a publication.
type pushResult int

const (
	pushed    pushResult = iota
	queueFull            // over maxMsgs or maxBytes, or no memory to map
	queueShut            // the relay is closing
)

// push copies subject (prefix "." channel), data and msgID into the queue
// unless that would exceed a bound.
func (q *pubQueue) push(prefix, channel string, data []byte, msgID string) pushResult {
	subjectLen := len(prefix) + 1 + len(channel)
	size := entryHeader + subjectLen + len(data) + len(msgID)
	charge := cost(subjectLen, len(data), len(msgID))
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return queueShut
	case q.msgs+1 > q.maxMsgs || q.bytes+charge > q.maxBytes || size > math.MaxUint32:
		return queueFull
	}
	if q.tail == nil || len(q.tail.mem)-q.tail.end < size {
		c := q.spare
		if c == nil || len(c.mem) < size {
			var err error
			if c, err = mapChunk(size); err != nil {
				return queueFull
			}
		} else {
			q.spare = nil
		}
		if q.tail == nil {
			q.head, q.headPos = c, 0
		} else {
			q.tail.next = c
		}
		q.tail = c
	}
	b := q.tail.mem[q.tail.end : q.tail.end+size]
	binary.LittleEndian.PutUint32(b, uint32(subjectLen))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(data)))
	binary.LittleEndian.PutUint32(b[8:], uint32(len(msgID)))
	n := entryHeader + copy(b[entryHeader:], prefix)
	b[n] = '.'
	n += 1 + copy(b[n+1:], channel)
	n += copy(b[n:], data)
	copy(b[n:], msgID)
	q.tail.end += size
	q.msgs++
	q.bytes += charge
	return pushed
}

// mapChunk maps a chunk of chunkSize bytes, or more for a publication of
// size bytes that would not fit.
func mapChunk(size int) (*chunk, error) {
	n := chunkSize
	if size > n {
		page := unix.Getpagesize()
		n = (size + page - 1) / page * page
	}
	mem, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, err
	}
	return &chunk{mem: mem}, nil
}

// decode reads the publication at b's start and returns it with its size.
func decode(b []byte) (p publication, size int) {
	subjectLen := int(binary.LittleEndian.Uint32(b))
	dataLen := int(binary.LittleEndian.Uint32(b[4:]))
	msgIDLen := int(binary.LittleEndian.Uint32(b[8:]))
	b = b[entryHeader:]
	p.subject = view(b[:subjectLen])
	p.data = b[subjectLen : subjectLen+dataLen : subjectLen+dataLen]
	p.msgID = view(b[subjectLen+dataLen : subjectLen+dataLen+msgIDLen])
	return p, entryHeader + subjectLen + dataLen + msgIDLen
}

// view is b as a string without a copy; the queue's memory does not change
// while a publication is at the front.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// front appends up to cap(buf) publications from the front of the queue to
// buf[:0], without removing them. Only the bus goroutine calls it, and it
// alone removes, so they stay at the front, and their memory mapped, until
// its drop.
func (q *pubQueue) front(buf []publication) []publication {
	buf = buf[:0]
	q.mu.Lock()
	defer q.mu.Unlock()
	c, pos := q.head, q.headPos
	for i := 0; i < q.msgs && len(buf) < cap(buf); i++ {
		if pos == c.end {
			c, pos = c.next, 0
		}
		p, size := decode(c.mem[pos:])
		buf = append(buf, p)
		pos += size
	}
	return buf
}

// drop removes the first n publications (sent, or given up on) and returns
// their count and cost.
func (q *pubQueue) drop(n int) (msgs, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for ; n > 0 && q.msgs > 0; n-- {
		if q.headPos == q.head.end {
			old := q.head
			q.head, q.headPos = old.next, 0
			q.retire(old)
		}
		p, size := decode(q.head.mem[q.headPos:])
		charge := cost(len(p.subject), len(p.data), len(p.msgID))
		bytes += charge
		msgs++
		q.msgs--
		q.bytes -= charge
		q.headPos += size
	}
	if q.msgs == 0 && q.head != nil { // rewind, so an idle queue holds one chunk
		for c := q.head.next; c != nil; {
			next := c.next
			q.retire(c)
			c = next
		}
		q.head.next, q.head.end, q.headPos = nil, 0, 0
		q.tail = q.head
		if len(q.head.mem) != chunkSize { // a large publication's own: not kept idle
			q.retire(q.head)
			q.head, q.tail = nil, nil
		}
	}
	return msgs, bytes
}

// retire keeps a drained chunk of the usual size as the spare, if there is
// none, and unmaps it otherwise. The caller unlinks it.
func (q *pubQueue) retire(c *chunk) {
	if q.spare == nil && len(c.mem) == chunkSize {
		c.next, c.end = nil, 0
		q.spare = c
		return
	}
	_ = unix.Munmap(c.mem)
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

// free unmaps the queue's memory, dropping what it still holds. It runs
// once the bus goroutine has finished (nothing reads the front any more)
// and the queue is shut (nothing pushes).
func (q *pubQueue) free() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for c := q.head; c != nil; {
		next := c.next
		_ = unix.Munmap(c.mem)
		c = next
	}
	if q.spare != nil {
		_ = unix.Munmap(q.spare.mem)
	}
	q.head, q.tail, q.spare, q.headPos, q.msgs, q.bytes = nil, nil, nil, 0, 0, 0
}
