package relay

import (
	"container/list"
	"crypto/rand"
	"encoding/base32"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// memHistory is the in-process relay's history: per channel, a ring of the
// last Size publications numbered 1, 2, 3, …, in memory, lost on restart.
//
// Each channel's epoch is the process's random nonce and the channel's
// generation, so a restart, or an eviction that dropped the channel's
// history, gives it a new one. MaxBytes bounds the whole store: past it
// the channels published least recently are evicted whole (never a part of
// one: that would break its offsets' promise).
type memHistory struct {
	cfg   HistoryConfig
	nonce string
	now   func() time.Time

	mu       sync.Mutex // guards everything below, never held across Deliver
	channels map[string]*memChannel
	lru      list.List // of *memChannel, most recently published at the front
	bytes    int64
	gen      uint64
	// appended counts every publication the store has taken. A channel
	// (re)created numbers from it, so an offset is never given out twice
	// in a process, even to a channel evicted and published again: a
	// subscriber holding an old offset sees the new epoch's first
	// publication as a gap (prev above its offset), never as a duplicate.
	appended uint64
}

// memChannel is one channel's history.
type memChannel struct {
	name  string
	size  int           // publications kept (its namespace's)
	ttl   time.Duration // its namespace's
	epoch string
	last  uint64     // offset of the latest publication, 0 before the first
	ring  []memEntry // len Size once full; entries[(head+i)%len] is the i-th oldest
	head  int
	n     int
	bytes int64
	elem  *list.Element

	// order serialises Append and the delivery after it, so every node
	// loop receives the channel's publications in offset order.
	order sync.Mutex
}

type memEntry struct {
	offset uint64
	at     int64 // unix nanos, for TTL
	data   []byte
}

func newMemHistory(cfg HistoryConfig) *memHistory {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return &memHistory{
		cfg:      cfg.WithDefaults(),
		nonce:    base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]),
		now:      time.Now,
		channels: make(map[string]*memChannel),
	}
}

// channel returns channel's history, created empty when missing. Under mu.
// A channel created by a read (a subscriber asking for its position) goes
// to the back of the eviction order, behind every channel with
// publications: names made up by subscribers cannot push out real history.
func (h *memHistory) channel(name string, forRead bool) *memChannel {
	ch := h.channels[name]
	if ch == nil {
		h.gen++
		_, size, ttl := h.cfg.policy(name)
		ch = &memChannel{name: name, size: size, ttl: ttl, epoch: h.nonce + "-" + strconv.FormatUint(h.gen, 36), last: h.appended}
		if forRead {
			ch.elem = h.lru.PushBack(ch)
		} else {
			ch.elem = h.lru.PushFront(ch)
		}
		h.channels[name] = ch
		h.charge(ch, ChannelOverhead+int64(len(name)))
	}
	return ch
}

// charge adds n bytes to ch and the store, evicting the least recently
// published other channels while the store is over its bound.
func (h *memHistory) charge(ch *memChannel, n int64) {
	ch.bytes += n
	h.bytes += n
	for h.bytes > h.cfg.MaxBytes {
		back := h.lru.Back()
		if back.Value.(*memChannel) == ch {
			back = back.Prev() // ch is never its own victim
		}
		if back == nil {
			break // only ch is left: append trims ch itself
		}
		h.evict(back.Value.(*memChannel))
	}
}

func (h *memHistory) evict(ch *memChannel) {
	h.lru.Remove(ch.elem)
	delete(h.channels, ch.name)
	h.bytes -= ch.bytes
}

// append retains data as channel's next publication and returns its place.
// The caller holds ch.order (see lockChannel) until it has delivered it.
func (h *memHistory) append(ch *memChannel, data []byte) (Seq, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.channels[ch.name] != ch {
		h.revive(ch) // evicted since lockChannel: ch holds the order lock, so it stays the channel's
	}
	h.expire(ch)
	if ch.n == len(ch.ring) {
		if len(ch.ring) < ch.size {
			h.grow(ch)
		} else {
			h.dropOldest(ch)
		}
	}
	ch.last++
	h.appended++
	e := memEntry{offset: ch.last, at: h.now().UnixNano(), data: append([]byte(nil), data...)}
	ch.ring[(ch.head+ch.n)%len(ch.ring)] = e
	ch.n++
	h.lru.MoveToFront(ch.elem)
	h.charge(ch, int64(len(data))+EntryOverhead)
	for h.bytes > h.cfg.MaxBytes && ch.n > 1 {
		h.dropOldest(ch)
	}
	return Seq{Offset: ch.last, Prev: ch.last - 1}, ch.epoch
}

// revive puts an evicted channel back, empty and in a new epoch, in place
// of any history created for its name since. Under mu.
func (h *memHistory) revive(ch *memChannel) {
	if other := h.channels[ch.name]; other != nil {
		h.evict(other)
	}
	h.gen++
	ch.epoch = h.nonce + "-" + strconv.FormatUint(h.gen, 36)
	ch.last, ch.ring, ch.head, ch.n, ch.bytes = h.appended, nil, 0, 0, 0 // its old charge went with the eviction
	ch.elem = h.lru.PushFront(ch)
	h.channels[ch.name] = ch
	h.charge(ch, ChannelOverhead+int64(len(ch.name)))
}

// slotBytes is the size of one ring slot, charged for every slot a ring
// has, filled or not.
const slotBytes = int64(unsafe.Sizeof(memEntry{}))

// grow doubles ch's ring (from 4 slots, up to Size), keeping its entries in
// order: a channel pays for the slots it has used, not for Size of them.
// Under mu.
func (h *memHistory) grow(ch *memChannel) {
	size := min(max(2*len(ch.ring), 4), ch.size)
	ring := make([]memEntry, size)
	for i := range ch.n {
		ring[i] = ch.ring[(ch.head+i)%len(ch.ring)]
	}
	h.charge(ch, int64(size-len(ch.ring))*slotBytes)
	ch.ring, ch.head = ring, 0
}

func (h *memHistory) dropOldest(ch *memChannel) {
	old := &ch.ring[ch.head]
	n := int64(len(old.data)) + EntryOverhead
	ch.bytes -= n
	h.bytes -= n
	*old = memEntry{}
	ch.head = (ch.head + 1) % len(ch.ring)
	ch.n--
}

// expire drops ch's publications older than TTL. Under mu.
func (h *memHistory) expire(ch *memChannel) {
	if ch.ttl <= 0 {
		return
	}
	cutoff := h.now().Add(-ch.ttl).UnixNano()
	for ch.n > 0 && ch.ring[ch.head].at < cutoff {
		h.dropOldest(ch)
	}
}

// lockChannel returns channel's history with its order lock held.
func (h *memHistory) lockChannel(name string) *memChannel {
	h.mu.Lock()
	ch := h.channel(name, false)
	h.mu.Unlock()
	ch.order.Lock()
	return ch
}

// read implements Historian.Read for the store.
func (h *memHistory) read(channel string, since *Position, limit, maxBytes int) Page {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.channel(channel, true)
	h.expire(ch)
	p := Page{Position: Position{Offset: ch.last, Epoch: ch.epoch}}
	first := ch.last - uint64(ch.n) + 1 // oldest retained offset (ch.last+1 when none)
	from := first
	if since != nil {
		p.Recovered = since.Epoch == ch.epoch && since.Offset <= ch.last && since.Offset+1 >= first
		if p.Recovered {
			from = since.Offset + 1
		}
	}
	if limit <= 0 {
		return p
	}
	size := 0
	for off := from; off <= ch.last; off++ {
		if len(p.Entries) == limit || len(p.Entries) > 0 && size >= maxBytes {
			p.More = true
			break
		}
		e := &ch.ring[(ch.head+int(off-first))%len(ch.ring)]
		p.Entries = append(p.Entries, Entry{Seq: Seq{Offset: e.offset, Prev: e.offset - 1}, Data: append([]byte(nil), e.data...)})
		size += len(e.data)
	}
	return p
}

// bytesUsed is the store's charged size.
func (h *memHistory) bytesUsed() (bytes, channels int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bytes, int64(len(h.channels))
}
