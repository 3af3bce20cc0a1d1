package relay

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// dropPoll is how often the dispatcher sums the subscriptions' drop
// counts, once nats.go has reported a slow consumer.
const dropPoll = time.Second

// dispatch hands each message from NATS to the Handler. The payload is the
// publication's JSON data as is. A message of a channel without history
// that is not JSON is counted and dropped rather than passed to clients;
// one of a channel with history keeps its place (its offset is another's
// prev) and goes out as null, as every replay gives it (Read).
func (r *NATS) dispatch() {
	defer r.dispatcher.Done()
	core := r.cfg.Prefix + "."
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
			data, valid := m.Data, json.Valid(m.Data)
			if !valid {
				r.invalid.Add(1)
			}
			if strings.HasPrefix(m.Subject, core) {
				if valid {
					r.delivered.Add(1)
					r.h.Deliver(m.Subject[len(core):], Seq{}, data)
				}
				continue
			}
			channel, live := r.liveChannel(m.Subject)
			seq, ok := liveSeq(m)
			if !live || !ok {
				if valid {
					r.invalid.Add(1)
				}
				continue
			}
			if !valid {
				data = jsonNull
			}
			r.delivered.Add(1)
			r.h.Deliver(channel, seq, data)
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
