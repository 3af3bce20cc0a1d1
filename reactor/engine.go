package reactor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wsproto"
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
	draining atomic.Bool
	stopped  atomic.Bool

	mu    sync.Mutex              // serialises adding to loops
	loops atomic.Pointer[[]*loop] // copy-on-write: read lock-free

	ipMu    sync.Mutex
	perIP   map[netip.Addr]int32 // upgraded connections per peer address, when capped
	upgrade atomic.Int64         // upgraded connections counted against MaxConns

	origins  originPolicy
	limits   rateLimits
	ipLimits *ipLimiter // nil when HandshakeRatePerIP is off

	stats   engineStats
	metrics *metrics
}

// New checks cfg and returns an engine that is not yet listening.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	origins, _ := newOriginPolicy(cfg.AllowedOrigins) // checked by Validate
	e := &Engine{
		cfg:      cfg,
		origins:  origins,
		ipLimits: newIPLimiter(cfg.HandshakeRatePerIP, cfg.HandshakeBurstPerIP, cfg.MaxRateLimitIPs),
		tick:     cfg.tick(),
		hub:      newHub(cfg.Relay, cfg.Loops),
		booted:   make(chan struct{}),
		ran:      make(chan struct{}),
		stopTick: make(chan struct{}),
		perIP:    make(map[netip.Addr]int32),
	}
	e.limits = newRateLimits(&cfg, e.tick)
	e.loops.Store(&[]*loop{})
	e.metrics = newMetrics(e)
	return e, nil
}

// Start binds the listener, starts the relay and the event loops, and
// returns once they accept connections (or with the error that prevented
// it).
func (e *Engine) Start() error {
	if err := e.cfg.Relay.Start(e); err != nil {
		return fmt.Errorf("reactor: start relay: %w", err)
	}
	listen, release, err := e.prepareListen()
	if err != nil {
		return e.failStart(fmt.Errorf("reactor: listen on %s: %w", e.cfg.Listen, err))
	}
	defer release()
	h := &handler{eng: e}
	go func() {
		defer close(e.ran)
		e.runErr = gnet.Run(h, "tcp://"+listen,
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(e.cfg.Loops),
			gnet.WithReusePort(!e.cfg.SingleListener),
			// A restarted node binds past its predecessor's TIME_WAIT sockets.
			gnet.WithReuseAddr(true),
			gnet.WithLogger(gnetLogger{e.cfg.Logger}),
		)
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
		"echo", !e.cfg.DisableEcho, "max_conns", e.cfg.MaxConns, "ping_interval", e.cfg.PingInterval,
		"auth", e.authMode())
	return nil
}

// failStart undoes a Start that failed: the relay is closed and the engine
// counts as stopped, so a later Shutdown does not touch gnet.
func (e *Engine) failStart(err error) error {
	e.stopped.Store(true)
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
// node, through the relay. It is how the admin API publishes.
func (e *Engine) Publish(channel string, data []byte) error {
	return e.publish(channel, data, sourceAPI)
}

func (e *Engine) publish(channel string, data []byte, src publishSource) error {
	if err := e.cfg.Relay.Publish(channel, data); err != nil {
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

// runTicker posts a tick to every loop at the wheel's resolution. gnet's own
// OnTick runs off the loops, so ticks are handed over with Execute.
func (e *Engine) runTicker() {
	t := time.NewTicker(e.tick)
	defer t.Stop()
	for {
		select {
		case <-e.stopTick:
			return
		case now := <-t.C:
			for _, l := range *e.loops.Load() {
				l.tickPosted.Store(now.UnixNano())
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
	l := newLoop(el, e, len(old))
	loops := append(append(make([]*loop, 0, len(old)+1), old...), l)
	e.loops.Store(&loops)
	return l
}

// loopAt returns the loop with index idx, which must exist.
func (e *Engine) loopAt(idx int) *loop { return (*e.loops.Load())[idx] }

// admit routes an upgrade request and applies the gateway's policies:
// origin (403), token (401), channel permissions (400/401/403), connection
// caps (503). On success c counts against the caps until it closes, and
// admit returns the subprotocol to echo (nil for none). Runs on c's loop.
func (e *Engine) admit(c *conn, req *wsproto.Request) ([]byte, error) {
	var channels []string
	switch {
	case string(req.Path) == EchoPath && !e.cfg.DisableEcho:
		c.endpoint = endpointEcho
	case string(req.Path) == PubSubPath:
		c.endpoint = endpointPubSub
		var err error
		l := c.loop
		channels, err = handshakeChannels(req.Query, e.cfg.MaxSubscriptions, l.channels[:0])
		defer func() {
			clear(channels) // they alias the request
			l.channels = channels[:0]
		}()
		if err != nil {
			return nil, err
		}
	default:
		return nil, wsproto.ErrNotFound
	}
	if !e.origins.allows(req.Origin, req.Host) {
		e.stats.forbidden.Add(1)
		return nil, errOrigin
	}
	protocol, err := e.authenticate(c, req)
	if err != nil {
		e.stats.unauthorized.Add(1)
		return nil, err
	}
	for _, ch := range channels {
		if !c.maySubscribe(ch) {
			if c.claims == nil {
				e.stats.unauthorized.Add(1)
				return nil, errChannelNeedsToken
			}
			e.stats.forbidden.Add(1)
			return nil, errChannelForbidden
		}
	}
	if e.upgrade.Add(1) > int64(e.cfg.MaxConns) {
		e.upgrade.Add(-1)
		return nil, errNodeFull
	}
	if e.cfg.MaxConnsPerIP > 0 && !e.countIP(c.gc.RemoteAddr(), 1) {
		e.upgrade.Add(-1)
		return nil, errIPFull
	}
	c.counted = true
	for _, ch := range channels {
		c.loop.subscribe(c, ch)
	}
	return protocol, nil
}

// authenticate finds and verifies the handshake's token, setting c.claims,
// and returns the subprotocol to echo. Without a token c stays anonymous,
// which AuthRequired refuses unless there are public channels to read.
// Verifying costs up to ~70 µs (ES256) of the loop's time, once per
// connection. Runs on c's loop.
func (e *Engine) authenticate(c *conn, req *wsproto.Request) ([]byte, error) {
	var protocols [][]byte
	for p := range req.Tokens("Sec-WebSocket-Protocol") {
		protocols = append(protocols, p)
	}
	token, protocol, err := auth.Extract(auth.Handshake{
		Query: req.Query, Authorization: req.Header("Authorization"), Protocols: protocols,
	})
	switch {
	case e.cfg.Auth == nil:
		return protocol, nil // no key: tokens are not looked at
	case errors.Is(err, auth.ErrNoToken):
		if e.cfg.AuthRequired && len(e.cfg.PublicChannels) == 0 {
			return nil, errNoToken
		}
		return protocol, nil
	case err != nil:
		return nil, rejectAuth(err)
	}
	claims, err := e.cfg.Auth.Verify(token)
	if err != nil {
		return nil, rejectAuth(err)
	}
	c.setClaims(claims)
	return protocol, nil
}

// authMode names the authentication in force, for logs.
func (e *Engine) authMode() string {
	switch {
	case e.cfg.Auth == nil:
		return "off"
	case e.cfg.AuthRequired && len(e.cfg.PublicChannels) > 0:
		return "required (anonymous clients may read public channels)"
	case e.cfg.AuthRequired:
		return "required"
	}
	return "optional (tokens verified when given; anonymous clients unrestricted)"
}

// release undoes admit's counting when c closes.
func (e *Engine) release(c *conn) {
	if !c.counted {
		return
	}
	c.counted = false
	e.upgrade.Add(-1)
	if e.cfg.MaxConnsPerIP > 0 {
		e.countIP(c.gc.RemoteAddr(), -1)
	}
}

// countIP adds delta to addr's connection count, refusing to go past
// MaxConnsPerIP.
func (e *Engine) countIP(addr net.Addr, delta int32) bool {
	ip, ok := peerIP(addr)
	if !ok {
		return true
	}
	e.ipMu.Lock()
	defer e.ipMu.Unlock()
	n := e.perIP[ip] + delta
	if n > int32(e.cfg.MaxConnsPerIP) {
		return false
	}
	if n <= 0 {
		delete(e.perIP, ip)
	} else {
		e.perIP[ip] = n
	}
	return true
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
	c := &conn{gc: gc, loop: l, lastRead: l.wheel.now}
	gc.SetContext(c)
	if e.draining.Load() {
		c.reject(wsproto.ErrDraining)
		return nil, gnet.None
	}
	if e.ipLimits != nil {
		if ip, ok := peerIP(gc.RemoteAddr()); ok && !e.ipLimits.allow(ip, time.Now()) {
			e.stats.handshakeRateLimited.Add(1)
			c.reject(errHandshakeRate)
			return nil, gnet.None
		}
	}
	l.wheel.schedule(c, l.wheel.now+l.ticks(e.cfg.HandshakeTimeout))
	return nil, gnet.None
}

func (h *handler) OnTraffic(gc gnet.Conn) gnet.Action {
	return gc.Context().(*conn).onTraffic()
}

func (h *handler) OnClose(gc gnet.Conn, _ error) gnet.Action {
	if c, ok := gc.Context().(*conn); ok {
		l := c.loop
		l.wheel.remove(c)
		l.leaveAll(c)
		h.eng.release(c)
		c.state = stateClosed
		c.unpark()
		gc.SetContext(nil)
	}
	h.eng.stats.conns.Add(-1)
	return gnet.None
}

// prepareListen returns the address the loops bind. Every loop binds it
// itself, with SO_REUSEPORT (unless SingleListener): unless sharing is asked
// for, it makes sure no one listens there already, and for port 0 (each
// loop would get a port of its own) it picks one and holds it until release.
func (e *Engine) prepareListen() (listen string, release func(), err error) {
	listen, release = e.cfg.Listen, func() {}
	if e.cfg.SingleListener {
		return listen, release, nil
	}
	if !e.cfg.ReusePort {
		if err := checkFree(listen); err != nil {
			return "", nil, err
		}
	}
	held, addr, err := holdPort(listen)
	if err != nil || held < 0 {
		return listen, release, err
	}
	return addr, func() { unix.Close(held) }, nil
}

// checkFree fails if another socket listens on listen's address and port
// (the loops' SO_REUSEPORT sockets would otherwise join it silently). The
// probe listens with SO_REUSEADDR only, like any Go server, so a
// predecessor's connections in TIME_WAIT do not count.
func checkFree(listen string) error {
	ln, err := net.Listen(listenNetwork(listen), listen)
	if err != nil {
		return err
	}
	return ln.Close()
}

// listenNetwork is the socket family gnet makes for listen
// (pkg/socket.GetTCPSockAddr): IPv4 for an IPv4 address, IPv6 only for an
// IPv6 one, dual-stack for none.
func listenNetwork(listen string) string {
	tcp, err := net.ResolveTCPAddr("tcp", listen)
	if err != nil {
		return "tcp"
	}
	return tcpNetwork(tcp)
}

func tcpNetwork(tcp *net.TCPAddr) string {
	switch {
	case tcp.IP == nil:
		return "tcp"
	case tcp.IP.To4() != nil:
		return "tcp4"
	}
	return "tcp6"
}

// holdPort resolves a listen address whose port is 0 to a free port and
// returns a socket bound to it with SO_REUSEPORT, so that the loops' own
// SO_REUSEPORT sockets can bind the same port while nobody else (of another
// user) can. The socket never listens, so it takes no connections. For a
// fixed port it returns -1 and the address unchanged.
func holdPort(listen string) (fd int, addr string, err error) {
	tcp, err := net.ResolveTCPAddr("tcp", listen)
	if err != nil {
		return -1, "", err
	}
	if tcp.Port != 0 {
		return -1, listen, nil
	}
	// The same socket gnet will make (see listenNetwork).
	family, v6only := unix.AF_INET6, 0
	var sa unix.Sockaddr
	switch tcpNetwork(tcp) {
	case "tcp4":
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Addr: [4]byte(tcp.IP.To4())}
	case "tcp6":
		sa6 := &unix.SockaddrInet6{Addr: [16]byte(tcp.IP.To16())}
		if tcp.Zone != "" { // a link-local address names its interface
			ifi, err := net.InterfaceByName(tcp.Zone)
			if err != nil {
				return -1, "", err
			}
			sa6.ZoneId = uint32(ifi.Index)
		}
		v6only, sa = 1, sa6
	default:
		sa = &unix.SockaddrInet6{}
	}
	fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, "", os.NewSyscallError("socket", err)
	}
	if family == unix.AF_INET6 {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only)
	}
	if err == nil {
		err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}
	if err == nil {
		err = unix.Bind(fd, sa)
	}
	if err == nil {
		sa, err = unix.Getsockname(fd)
	}
	if err != nil {
		unix.Close(fd)
		return -1, "", os.NewSyscallError("bind", err)
	}
	port := 0
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		port = sa.Port
	case *unix.SockaddrInet6:
		port = sa.Port
	}
	host, _, _ := net.SplitHostPort(listen)
	return fd, net.JoinHostPort(host, strconv.Itoa(port)), nil
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
