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
	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/wsproto"
)

var errHandshakeTimeout = wsproto.ErrHandshakeTimeout

// Engine is a running WebSocket server: gnet event loops plus the state the
// reactor keeps for them. Create it with New, then Start; Shutdown ends it.
// Its methods are safe to call from any goroutine.
type Engine struct {
	cfg  Config
	tick time.Duration

	gnet     gnet.Engine
	addr     net.Addr
	booted   chan struct{}
	done     chan error // gnet.Run's result
	stopTick chan struct{}
	draining atomic.Bool

	mu    sync.Mutex              // serialises adding to loops
	loops atomic.Pointer[[]*loop] // copy-on-write: read lock-free by the ticker

	stats stats
}

// stats are the engine's counters, updated with atomics from every loop.
type stats struct {
	conns             atomic.Int64
	handshakes        atomic.Int64
	handshakeTimeouts atomic.Int64
}

// Stats is a snapshot of the engine's counters.
type Stats struct {
	Connections       int64 // open TCP connections, handshaking or upgraded
	Handshakes        int64 // completed upgrades since start
	HandshakeTimeouts int64
}

// New checks cfg and returns an engine that is not yet listening.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	e := &Engine{
		cfg:      cfg,
		tick:     cfg.tick(),
		booted:   make(chan struct{}),
		done:     make(chan error, 1),
		stopTick: make(chan struct{}),
	}
	e.loops.Store(&[]*loop{})
	return e, nil
}

// Start binds the listener and starts the event loops, returning once they
// accept connections (or with the error that prevented it).
func (e *Engine) Start() error {
	h := &handler{eng: e}
	go func() {
		e.done <- gnet.Run(h, "tcp://"+e.cfg.Listen,
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(e.cfg.Loops),
			gnet.WithLogger(gnetLogger{e.cfg.Logger}),
		)
	}()
	select {
	case <-e.booted:
	case err := <-e.done:
		return fmt.Errorf("reactor: listen on %s: %w", e.cfg.Listen, err)
	}
	addr, err := listenerAddr(e.gnet)
	if err != nil {
		return err
	}
	e.addr = addr
	go e.runTicker()
	e.cfg.Logger.Info("listening", "addr", addr.String(), "loops", e.cfg.Loops, "echo", !e.cfg.DisableEcho)
	return nil
}

// Addr is the bound listener address (useful with port 0). Valid after Start.
func (e *Engine) Addr() net.Addr { return e.addr }

// Stats returns the current counters.
func (e *Engine) Stats() Stats {
	return Stats{
		Connections:       e.stats.conns.Load(),
		Handshakes:        e.stats.handshakes.Load(),
		HandshakeTimeouts: e.stats.handshakeTimeouts.Load(),
	}
}

// Shutdown refuses new connections, sends close 1001 to every open
// connection, waits until they have closed or ctx ends, then stops the loops
// and returns. Connections left when ctx ends are closed without waiting.
func (e *Engine) Shutdown(ctx context.Context) error {
	if e.draining.Swap(true) {
		return errors.New("reactor: already shutting down")
	}
	for _, l := range *e.loops.Load() {
		_ = l.el.Execute(ctx, gnet.RunnableFunc(l.goAway))
	}
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for e.stats.conns.Load() > 0 && ctx.Err() == nil {
		select {
		case <-poll.C:
		case <-ctx.Done():
		}
	}
	close(e.stopTick)
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.gnet.Stop(stopCtx); err != nil {
		return fmt.Errorf("reactor: stop: %w", err)
	}
	return <-e.done
}

// runTicker posts a tick to every loop at the wheel's resolution. gnet's own
// OnTick runs off the loops, so ticks are handed over with Execute.
func (e *Engine) runTicker() {
	t := time.NewTicker(e.tick)
	defer t.Stop()
	for {
		select {
		case <-e.stopTick:
			return
		case <-t.C:
			for _, l := range *e.loops.Load() {
				_ = l.el.Execute(context.Background(), l.onTick)
			}
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
	l := newLoop(el, e)
	loops := append(append(make([]*loop, 0, len(old)+1), old...), l)
	e.loops.Store(&loops)
	return l
}

// route picks the endpoint for an upgrade request.
func (e *Engine) route(req *wsproto.Request) error {
	if string(req.Path) == EchoPath && !e.cfg.DisableEcho {
		return nil
	}
	return wsproto.ErrNotFound
}

// handler adapts gnet's callbacks to the engine.
type handler struct {
	gnet.BuiltinEventEngine
	eng *Engine
}

func (h *handler) OnBoot(g gnet.Engine) gnet.Action {
	h.eng.gnet = g
	close(h.eng.booted)
	return gnet.None
}

func (h *handler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	e := h.eng
	e.stats.conns.Add(1)
	l := e.loopFor(gc.EventLoop())
	c := &conn{gc: gc, loop: l}
	gc.SetContext(c)
	if e.draining.Load() {
		c.reject(wsproto.ErrDraining)
		return nil, gnet.None
	}
	l.wheel.schedule(c, l.wheel.now+l.ticks(e.cfg.HandshakeTimeout))
	return nil, gnet.None
}

func (h *handler) OnTraffic(gc gnet.Conn) gnet.Action {
	return gc.Context().(*conn).onTraffic()
}

func (h *handler) OnClose(gc gnet.Conn, _ error) gnet.Action {
	if c, ok := gc.Context().(*conn); ok {
		c.loop.wheel.remove(c)
		c.dec.Reset()
		gc.SetContext(nil)
	}
	h.eng.stats.conns.Add(-1)
	return gnet.None
}

// listenerAddr reads the bound address from a duplicate of gnet's listener.
func listenerAddr(g gnet.Engine) (net.Addr, error) {
	fd, err := g.Dup()
	if err != nil {
		return nil, fmt.Errorf("reactor: dup listener: %w", err)
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("reactor: getsockname: %w", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}, nil
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}, nil
	}
	return nil, fmt.Errorf("reactor: unexpected listener address %T", sa)
}
