package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Defaults for NATSConfig.
const (
	DefaultSubjectPrefix = "wsgate.ch"
	DefaultPublishBuffer = 8 << 20 // bytes of publications held while NATS is unreachable
	DefaultInboxSize     = 65536   // messages from NATS waiting for the dispatcher
	DefaultReplayDelay   = 2 * time.Second
)

// NATSConfig configures the NATS relay. The zero value (plus URLs) is valid.
type NATSConfig struct {
	// URLs of the NATS servers to join; any one is enough, the client learns
	// the rest of the cluster from it.
	URLs []string
	// Prefix of every subject: channel C travels on "<Prefix>.C". Default
	// "wsgate.ch".
	Prefix string
	// PublishBuffer bounds, in bytes, what this node accepts for publishing
	// while NATS is unreachable; the buffer is flushed on reconnect. Over it,
	// Publish fails with ErrBufferFull. Default 8 MiB.
	PublishBuffer int
	// ReplayDelay is how long after reconnecting the node waits before
	// re-sending the publications it accepted during the outage, so that
	// the other nodes have re-established their subscriptions and receive
	// them. Default 2s (nodes retry every 250ms–1.25s).
	ReplayDelay time.Duration
	// InboxSize bounds the messages received from NATS that wait for the
	// dispatcher; past it NATS drops them (counted as Stats.Dropped).
	// Default 65,536.
	InboxSize int
	// Name identifies this node's connection in NATS monitoring.
	Name string
	// Options are extra nats.go options: credentials (nats.UserCredentials),
	// token (nats.Token), user and password (nats.UserInfo), TLS
	// (nats.RootCAs, nats.ClientCert).
	Options []nats.Option
	// Logger receives connection state changes. Default slog.Default().
	Logger *slog.Logger
}

// Errors of the NATS relay.
var (
	// ErrBufferFull is returned by Publish while NATS is unreachable and
	// the publish buffer is full.
	ErrBufferFull = errors.New("relay: NATS unreachable and the publish buffer is full")
	// ErrTooLarge is returned by Publish for data over the NATS server's
	// max_payload.
	ErrTooLarge = errors.New("relay: publication exceeds the NATS server's max_payload")
	// ErrClosed is returned by Publish after Close.
	ErrClosed = errors.New("relay: closed")
)

// NATS relays publications through a NATS server or cluster. It subscribes
// to a channel's subject only while the node has local subscribers
// (Interest), publishes with NoEcho so its own publications, already
// delivered locally, do not come back, and feeds every received message to
// the Handler from one dispatcher goroutine, which keeps NATS's per-publisher
// order.
type NATS struct {
	cfg   NATSConfig
	nc    *nats.Conn
	inbox chan *nats.Msg
	h     Handler
	done  chan struct{}

	mu   sync.Mutex
	subs map[string]*nats.Subscription

	// Publications accepted while NATS was unreachable, re-sent in order
	// ReplayDelay after reconnecting. While any are held, new publications
	// queue behind them, so each publisher's order survives the outage.
	outMu     sync.Mutex
	held      []heldPublication
	heldBytes int

	delivered, invalid, refused, dropped atomic.Int64
	closed                               atomic.Bool
}

type heldPublication struct {
	subject string
	data    []byte
}

// DialNATS connects to NATS. It waits for the first connection; later
// outages are ridden out by reconnecting forever.
func DialNATS(cfg NATSConfig) (*NATS, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("relay: no NATS URL")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultSubjectPrefix
	}
	if cfg.PublishBuffer <= 0 {
		cfg.PublishBuffer = DefaultPublishBuffer
	}
	if cfg.ReplayDelay <= 0 {
		cfg.ReplayDelay = DefaultReplayDelay
	}
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = DefaultInboxSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &NATS{
		cfg:   cfg,
		inbox: make(chan *nats.Msg, cfg.InboxSize),
		done:  make(chan struct{}),
		subs:  make(map[string]*nats.Subscription),
	}
	log := cfg.Logger
	opts := append([]nats.Option{
		nats.Name(cfg.Name),
		nats.NoEcho(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.ReconnectBufSize(-1), // the relay holds publications itself (see held)
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("NATS disconnected: delivering locally only, buffering publications", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS reconnected: interests restored", "url", nc.ConnectedUrlRedacted())
			go r.replayAfter(r.cfg.ReplayDelay)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				r.dropped.Add(1)
				return
			}
			log.Error("NATS error", "err", err)
		}),
	}, cfg.Options...)
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("relay: connect to NATS %s: %w", strings.Join(cfg.URLs, ","), err)
	}
	r.nc = nc
	return r, nil
}

// Subject is the NATS subject that carries channel.
func (r *NATS) Subject(channel string) string { return r.cfg.Prefix + "." + channel }

func (r *NATS) Start(h Handler) error {
	r.h = h
	go r.dispatch()
	return nil
}

// dispatch hands each message from NATS to the Handler. The payload is the
// publication's JSON data as is; anything that is not JSON is counted and
// dropped rather than passed to clients.
func (r *NATS) dispatch() {
	prefix := len(r.cfg.Prefix) + 1
	for {
		select {
		case <-r.done:
			return
		case m := <-r.inbox:
			if !json.Valid(m.Data) {
				r.invalid.Add(1)
				continue
			}
			r.delivered.Add(1)
			r.h.Deliver(m.Subject[prefix:], m.Data)
		}
	}
}

// Publish sends data to the other nodes and delivers it locally. While
// NATS is unreachable it holds the publication (up to PublishBuffer bytes)
// for replay after reconnecting, and still delivers it locally; past the
// bound it refuses it with ErrBufferFull and delivers nothing.
func (r *NATS) Publish(channel string, data []byte) error {
	if r.h == nil {
		return ErrNotStarted
	}
	if r.closed.Load() {
		return ErrClosed
	}
	if max := r.nc.MaxPayload(); max > 0 && int64(len(data)) > max {
		r.refused.Add(1)
		return ErrTooLarge
	}
	subject := r.Subject(channel)
	r.outMu.Lock()
	err := errHold
	if len(r.held) == 0 && r.nc.Status() == nats.CONNECTED {
		err = r.nc.Publish(subject, data)
	}
	if errors.Is(err, errHold) || errors.Is(err, nats.ErrReconnectBufExceeded) {
		err = r.hold(subject, data)
	}
	r.outMu.Unlock()
	if err != nil {
		r.refused.Add(1)
		return err
	}
	r.h.Deliver(channel, data)
	return nil
}

// errHold marks a publication to be held rather than sent now.
var errHold = errors.New("hold")

// hold keeps a copy of a publication for replay. outMu must be held.
func (r *NATS) hold(subject string, data []byte) error {
	if r.heldBytes+len(data) > r.cfg.PublishBuffer {
		return ErrBufferFull
	}
	r.held = append(r.held, heldPublication{subject, bytes.Clone(data)})
	r.heldBytes += len(data)
	return nil
}

// replayAfter re-sends held publications, in order, delay after a
// reconnect. If NATS goes away again midway, the rest stay held for the
// next reconnect.
func (r *NATS) replayAfter(delay time.Duration) {
	select {
	case <-r.done:
		return
	case <-time.After(delay):
	}
	r.outMu.Lock()
	defer r.outMu.Unlock()
	sent := 0
	for _, p := range r.held {
		err := r.nc.Publish(p.subject, p.data)
		if errors.Is(err, nats.ErrMaxPayload) {
			r.refused.Add(1) // the new server takes less than the old one did
		} else if err != nil {
			break // gone again: keep the rest for the next reconnect
		}
		r.heldBytes -= len(p.data)
		sent++
	}
	r.held = append(r.held[:0], r.held[sent:]...)
	if sent > 0 {
		r.cfg.Logger.Info("NATS: replayed publications held during the outage", "count", sent, "still_held", len(r.held))
	}
}

// Interest subscribes to channel's subject on the first local subscriber
// and unsubscribes after the last. nats.go queues the request while
// disconnected and re-sends every live subscription on reconnect.
func (r *NATS) Interest(channel string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if on {
		if _, ok := r.subs[channel]; ok {
			return
		}
		sub, err := r.nc.ChanSubscribe(r.Subject(channel), r.inbox)
		if err != nil {
			r.cfg.Logger.Error("NATS subscribe", "channel", channel, "err", err)
			return
		}
		r.subs[channel] = sub
		return
	}
	if sub, ok := r.subs[channel]; ok {
		_ = sub.Unsubscribe()
		delete(r.subs, channel)
	}
}

// Status is nil while connected to NATS.
func (r *NATS) Status() error {
	if s := r.nc.Status(); s != nats.CONNECTED {
		return fmt.Errorf("NATS %s", strings.ToLower(s.String()))
	}
	return nil
}

// Stats reports the relay's counters.
func (r *NATS) Stats() Stats {
	ns := r.nc.Stats()
	r.outMu.Lock()
	buffered := r.heldBytes
	r.outMu.Unlock()
	r.mu.Lock()
	interests := len(r.subs)
	r.mu.Unlock()
	return Stats{
		Kind:          "nats",
		Connected:     r.nc.Status() == nats.CONNECTED,
		MessagesIn:    int64(ns.InMsgs),
		MessagesOut:   int64(ns.OutMsgs),
		BytesIn:       int64(ns.InBytes),
		BytesOut:      int64(ns.OutBytes),
		Delivered:     r.delivered.Load(),
		Invalid:       r.invalid.Load(),
		Refused:       r.refused.Load(),
		Dropped:       r.dropped.Load(),
		BufferedBytes: int64(buffered),
		Reconnects:    int64(ns.Reconnects),
		Interests:     int64(interests),
	}
}

// Close drains nothing: in-flight messages are at-most-once anyway.
func (r *NATS) Close() error {
	r.closed.Store(true)
	select {
	case <-r.done:
	default:
		close(r.done)
	}
	r.nc.Close()
	return nil
}
