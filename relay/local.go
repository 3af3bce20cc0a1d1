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
// concurrent use.
type Relay interface {
	// Start begins delivering publications to h. It is called once.
	Start(h Handler) error
	// Publish sends data (a JSON value) to every subscriber of channel on
	// every node. data is not retained after Publish returns.
	Publish(channel string, data []byte) error
	// Interest reports that this node gained its first local subscriber of
	// channel (on) or lost its last (off).
	Interest(channel string, on bool)
	// Status describes the relay's health for readiness checks: nil while it
	// can deliver across nodes.
	Status() error
	// Stats reports the relay's counters for metrics.
	Stats() Stats
	// Close stops delivery and releases the relay's resources.
	Close() error
}

// Stats are a relay's counters.
type Stats struct {
	Kind          string `json:"kind"`           // "local" or "nats"
	Connected     bool   `json:"connected"`      // the bus is reachable (always true for local)
	MessagesIn    int64  `json:"messages_in"`    // received from the bus
	MessagesOut   int64  `json:"messages_out"`   // sent to the bus
	BytesIn       int64  `json:"bytes_in"`       // received from the bus
	BytesOut      int64  `json:"bytes_out"`      // sent to the bus
	Delivered     int64  `json:"delivered"`      // bus messages handed to the node
	Invalid       int64  `json:"invalid"`        // bus messages dropped: payload not JSON
	Refused       int64  `json:"refused"`        // publications refused (bus down, buffer full)
	Dropped       int64  `json:"dropped"`        // bus messages dropped: the node fell behind
	BufferedBytes int64  `json:"buffered_bytes"` // publications held while the bus is unreachable
	Reconnects    int64  `json:"reconnects"`
	Interests     int64  `json:"interests"` // channels subscribed on the bus
}

// ErrNotStarted is returned by Publish before Start.
var ErrNotStarted = errors.New("relay: not started")

// Local is the in-process relay: a single node needs no bus, so Publish
// hands the publication straight back to the node's own Handler.
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
