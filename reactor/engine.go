package reactor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/relay"
)

// Engine is a running gateway node: gnet event loops plus the state the
// reactor keeps for them. Create it with New, then Start; Drain or Shutdown
// ends it. Its methods are safe to call from any goroutine.
type Engine struct {
	cfg  Config
	tick time.Duration
	hub  *hub

	gnet     gnet.Engine
	addr     net.Addr
	booted   chan struct{}
	ran      chan struct{} // closed when gnet.Run has returned, with runErr
	runErr   error
	stopTick chan struct{}
	// kickTick wakes the ticker early: a loop's wheel has a timer due
	// before tickerAt (epoch nanos), when the ticker means to wake next.
	kickTick chan struct{}
	tickerAt atomic.Int64
	// epoch is the origin of the engine's "epoch nanos": offsets on the
	// monotonic clock, which a step of the wall clock does not move.
	epoch    time.Time
	draining atomic.Bool
	stopped  atomic.Bool

	mu    sync.Mutex              // serialises adding to loops
	loops atomic.Pointer[[]*loop] // copy-on-write: read lock-free

	upgrade         atomic.Int64 // upgraded connections counted against MaxConns
	connsPerIP      *addrCounts  // upgraded connections per peer key; nil without MaxConnsPerIP
	handshakes      atomic.Int64 // sockets in their handshake, counted against MaxHandshakes
	handshakesPerIP *addrCounts  // nil without MaxHandshakesPerIP

	origins  originPolicy
	hosts    hostPolicy
	limits   rateLimits
	ipLimits *ipLimiter // nil when HandshakeRatePerIP is off

	lastTokenRefusal atomic.Pointer[string] // why the last token was refused, for the ticker's report

	history *historyPool // reads of channel history, off the loops; set by Start

	ids   *connIDs // connection IDs (identity.go)
	users users    // connections by user, for the control API

	watches watches // loops with presence watchers, by channel (presence.go)

	stats engineStats
}

// New checks cfg and returns an engine that is not yet listening.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	origins, _ := newOriginPolicy(cfg.AllowedOrigins) // checked by Validate
	hosts, _ := newHostPolicy(cfg.AllowedHosts)
	e := &Engine{
		cfg:             cfg,
		origins:         origins,
		hosts:           hosts,
		ipLimits:        newIPLimiter(cfg.HandshakeRatePerIP, cfg.HandshakeBurstPerIP, cfg.MaxRateLimitIPs),
		tick:            cfg.tick(),
		hub:             newHub(cfg.Relay, cfg.Loops, cfg.MaxChannels),
		booted:          make(chan struct{}),
		ran:             make(chan struct{}),
		stopTick:        make(chan struct{}),
		kickTick:        make(chan struct{}, 1),
		epoch:           time.Now(),
		connsPerIP:      newAddrCounts(cfg.MaxConnsPerIP),
		handshakesPerIP: newAddrCounts(cfg.MaxHandshakesPerIP),
		ids:             newConnIDs(cfg.NodeID),
	}
	e.limits = newRateLimits(&cfg, e.tick)
	e.loops.Store(&[]*loop{})
	return e, nil
}

// Start binds the listener, starts the relay and the event loops, and
// returns once they accept connections (or with the error that prevented
// it).
func (e *Engine) Start() error {
	if err := e.cfg.Relay.Start(e); err != nil {
		return fmt.Errorf("reactor: start relay: %w", err)
	}
	e.history = newHistoryPool(e.cfg.Relay)
	if e.cfg.Presence != nil {
		if err := e.cfg.Presence.Start(e.presenceEvent); err != nil {
			return e.failStart(fmt.Errorf("reactor: start presence: %w", err))
		}
	}
	listen, release, err := e.prepareListen()
	if err != nil {
		return e.failStart(fmt.Errorf("reactor: listen on %s: %w", e.cfg.Listen, err))
	}
	defer release()
	h := &handler{eng: e}
	go func() {
		defer close(e.ran)
		err := gnet.Run(h, "tcp://"+listen,
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(e.cfg.Loops),
			gnet.WithReusePort(!e.cfg.SingleListener),
			// A restarted node binds past its predecessor's TIME_WAIT sockets.
			gnet.WithReuseAddr(true),
			gnet.WithLogger(gnetLogger{e.cfg.Logger, e.acceptFailed}),
		)
		if err == nil && !e.stopped.Load() {
			// gnet returns nil when a failed accept stopped its loops:
			// say why from what its logger reported.
			err = e.lastAcceptError()
		}
		e.runErr = err
	}()
	select {
	case <-e.booted:
	case <-e.ran:
		return e.failStart(fmt.Errorf("reactor: listen on %s: %w", listen, e.runErr))
	}
	// gnet boots before it opens the loops' pollers and, per loop, their
	// listeners: a failure there (out of descriptors) ends gnet.Run after
	// Start has returned. Done reports it, Ready turns false.
	go func() {
		<-e.ran
		if !e.stopped.Load() {
			e.cfg.Logger.Error("event loops stopped", "err", e.runErr)
		}
	}()
	addr, err := listenerAddr(e.gnet)
	if err != nil {
		return err
	}
	e.addr = addr
	go e.runTicker()
	e.cfg.Logger.Info("listening", "addr", addr.String(), "loops", e.cfg.Loops,
		"echo", e.cfg.Echo == EchoOn, "max_conns", e.cfg.MaxConns, "ping_interval", e.cfg.PingInterval,
		"auth", e.cfg.AuthMode())
	return nil
}

// failStart undoes a Start that failed: the relay is closed and the engine
// counts as stopped, so a later Shutdown does not touch gnet.
func (e *Engine) failStart(err error) error {
	e.stopped.Store(true)
	e.history.close()
	e.closePresence()
	_ = e.cfg.Relay.Close()
	return err
}

// Addr is the bound listener address (useful with port 0). Valid after Start.
func (e *Engine) Addr() net.Addr { return e.addr }

// Config returns the configuration in force, defaults applied.
func (e *Engine) Config() Config { return e.cfg }

// Ready reports nil while the node accepts connections, or why not. A relay
// outage does not make a node unready: it still serves its own clients, and
// failing every node's readiness at once would take the whole fleet out of
// the load balancer. RelayStatus reports the relay separately.
func (e *Engine) Ready() error {
	if e.draining.Load() {
		return errors.New("draining")
	}
	select {
	case <-e.ran:
		return fmt.Errorf("event loops stopped: %v", e.runErr)
	default:
	}
	return nil
}

// Done is closed when the event loops have stopped: after Drain or
// Shutdown, or on their own when they failed to start (Err says why).
func (e *Engine) Done() <-chan struct{} { return e.ran }

// Err is why the event loops stopped, once Done is closed; nil after a
// clean stop.
func (e *Engine) Err() error {
	select {
	case <-e.ran:
		return e.runErr
	default:
		return nil
	}
}

// RelayStatus is nil while the relay can deliver across nodes, else why
// not (the node is degraded: local delivery only).
func (e *Engine) RelayStatus() error { return e.cfg.Relay.Status() }

// RelayStats returns the relay's counters.
func (e *Engine) RelayStats() relay.Stats { return e.cfg.Relay.Stats() }

// Publish sends data (a JSON value) to every subscriber of channel on every
// node, through the relay, without waiting for the bus.
func (e *Engine) Publish(channel string, data []byte) error {
	return e.publish(channel, data, "", sourceAPI)
}

// Store publishes like Publish and returns once the relay has the
// publication: for a channel with history, once it is retained, with its
// position. key is the publisher's idempotency key ("" for none): a retry
// with the same key within the dedup window is not published twice. It is
// how the admin API publishes; it may wait for the bus, up to ctx.
func (e *Engine) Store(ctx context.Context, channel string, data []byte, key string) (relay.Position, error) {
	pos, err := e.cfg.Relay.Store(ctx, channel, data, key)
	if err != nil {
		e.stats.publishErrors.Add(1)
		return pos, err
	}
	e.stats.publishes[sourceAPI].Add(1)
	return pos, nil
}

// Retains reports whether channel keeps history.
func (e *Engine) Retains(channel string) bool { return e.cfg.Relay.Retains(channel) }

// History reads channel's retained publications (see relay.Historian.Read).
func (e *Engine) History(ctx context.Context, channel string, since *relay.Position, limit, maxBytes int) (relay.Page, error) {
	return e.cfg.Relay.Read(ctx, channel, since, limit, maxBytes)
}

// publish is a client's publication: it never waits for the bus.
func (e *Engine) publish(channel string, data []byte, key string, src publishSource) error {
	if err := e.cfg.Relay.Publish(channel, data, key); err != nil {
		e.stats.publishErrors.Add(1)
		return err
	}
	e.stats.publishes[src].Add(1)
	return nil
}

// Drain takes the node out of service gracefully: Ready turns false, new
// connections are refused with 503, and every open connection gets close
// 1001 at a random moment within the drain window, its reason suggesting a
// random reconnect delay ("draining; retry-after-ms=N"). It returns once
// all connections are gone or ctx ends, then stops the node like Shutdown.
func (e *Engine) Drain(ctx context.Context) error {
	if e.draining.Swap(true) {
		return errors.New("reactor: already draining")
	}
	e.cfg.Logger.Info("draining", "window", e.cfg.DrainWindow, "connections", e.stats.conns.Load())
	for _, l := range *e.loops.Load() {
		_ = l.el.Execute(ctx, gnet.RunnableFunc(func(context.Context) error {
			l.drain(e.cfg.DrainWindow)
			return nil
		}))
	}
	e.waitConns(ctx)
	return e.stop(ctx)
}

// Shutdown refuses new connections, sends close 1001 to every open
// connection at once, waits until they have closed or ctx ends, then stops
// the loops. Connections left when ctx ends are closed without waiting.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.draining.Store(true)
	return e.stop(ctx)
}

func (e *Engine) stop(ctx context.Context) error {
	if e.stopped.Swap(true) {
		return errors.New("reactor: already stopped")
	}
	for _, l := range *e.loops.Load() {
		_ = l.el.Execute(ctx, gnet.RunnableFunc(func(context.Context) error {
			l.goAway()
			return nil
		}))
	}
	e.waitConns(ctx)
	close(e.stopTick)
	var err error
	select {
	case <-e.ran: // the loops failed on their own: nothing to stop
		err = e.runErr
	default:
		stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err = e.gnet.Stop(stopCtx); err == nil {
			<-e.ran
			err = e.runErr
		}
	}
	e.history.close()
	// Presence before the relay: its leaves and its removal of this
	// node's members may travel on the relay's bus connection.
	e.closePresence()
	if rerr := e.cfg.Relay.Close(); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("reactor: stop: %w", err)
	}
	return nil
}

// waitConns polls until no connection is left or ctx ends.
func (e *Engine) waitConns(ctx context.Context) {
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for e.stats.conns.Load() > 0 && ctx.Err() == nil {
		select {
		case <-poll.C:
		case <-ctx.Done():
		}
	}
}

// loopFor returns the reactor state of gnet loop el, creating it the first
// time a connection lands there. Runs on el.
func (e *Engine) loopFor(el gnet.EventLoop) *loop {
	for _, l := range *e.loops.Load() {
		if l.el == el {
			return l
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old := *e.loops.Load()
	l := newLoop(el, e, len(old))
	loops := append(append(make([]*loop, 0, len(old)+1), old...), l)
	e.loops.Store(&loops)
	return l
}

// loopAt returns the loop with index idx, which must exist.
func (e *Engine) loopAt(idx int) *loop { return (*e.loops.Load())[idx] }
