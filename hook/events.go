package hook

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one asynchronous event, delivered in a batch.
type Event struct {
	Type    string    `json:"type"` // "disconnect", "subscribe" or "unsubscribe"
	Conn    string    `json:"conn"`
	User    string    `json:"user,omitempty"`
	Node    string    `json:"node"`
	Channel string    `json:"channel,omitempty"` // subscribe, unsubscribe
	Code    int       `json:"code,omitempty"`    // disconnect: the close code
	Reason  string    `json:"reason,omitempty"`  // disconnect
	At      time.Time `json:"at"`                // Emit sets it when zero
}

// eventsBody is the JSON of a batch.
type eventsBody struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// events is the queue between Emit (any goroutine) and the batcher (one).
type events struct {
	mu      sync.Mutex
	waiting []Event // emitted, not yet taken by the batcher, oldest first
	sending int     // taken by the batcher, not yet delivered
	closed  bool    // Close was called: Emit drops, the batcher flushes

	wake    chan struct{} // capacity 1: the batcher has work
	dropped chan struct{} // capacity 1: Emit dropped, the batcher may log it
	dropLog every         // rate limit of the dropped-events log
	logged  atomic.Int64  // the EventsDropped total last logged
	failLog every         // rate limit of the failed-batch log
}

func (q *events) init() {
	q.wake = make(chan struct{}, 1)
	q.dropped = make(chan struct{}, 1)
}

func (q *events) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// discard empties the queue once the batcher has ended and returns how
// many events it held.
func (q *events) discard() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.waiting) + q.sending
	q.waiting, q.sending = nil, 0
	return int64(n)
}

// notify posts a token on a capacity-1 channel without waiting: one token
// is as good as many.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Emit queues ev for the batcher and returns at once: it never blocks and
// does no I/O, so an event loop may call it. It returns false, and counts
// the event in Stats.EventsDropped, when QueueSize events are waiting (the
// batch being sent included) or the Client is closed; drops are logged at
// most once per 10 s, with the running total, by the batcher. A zero At
// (or one JSON cannot carry, outside years 0-9999) is set to now, in UTC.
func (c *Client) Emit(ev Event) bool {
	if y := ev.At.Year(); ev.At.IsZero() || y < 0 || y > 9999 {
		ev.At = time.Now().UTC()
	}
	q := &c.events
	limit := c.cfg.QueueSize
	if ev.Type != "disconnect" {
		// Subscribe and unsubscribe events, which clients can make many
		// of, leave a quarter of the queue to disconnect events.
		limit -= c.cfg.QueueSize / 4
	}
	q.mu.Lock()
	if q.closed || len(q.waiting)+q.sending >= limit {
		q.mu.Unlock()
		c.stats.eventsDropped.Add(1)
		notify(q.dropped)
		return false
	}
	q.waiting = append(q.waiting, ev)
	n := len(q.waiting)
	q.mu.Unlock()
	c.stats.eventsQueued.Add(1)
	if n == 1 || n >= c.cfg.BatchSize {
		notify(q.wake)
	}
	return true
}

// batch is the batcher goroutine: it takes a batch, delivers it (retrying
// until it succeeds), and starts over, until Close has been called and the
// queue is empty, or Close gives up.
func (c *Client) batch() {
	defer close(c.batcherDone)
	var batch []Event
	for {
		clear(batch)
		batch = c.collect(batch[:0])
		if len(batch) == 0 || !c.deliver(batch) {
			return
		}
	}
}

// collect waits for events and takes up to BatchSize of them, oldest
// first: as soon as BatchSize are waiting, once BatchWait has passed since
// it saw the first, or at once after Close. It returns an empty batch when
// Close was called and nothing is waiting.
func (c *Client) collect(batch []Event) []Event {
	q := &c.events
	var timer *time.Timer
	var expired <-chan time.Time // nil until the first event: blocks
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	waited := false
	for {
		q.mu.Lock()
		n, closed := len(q.waiting), q.closed
		if n >= c.cfg.BatchSize || (n > 0 && (closed || waited)) {
			m := min(n, c.cfg.BatchSize)
			batch = append(batch, q.waiting[:m]...)
			clear(q.waiting[:m])
			q.waiting = q.waiting[m:]
			q.sending = m
			q.mu.Unlock()
			return batch
		}
		q.mu.Unlock()
		if closed {
			return batch
		}
		if n > 0 && timer == nil {
			timer = time.NewTimer(c.cfg.BatchWait)
			expired = timer.C
		}
		select {
		case <-q.wake:
		case <-expired:
			waited = true
		case <-c.closing:
		case <-q.dropped:
			c.logDrops()
		}
	}
}

// deliver POSTs one batch until the backend answers 2xx, waiting between
// attempts with exponential backoff and full jitter. It reports false when
// Close gave up first; the batch then stays counted in the queue, for
// Close to count as dropped.
func (c *Client) deliver(batch []Event) bool {
	body, err := json.Marshal(eventsBody{Type: eventEvents, Events: batch})
	if err != nil { // cannot happen: Emit keeps At within JSON's years
		c.cfg.Logger.Error("hook: batch cannot be encoded, dropped", "events", len(batch), "err", err)
		c.stats.eventsDropped.Add(int64(len(batch)))
		c.settle()
		return true
	}
	backoff := c.cfg.RetryMin
	for failures := 0; ; failures++ {
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.EventTimeout)
		_, err := c.post(ctx, eventEvents, body, false)
		cancel()
		if err == nil {
			c.settle()
			c.stats.eventsSent.Add(int64(len(batch)))
			if failures > 0 {
				c.cfg.Logger.Info("hook: events delivered again", "failed_attempts", failures)
			}
			return true
		}
		if c.ctx.Err() != nil {
			return false
		}
		c.stats.batchRetries.Add(1)
		if c.events.failLog.allow(time.Now(), logPeriod) {
			c.cfg.Logger.Warn("hook: events batch failed, retrying", "err", err, "events", len(batch), "attempt", failures+1, "queue", c.Stats().Queue)
		}
		if !c.sleep(rand.N(backoff)) {
			return false
		}
		backoff = min(2*backoff, c.cfg.RetryMax)
	}
}

// settle marks the batch being sent as done with.
func (c *Client) settle() {
	c.events.mu.Lock()
	c.events.sending = 0
	c.events.mu.Unlock()
}

// sleep waits d, or until Close gives up (false), logging drops meanwhile.
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-c.ctx.Done():
			return false
		case <-c.events.dropped:
			c.logDrops()
		}
	}
}

// logDrops logs the running total of dropped events, at most once per
// logPeriod. Only the batcher calls it: Emit must not do I/O.
func (c *Client) logDrops() {
	if c.events.dropLog.allow(time.Now(), logPeriod) {
		total := c.stats.eventsDropped.Load()
		c.events.logged.Store(total)
		c.cfg.Logger.Warn("hook: event queue full, events dropped", "dropped_total", total, "queue_size", c.cfg.QueueSize)
	}
}
