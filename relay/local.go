package relay

import (
	"context"
	"errors"
	"sync/atomic"
)

// Handler receives the publications a node must deliver to its local
// subscribers. It is implemented by the gateway.
type Handler interface {
	// Deliver fans data out to the local subscribers of channel; seq is
	// its place in the channel's history (zero without history). data is
	// only valid during the call. It may run on any goroutine; the
	// publications of a channel with history arrive in offset order.
	Deliver(channel string, seq Seq, data []byte)
}

// Relay moves publications between nodes. Its methods are safe for
// concurrent use, and Publish, Interest, Status and Stats never wait for
// the bus: they may be called from an event loop and under a lock the
// loops take (the reactor calls Interest under its hub lock).
type Relay interface {
	Historian
	Control
	// Start begins delivering publications to h. It is called once.
	Start(h Handler) error
	// Publish sends data (a JSON value) to every subscriber of channel on
	// every node: it delivers locally (h.Deliver, before it returns) and
	// queues data for the other nodes. data is not retained after Publish
	// returns. An error means the publication went nowhere.
	//
	// key, when not empty, is the publisher's idempotency key: a key seen
	// for channel within the dedup window publishes nothing (and is no
	// error).
	Publish(channel string, data []byte, key string) error
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
// Each field is named once: its json tag is its key in the admin API's
// /api/stats, its metric and help tags its Prometheus series in /metrics
// (metric:"-" for a field that is not one).
type Stats struct {
	Kind             string `json:"kind" metric:"-"` // "local" or "nats": a name, shown in /api/stats only
	Connected        bool   `json:"connected" metric:"wsgate_relay_connected,gauge" help:"1 while the relay reaches its bus (always 1 for the in-process relay)."`
	MessagesIn       int64  `json:"messages_in" metric:"wsgate_relay_messages_in_total,counter" help:"Messages received from the bus."` // by the dispatcher
	MessagesOut      int64  `json:"messages_out" metric:"wsgate_relay_messages_out_total,counter" help:"Messages sent to the bus."`     // handed to the bus client
	BytesIn          int64  `json:"bytes_in" metric:"wsgate_relay_bytes_in_total,counter" help:"Bytes received from the bus."`          // data bytes of MessagesIn
	BytesOut         int64  `json:"bytes_out" metric:"wsgate_relay_bytes_out_total,counter" help:"Bytes sent to the bus."`              // data bytes of MessagesOut
	Delivered        int64  `json:"delivered" metric:"wsgate_relay_delivered_total,counter" help:"Bus messages handed to the node for delivery to its subscribers."`
	Invalid          int64  `json:"invalid" metric:"wsgate_relay_invalid_total,counter" help:"Bus messages dropped because the payload is not JSON."`
	Refused          int64  `json:"refused" metric:"wsgate_relay_refused_total,counter" help:"Publications refused: the publish buffer was full (bus slow or unreachable) or the data too large for the bus."`
	Dropped          int64  `json:"dropped" metric:"wsgate_relay_dropped_total,counter" help:"Bus messages dropped because the node fell behind, one per message."`
	Lost             int64  `json:"lost" metric:"wsgate_relay_lost_total,counter" help:"Publications accepted and delivered locally but never sent to the bus (still waiting when the node closed, or refused by a smaller max_payload)."`
	BufferedBytes    int64  `json:"buffered_bytes" metric:"wsgate_relay_buffered_bytes,gauge" help:"Publications waiting for the bus (queued, or held while it is unreachable), at their charged cost: subject + data + 64 bytes each."`
	BufferedMessages int64  `json:"buffered_messages" metric:"wsgate_relay_buffered_messages,gauge" help:"Publications waiting for the bus."`
	Reconnects       int64  `json:"reconnects" metric:"wsgate_relay_reconnects_total,counter" help:"Reconnections to the bus."`
	HistoryBytes     int64  `json:"history_bytes" metric:"wsgate_relay_history_bytes,gauge" help:"Bytes of history kept in memory by the in-process relay, at their charged cost."`
	HistoryChannels  int64  `json:"history_channels" metric:"wsgate_relay_history_channels,gauge" help:"Channels with history kept in memory by the in-process relay."`
	Interests        int64  `json:"interests" metric:"wsgate_relay_interests,gauge" help:"Channels this node wants from the bus."`
	InterestsPending int64  `json:"interests_pending" metric:"wsgate_relay_interests_pending,gauge" help:"Channels whose interest change is not yet applied on the bus."`
}

// ErrNotStarted is returned by Publish before Start.
var ErrNotStarted = errors.New("relay: not started")

// Local is the in-process relay: a single node needs no bus, so Publish
// hands the publication straight back to the node's own Handler. With
// history on, it keeps it in memory (memHistory). Nothing it does waits for
// anything but that Handler.
type Local struct {
	h    atomic.Pointer[Handler]
	ctl  atomic.Pointer[controlServer] // set by ServeControl (control.go)
	hist *memHistory                   // nil: history off
	keys *keyWindow
}

// NewLocal returns the in-process relay without history.
func NewLocal() *Local { return NewLocalHistory(HistoryConfig{}) }

// NewLocalHistory returns the in-process relay keeping the history cfg
// asks for (none when no channel keeps any: cfg.Enabled).
func NewLocalHistory(cfg HistoryConfig) *Local {
	cfg = cfg.WithDefaults()
	l := &Local{keys: newKeyWindow(cfg.DedupWindow)}
	if cfg.Enabled() {
		l.hist = newMemHistory(cfg)
	}
	return l
}

func (l *Local) Start(h Handler) error {
	l.h.Store(&h)
	return nil
}

// Publish delivers data to the node's subscribers, after retaining it when
// the channel keeps history. A key seen for channel within the dedup
// window publishes nothing.
func (l *Local) Publish(channel string, data []byte, key string) error {
	_, err := l.publish(channel, data, key)
	return err
}

func (l *Local) publish(channel string, data []byte, key string) (Position, error) {
	h := l.h.Load()
	if h == nil {
		return Position{}, ErrNotStarted
	}
	if fresh, offset := l.keys.first(channel, key); !fresh {
		if !l.Retains(channel) {
			return Position{}, nil
		}
		// The first publication's offset, in the channel's epoch now.
		return Position{Offset: offset, Epoch: l.hist.read(channel, nil, 0, 0).Position.Epoch}, nil
	}
	if !l.Retains(channel) {
		(*h).Deliver(channel, Seq{}, data)
		return Position{}, nil
	}
	ch := l.hist.lockChannel(channel)
	defer ch.order.Unlock()
	seq, epoch := l.hist.append(ch, data)
	l.keys.record(channel, key, seq.Offset)
	(*h).Deliver(channel, seq, data)
	return Position{Offset: seq.Offset, Epoch: epoch}, nil
}

// Retains reports whether channel keeps history (its namespace's size, or
// the default's, is not 0).
func (l *Local) Retains(channel string) bool {
	if l.hist == nil {
		return false
	}
	_, size, _ := l.hist.cfg.policy(channel)
	return size > 0
}

func (l *Local) Read(_ context.Context, channel string, since *Position, limit, maxBytes int) (Page, error) {
	if !l.Retains(channel) {
		return Page{}, ErrNoHistory
	}
	return l.hist.read(channel, since, limit, maxBytes), nil
}

// Store is Publish, which never waits, returning the position.
func (l *Local) Store(_ context.Context, channel string, data []byte, key string) (Position, error) {
	return l.publish(channel, data, key)
}

// Interest is a no-op: there is no bus to subscribe to.
func (l *Local) Interest(string, bool) {}

func (l *Local) Status() error { return nil }

func (l *Local) Stats() Stats {
	st := Stats{Kind: "local", Connected: true}
	if l.hist != nil {
		st.HistoryBytes, st.HistoryChannels = l.hist.bytesUsed()
	}
	return st
}

func (l *Local) Close() error {
	l.h.Store(nil)
	return nil
}
