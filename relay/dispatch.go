package relay

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// dropPoll is how often the dispatcher sums the subscriptions' drop
// counts, once nats.go has reported a slow consumer.
const dropPoll = time.Second

// dispatch hands each message from NATS to the Handler. The payload is the
// publication's JSON data as is; anything that is not JSON is counted and
// dropped rather than passed to clients.
func (r *NATS) dispatch() {
	defer r.dispatcher.Done()
	prefix := len(r.Subject(""))
	tick := time.NewTicker(dropPoll)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-tick.C:
			if r.slowSeen.Load() {
				r.drops.poll()
			}
		case m := <-r.inbox:
			r.messagesIn.Add(1)
			r.bytesIn.Add(int64(len(m.Data)))
			data := m.Data
			if !json.Valid(data) {
				r.invalid.Add(1)
				if r.hist == nil {
					continue
				}
				// A stored publication keeps its place (its offset is
				// someone's prev): its data goes out as null, here and in
				// every replay (Read).
				data = jsonNull
			}
			if r.hist == nil {
				r.delivered.Add(1)
				r.h.Deliver(m.Subject[prefix:], Seq{}, data)
				continue
			}
			seq, ok := liveSeq(m)
			if !ok {
				r.invalid.Add(1)
				continue
			}
			r.delivered.Add(1)
			r.h.Deliver(m.Subject[prefix:], seq, data)
		}
	}
}

// dropTally counts the messages nats.go dropped because the inbox was full
// (each subscription's Dropped), including subscriptions since closed. The
// bus goroutine adds and removes subscriptions; the dispatcher polls; Stats
// reads total.
type dropTally struct {
	mu    sync.Mutex
	subs  map[*nats.Subscription]struct{}
	gone  int64        // dropped by subscriptions already unsubscribed
	total atomic.Int64 // gone plus the live subscriptions' drops, at the last poll
}

func (d *dropTally) add(s *nats.Subscription) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.subs[s] = struct{}{}
}

// remove keeps s's drops before it is unsubscribed (nats.go forgets them
// then). A message dropped between this and the unsubscribe goes uncounted;
// it was for a channel that had just lost its last local subscriber, so
// nobody missed it.
func (d *dropTally) remove(s *nats.Subscription) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n, err := s.Dropped(); err == nil {
		d.gone += int64(n)
	}
	delete(d.subs, s)
}

// poll sums the drops. Dropped takes only the subscription's own lock,
// which nats.go never holds across I/O.
func (d *dropTally) poll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	sum := d.gone
	for s := range d.subs {
		if n, err := s.Dropped(); err == nil {
			sum += int64(n)
		}
	}
	d.total.Store(sum)
}
