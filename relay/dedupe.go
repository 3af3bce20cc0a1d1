package relay

import (
	"sync"
	"time"
)

// keyWindow remembers the idempotency keys of recent publications, per
// channel, for a window, so a publisher's retry is not published twice.
// It holds at most MaxDedupKeys: past that the oldest are forgotten before
// their window ends (a flood of keys shortens the window; it cannot grow
// the node).
type keyWindow struct {
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	seen  map[string]keySeen // channel + "\x00" + key
	order []string           // seen's keys, oldest first from head
	head  int
}

// keySeen is when a key was first seen and the offset its publication got
// (0 when unknown or without history).
type keySeen struct {
	at     int64 // unix nanos
	offset uint64
}

func newKeyWindow(window time.Duration) *keyWindow {
	return &keyWindow{window: window, now: time.Now, seen: make(map[string]keySeen)}
}

// first reports whether key is new for channel within the window, and
// remembers it; for a key seen before it also returns the offset recorded
// with it. An empty key is always new.
func (w *keyWindow) first(channel, key string) (bool, uint64) {
	if key == "" {
		return true, 0
	}
	k := channel + "\x00" + key
	now := w.now().UnixNano()
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.head < len(w.order) {
		old := w.order[w.head]
		if s, ok := w.seen[old]; ok && now-s.at < int64(w.window) && len(w.order)-w.head < MaxDedupKeys {
			break
		}
		delete(w.seen, old)
		w.order[w.head] = ""
		w.head++
	}
	if w.head > 1024 && w.head > len(w.order)/2 {
		w.order = append(w.order[:0], w.order[w.head:]...)
		w.head = 0
	}
	if s, ok := w.seen[k]; ok {
		return false, s.offset
	}
	w.seen[k] = keySeen{at: now}
	w.order = append(w.order, k)
	return true, 0
}

// record sets the offset key's publication got.
func (w *keyWindow) record(channel, key string, offset uint64) {
	if key == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	k := channel + "\x00" + key
	if s, ok := w.seen[k]; ok {
		s.offset = offset
		w.seen[k] = s
	}
}

// forget drops key: its publication was refused, so a retry must go
// through. Its place in order is reclaimed when it reaches the head.
func (w *keyWindow) forget(channel, key string) {
	if key == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.seen, channel+"\x00"+key)
}
