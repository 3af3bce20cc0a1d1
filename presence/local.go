package presence

import (
	"context"
	"sync"
	"time"
)

// listYield is how many members List scans between two releases of the
// lock (about 30 µs).
const listYield = 1024

// Local is the in-memory Store of a single node: Join and Leave change the
// member sets at once (List sees them when they return), and the events of
// watched channels wait in a queue (DefaultQueueSize events; over it they
// are dropped and counted) for one dispatcher goroutine, which calls the
// handler in order.
type Local struct {
	mu       sync.RWMutex
	channels map[string]map[string]Member // channel → conn → member
	members  int                          // members of every channel
	watched  map[string]struct{}
	started  bool
	closed   bool

	events *queue // events for the dispatcher, pushed under mu
	stop   chan struct{}
	done   chan struct{} // closed when the dispatcher ends
	stats  counters
}

var _ Store = (*Local)(nil)

// NewLocal returns an empty Local store. Its dispatcher starts with Start.
func NewLocal() *Local { return newLocal(DefaultQueueSize) }

func newLocal(queueSize int) *Local {
	return &Local{
		channels: make(map[string]map[string]Member),
		watched:  make(map[string]struct{}),
		events:   newQueue(queueSize),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// Start starts the dispatcher, which calls h for each event of a watched
// channel, one at a time, in the order of the Join and Leave calls.
func (l *Local) Start(h func(Event)) error {
	if h == nil {
		return ErrNoHandler
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return ErrClosed
	case l.started:
		return ErrStarted
	}
	l.started = true
	go l.dispatch(h)
	return nil
}

// Join adds m to channel and, when channel is watched, queues its event.
func (l *Local) Join(channel string, m Member) {
	if !validChannel(channel) || !validMember(m) {
		l.stats.errors.Add(1)
		return
	}
	if m.Joined.IsZero() {
		m.Joined = time.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	set := l.channels[channel]
	if set == nil {
		set = make(map[string]Member)
		l.channels[channel] = set
	}
	if _, ok := set[m.Conn]; ok {
		return
	}
	set[m.Conn] = m
	l.members++
	l.stats.joins.Add(1)
	l.notify(Event{Channel: channel, Join: true, Member: m})
}

// Leave removes m.Conn from channel and, when channel is watched, queues
// its event with the member as it joined.
func (l *Local) Leave(channel string, m Member) {
	l.mu.Lock()
	defer l.mu.Unlock()
	set := l.channels[channel]
	joined, ok := set[m.Conn]
	if !ok || l.closed {
		return
	}
	delete(set, m.Conn)
	if len(set) == 0 {
		delete(l.channels, channel)
	}
	l.members--
	l.stats.leaves.Add(1)
	l.notify(Event{Channel: channel, Join: false, Member: joined})
}

// notify queues ev for the dispatcher if its channel is watched. l.mu must
// be held, so events are queued in the order of the changes.
func (l *Local) notify(ev Event) {
	if _, ok := l.watched[ev.Channel]; !ok || !l.started {
		return
	}
	if !l.events.push(ev) {
		l.stats.dropped.Add(1)
	}
}

// Watch makes the changes of channel produce events from now on.
func (l *Local) Watch(channel string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watched[channel] = struct{}{}
}

// Unwatch stops the events of channel. Events already queued are still
// delivered.
func (l *Local) Unwatch(channel string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.watched, channel)
}

// List returns a page of channel's members. It scans the whole channel
// (about 30 ns a member) under a read lock that it lets go every
// listYield members, so a Join or Leave waits for at most that many
// members' scan; a member joining or leaving during the scan may or may
// not be listed.
func (l *Local) List(ctx context.Context, channel string, after string, limit int) (Page, error) {
	if err := checkList(ctx, channel, limit); err != nil {
		return Page{}, err
	}
	b := newPageBuilder(after, limit)
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return Page{}, ErrClosed
	}
	scanned := 0
	for conn, m := range l.channels[channel] {
		if b.wants(conn) {
			b.add(m)
		}
		if scanned++; scanned%listYield == 0 {
			// Let a waiting Join or Leave in. "If a map entry that has not
			// yet been reached is removed during iteration, the
			// corresponding iteration value will not be produced. If a map
			// entry is created during iteration, that entry may be produced
			// during the iteration or may be skipped." (The Go spec, For
			// statements with range clause.) The lock orders the changes
			// with the loop's steps, as if the loop body made them.
			l.mu.RUnlock()
			l.mu.RLock()
			if l.closed {
				return Page{}, ErrClosed
			}
		}
	}
	return b.page(), nil
}

// Count returns the number of members of channel.
func (l *Local) Count(ctx context.Context, channel string) (int, error) {
	if err := checkList(ctx, channel, 1); err != nil {
		return 0, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return 0, ErrClosed
	}
	return len(l.channels[channel]), nil
}

// Stats reports the counters, the members, the watched channels and the
// events waiting for the dispatcher.
func (l *Local) Stats() Stats {
	s := l.stats.snapshot()
	l.mu.RLock()
	s.Members, s.Watches = int64(l.members), int64(len(l.watched))
	l.mu.RUnlock()
	s.Queued = int64(l.events.len())
	return s
}

// Close forgets every member, drops the events not yet delivered and waits
// for the dispatcher (and so for a handler call in progress) to end.
func (l *Local) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	started := l.started
	l.channels, l.members = nil, 0
	l.events.close()
	l.mu.Unlock()
	close(l.stop)
	if started {
		<-l.done
	}
	return nil
}

// checkList checks List's and Count's arguments and ctx.
func checkList(ctx context.Context, channel string, limit int) error {
	switch {
	case !validChannel(channel):
		return ErrChannel
	case limit < 1 || limit > MaxLimit:
		return ErrLimit
	}
	return ctx.Err()
}
