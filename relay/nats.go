package relay

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATS relays publications through a NATS server or cluster. It subscribes
// to a channel's subject only while the node has local subscribers
// (Interest), publishes with NoEcho so its own publications, already
// delivered locally, do not come back, and feeds every received message to
// the Handler from one dispatcher goroutine, which keeps NATS's
// per-publisher order.
//
// Its callers never touch nats.go: Publish and Interest record what to do
// and the bus goroutine does it (see the package doc, "Goroutines").
type NATS struct {
	cfg       NATSConfig
	nc        *nats.Conn
	inbox     chan *nats.Msg
	queue     *pubQueue
	interests *interestSet
	drops     dropTally
	hist      *jsHistory // nil: history off
	keys      *keyWindow // idempotency keys of publications without history

	ctl   atomic.Pointer[controlServer] // set by ServeControl (control.go)
	alive liveNodes                     // nodes heard from, for AskAll

	h       Handler     // set by Start, before started
	started atomic.Bool // Start was called

	// State kept up to date by nats.go's callbacks, read by Status, Stats
	// and the bus goroutine.
	status     atomic.Int32 // connState
	epoch      atomic.Int64 // +1 per (re)connection: the bus goroutine refreshes maxPayload
	holdUntil  atomic.Int64 // unix ns: publications held in an outage wait until then (ReplayDelay)
	maxPayload atomic.Int64 // the server's max_payload, 0 until known
	slowSeen   atomic.Bool  // nats.go reported a slow consumer: drops are worth polling
	lossLog    atomic.Bool  // a JetStream loss was logged in the last 10 s

	wake          chan struct{} // cap 1: the bus goroutine has work
	closing       chan struct{} // closed by Close: the bus goroutine flushes and stops
	busDone       chan struct{} // closed by the bus goroutine when it stops
	done          chan struct{} // closed by Close once the bus is done: the dispatcher stops
	closed        atomic.Bool
	closeOnce     sync.Once
	closeDeadline time.Time // set by Close before closing: end of CloseGrace
	dispatcher    sync.WaitGroup

	messagesIn, bytesIn, messagesOut, bytesOut atomic.Int64
	delivered, invalid, refused, lost          atomic.Int64
	reconnects                                 atomic.Int64
}

// connState is the connection's state as the relay last heard it from
// nats.go's callbacks.
type connState = int32

const (
	stateConnecting   connState = iota // never connected yet
	stateConnected                     // connected
	stateReconnecting                  // lost, retrying
	stateClosed                        // closed: no more retries
)

// Status errors, one per state that is not connected.
var (
	errConnecting   = errors.New("NATS connecting")
	errReconnecting = errors.New("NATS reconnecting")
	errConnClosed   = errors.New("NATS closed")
)

// DialNATS connects to NATS. With cfg.Required it waits for the first
// connection and fails if there is none; otherwise it tries once and, if
// NATS is not there, returns a relay that keeps trying in the background
// (Status says "NATS connecting" meanwhile). Later outages are ridden out
// by reconnecting forever. cfg is checked by Validate, every problem at
// once, then completed by WithDefaults.
func DialNATS(cfg NATSConfig) (*NATS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	r := &NATS{
		cfg:       cfg,
		inbox:     make(chan *nats.Msg, cfg.InboxSize),
		queue:     newPubQueue(cfg.PublishBufferMsgs, cfg.PublishBuffer),
		interests: newInterestSet(),
		drops:     dropTally{subs: make(map[*nats.Subscription]struct{})},
		wake:      make(chan struct{}, 1),
		closing:   make(chan struct{}),
		busDone:   make(chan struct{}),
		done:      make(chan struct{}),
		keys:      newKeyWindow(cfg.History.DedupWindow),
		alive:     liveNodes{every: cfg.ControlHeartbeat},
	}
	urls := strings.Join(cfg.URLs, ",")
	opts := append(r.natsOptions(), cfg.Options...)
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		return nil, fmt.Errorf("relay: connect to NATS %s: %w", urls, err)
	}
	r.nc = nc
	if cfg.History.Enabled() {
		js, err := jetstream.New(nc,
			jetstream.WithPublishAsyncMaxPending(maxAsyncPending),
			jetstream.WithPublishAsyncTimeout(asyncAckTimeout),
			jetstream.WithPublishAsyncErrHandler(r.asyncLost))
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("relay: JetStream: %w", err)
		}
		r.hist = newJSHistory(cfg, js)
	}
	if nc.IsConnected() {
		r.maxPayload.Store(nc.MaxPayload())
		// Unless a callback has already reported a newer state.
		r.status.CompareAndSwap(stateConnecting, stateConnected)
	} else {
		cfg.Logger.Warn("NATS unreachable: delivering locally and holding publications until it appears", "urls", urls)
	}
	go r.runBus()
	return r, nil
}

// natsOptions are the relay's own nats.go options; cfg.Options come after
// them and may override them.
func (r *NATS) natsOptions() []nats.Option {
	cfg := r.cfg
	log := cfg.Logger
	var lastReconnectErr string // touched only on nats.go's callback goroutine
	return []nats.Option{
		nats.Name(cfg.Name),
		nats.NoEcho(),
		nats.RetryOnFailedConnect(!cfg.Required),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.ReconnectBufSize(-1), // the relay holds publications itself (queue)
		nats.FlusherTimeout(cfg.WriteTimeout),
		nats.ReconnectOnFlusherError(),
		nats.PingInterval(cfg.PingInterval),
		nats.MaxPingsOutstanding(2),
		nats.ConnectHandler(func(*nats.Conn) {
			lastReconnectErr = ""
			r.up()
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			lastReconnectErr = ""
			r.reconnects.Add(1)
			r.up()
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			r.status.Store(stateReconnecting)
			r.signal()
			if !r.closed.Load() {
				log.Warn("NATS disconnected: delivering locally only, holding publications", "err", err)
			}
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			// One line per outage and per new reason, not per attempt.
			if msg := err.Error(); msg != lastReconnectErr {
				lastReconnectErr = msg
				log.Warn("NATS: cannot connect, retrying", "err", err)
			}
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			r.status.Store(stateClosed)
			r.signal()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				// Once per episode; the messages are counted by dropTally.
				r.slowSeen.Store(true)
				log.Warn("NATS: the node falls behind the bus; messages dropped", "inbox", cfg.InboxSize)
				return
			}
			log.Error("NATS error", "err", err)
		}),
	}
}

// up records a (re)connection. Publications held through the outage wait
// ReplayDelay, so that the other nodes have re-subscribed when they
// arrive. It runs on nats.go's callback goroutine.
func (r *NATS) up() {
	if r.status.Load() == stateConnected {
		return // DialNATS saw this connection first
	}
	if msgs, _ := r.queue.size(); msgs > 0 {
		r.holdUntil.Store(time.Now().Add(r.cfg.ReplayDelay).UnixNano())
	}
	r.epoch.Add(1)
	r.status.Store(stateConnected)
	r.signal()
}

// signal wakes the bus goroutine (it looks at everything when it wakes, so
// one pending signal is enough).
func (r *NATS) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Subject is the NATS subject that carries channel to the nodes.
func (r *NATS) Subject(channel string) string {
	if st := r.streamOf(channel); st != nil {
		return st.live + "." + channel
	}
	return r.cfg.Prefix + "." + channel
}

func (r *NATS) Start(h Handler) error {
	r.h = h
	r.started.Store(true)
	r.dispatcher.Add(1)
	go r.dispatch()
	return nil
}

// Publish delivers data locally and queues it for the other nodes; it never
// waits for NATS. While NATS is unreachable the queue holds it for replay
// after reconnecting. When the queue is full it refuses (ErrQueueFull
// while connected, ErrBufferFull while not) and delivers nothing.
//
// With history, the bus goroutine sends it to JetStream instead, and the
// node delivers it when the stream's live feed brings it back with its
// offset. A key seen within the dedup window is then JetStream's to
// refuse; without history the node remembers keys itself (its own
// publications only).
func (r *NATS) Publish(channel string, data []byte, key string) error {
	if !r.started.Load() {
		return ErrNotStarted
	}
	if max := r.maxPayload.Load(); max > 0 && int64(len(data)) > max {
		r.refused.Add(1)
		return ErrTooLarge
	}
	prefix, id := r.cfg.Prefix, ""
	st := r.streamOf(channel)
	if st != nil {
		prefix, id = st.stored, msgID(channel, key)
	} else if fresh, _ := r.keys.first(channel, key); !fresh {
		return nil
	}
	switch r.queue.push(prefix, channel, data, id) {
	case queueShut:
		r.keys.forget(channel, key)
		return ErrClosed
	case queueFull:
		r.keys.forget(channel, key) // refused: a retry must go through
		r.refused.Add(1)
		if r.status.Load() == stateConnected {
			return ErrQueueFull
		}
		return ErrBufferFull
	}
	r.signal()
	if st == nil {
		// Delivered here and now; with history it comes back from
		// JetStream with its offset, like on every other node.
		r.h.Deliver(channel, Seq{}, data)
	}
	return nil
}

// Interest records that the node wants channel's subject (on) or no longer
// does; the bus goroutine subscribes or unsubscribes. nats.go re-sends
// every live subscription on reconnect.
func (r *NATS) Interest(channel string, on bool) {
	if r.closed.Load() {
		return
	}
	if r.interests.set(channel, on) {
		r.signal()
	}
}

// Status is nil while connected to NATS, from the relay's own state.
func (r *NATS) Status() error {
	switch r.status.Load() {
	case stateConnected:
		return nil
	case stateConnecting:
		return errConnecting
	case stateReconnecting:
		return errReconnecting
	}
	return errConnClosed
}

// Stats reports the relay's counters, from its own state.
func (r *NATS) Stats() Stats {
	msgs, bytes := r.queue.size()
	wanted, pending := r.interests.counts()
	return Stats{
		Kind:             "nats",
		Connected:        r.status.Load() == stateConnected,
		MessagesIn:       r.messagesIn.Load(),
		MessagesOut:      r.messagesOut.Load(),
		BytesIn:          r.bytesIn.Load(),
		BytesOut:         r.bytesOut.Load(),
		Delivered:        r.delivered.Load(),
		Invalid:          r.invalid.Load(),
		Refused:          r.refused.Load(),
		Dropped:          r.drops.total.Load(),
		Lost:             r.lost.Load(),
		BufferedBytes:    int64(bytes),
		BufferedMessages: int64(msgs),
		Reconnects:       r.reconnects.Load(),
		Interests:        int64(wanted),
		InterestsPending: int64(pending),
	}
}

// Close refuses new publications, gives those still waiting CloseGrace to
// reach NATS (the rest are logged and counted as Lost), then closes the
// connection and stops the relay's goroutines. It returns within about
// CloseGrace plus twice WriteTimeout (a write stuck on a stalled socket
// ends by then, and closing flushes once more under the same deadline)
// plus the 200 ms the last flush may wait.
func (r *NATS) Close() error {
	r.closeOnce.Do(func() {
		r.closeDeadline = time.Now().Add(r.cfg.CloseGrace)
		r.closed.Store(true)
		r.queue.shut()
		close(r.closing)
		<-r.busDone
		r.queue.free()
		r.nc.Close()
		close(r.done)
		r.dispatcher.Wait()
		r.drops.poll()
	})
	return nil
}

// Conn is the relay's NATS connection, for the node's other users of the
// bus (presence). They must not close it.
func (r *NATS) Conn() *nats.Conn { return r.nc }
