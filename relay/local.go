package relay

import (
	"errors"
	"sync/atomic"
)

// Handler receives the publications a node must deliver to its local
// subscribers. It is implemented by the gateway.
type Handler interface {
	// Deliver fans data out to the local subscribers of channel. data is
	// only valid during the call. It may run on any goroutine.
	Deliver(channel string, data []byte)
}

// Relay moves publications between nodes. Its methods are safe for
// concurrent use, and Publish, Interest, Status and Stats never wait for
// the bus: they may be called from an event loop and under a lock the
// loops take (the reactor calls Interest under its hub lock).
type Relay interface {
	// Start begins delivering publications to h. It is called once.
	Start(h Handler) error
	// Publish sends data (a JSON value) to every subscriber of channel on
	// every node: it delivers locally (h.Deliver, before it returns) and
	// queues data for the other nodes. data is not retained after Publish
	// returns. An error means the publication went nowhere.
	Publish(channel string, data []byte) error
	// Interest reports that this node gained its first local subscriber of
	// channel (on) or lost its last (off). The relay applies it later, in
	// order; Stats.Interests counts it at once.
	Interest(channel string, on bool)
	// Status describes the relay's health for readiness checks: nil while it
	// can deliver across nodes.
	Status() error
	// Stats reports the relay's counters for metrics.
	Stats() Stats
	// Close stops delivery and releases the relay's resources. It may wait
	// for the bus (a short, bounded grace to send what is queued).
	Close() error
}

// Stats are a relay's counters. Counters only grow; the others are gauges.
type Stats struct {
	Kind             string `json:"kind"`              // "local" or "nats"
	Connected        bool   `json:"connected"`         // the bus is reachable (always true for local)
	MessagesIn       int64  `json:"messages_in"`       // received from the bus by the dispatcher
	MessagesOut      int64  `json:"messages_out"`      // handed to the bus client
	BytesIn          int64  `json:"bytes_in"`          // data bytes of MessagesIn
	BytesOut         int64  `json:"bytes_out"`         // data bytes of MessagesOut
	Delivered        int64  `json:"delivered"`         // bus messages handed to the node
	Invalid          int64  `json:"invalid"`           // bus messages dropped: payload not JSON
	Refused          int64  `json:"refused"`           // publications Publish refused (queue full, too large)
	Dropped          int64  `json:"dropped"`           // bus messages dropped: the node fell behind (one per message)
	Lost             int64  `json:"lost"`              // publications accepted, delivered locally, never sent to the bus
	BufferedBytes    int64  `json:"buffered_bytes"`    // cost of the publications waiting for the bus (gauge)
	BufferedMessages int64  `json:"buffered_messages"` // publications waiting for the bus (gauge)
	Reconnects       int64  `json:"reconnects"`
	Interests        int64  `json:"interests"`         // channels this node wants from the bus (gauge)
	InterestsPending int64  `json:"interests_pending"` // channels whose interest change is not yet applied on the bus (gauge)
}

// ErrNotStarted is returned by Publish before Start.
var ErrNotStarted = errors.New("relay: not started")

// Local is the in-process relay: a single node needs no bus, so Publish
// hands the publication straight back to the node's own Handler. Nothing it
// does waits for anything but that Handler.
type Local struct {
	h atomic.Pointer[Handler]
}

// NewLocal returns the in-process relay.
func NewLocal() *Local { return &Local{} }

func (l *Local) Start(h Handler) error {
	l.h.Store(&h)
	return nil
}

func (l *Local) Publish(channel string, data []byte) error {
	h := l.h.Load()
	if h == nil {
		return ErrNotStarted
	}
	(*h).Deliver(channel, data)
	return nil
}

// Interest is a no-op: there is no bus to subscribe to.
func (l *Local) Interest(string, bool) {}

func (l *Local) Status() error { return nil }

func (l *Local) Stats() Stats { return Stats{Kind: "local", Connected: true} }

func (l *Local) Close() error {
	l.h.Store(nil)
	return nil
}
