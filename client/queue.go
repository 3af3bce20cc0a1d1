package client

import (
	"sync"
)

// queue is a subscription's delivery: an unbounded FIFO drained by the
// subscription's goroutine, so the connection's reader never waits for a
// handler.
type queue struct {
	handler func(Message)
	onEvent func(Event)

	mu    sync.Mutex
	items []any // Message or Event
	state uint8 // queueRunning, queueFinishing, queueStopped
	wake  chan struct{}
}

const (
	queueRunning   = iota
	queueFinishing // deliver what is queued, then end
	queueStopped   // end now
)

func newQueue(handler func(Message), onEvent func(Event)) *queue {
	return &queue{handler: handler, onEvent: onEvent, wake: make(chan struct{}, 1)}
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
			switch it := it.(type) {
			case Message:
				q.handler(it)
			case Event:
				if q.onEvent != nil {
					q.onEvent(it)
				}
			}
		}
	}
}
