package client

import (
	"encoding/json"
	"sync"
)

// queue is a subscription's delivery (or the client's, for pushes): an
// unbounded FIFO drained by its own goroutine, so the connection's reader
// never waits for a handler.
type queue struct {
	h handlers

	mu    sync.Mutex
	items []any // Message, Event, presenceChange or pushed
	state uint8 // queueRunning, queueFinishing, queueStopped
	wake  chan struct{}
}

const (
	queueRunning   = iota
	queueFinishing // deliver what is queued, then end
	queueStopped   // end now
)

// handlers are what a queue delivers its items to; a nil one drops them.
type handlers struct {
	message     func(Message)
	event       func(Event)
	join, leave func(Member)
	push        func(json.RawMessage)
}

// presenceChange is a join (join true) or a leave, queued.
type presenceChange struct {
	join   bool
	member Member
}

// pushed is a push's data, queued.
type pushed json.RawMessage

func newQueue(h handlers) *queue {
	return &queue{h: h, wake: make(chan struct{}, 1)}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) push(item any) {
	q.mu.Lock()
	if q.state == queueRunning {
		q.items = append(q.items, item)
	}
	q.mu.Unlock()
	q.signal()
}

func (q *queue) finish() {
	q.mu.Lock()
	if q.state == queueRunning {
		q.state = queueFinishing
	}
	q.mu.Unlock()
	q.signal()
}

func (q *queue) stop() {
	q.mu.Lock()
	q.state, q.items = queueStopped, nil
	q.mu.Unlock()
	q.signal()
}

func (q *queue) stopped() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.state == queueStopped
}

// run delivers until the queue is stopped, or finished and empty.
func (q *queue) run() {
	for {
		q.mu.Lock()
		for len(q.items) == 0 && q.state == queueRunning {
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		items, state := q.items, q.state
		q.items = nil
		q.mu.Unlock()
		if state == queueStopped || len(items) == 0 {
			return
		}
		for _, it := range items {
			if q.stopped() {
				return
			}
			q.h.deliver(it)
		}
	}
}

// deliver calls the handler of item's kind, if there is one.
func (h *handlers) deliver(item any) {
	switch it := item.(type) {
	case Message:
		if h.message != nil {
			h.message(it)
		}
	case Event:
		if h.event != nil {
			h.event(it)
		}
	case presenceChange:
		fn := h.leave
		if it.join {
			fn = h.join
		}
		if fn != nil {
			fn(it.member)
		}
	case pushed:
		if h.push != nil {
			h.push(json.RawMessage(it))
		}
	}
}
