package reactor

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/proxy"
)

// Sockets are counted from accept. gnet accepts on every loop's listener
// and hands the socket to OnOpen on the same loop before it reads a byte;
// OnOpen admits it against three bounds or resets it at once:
//
//   - MaxSockets: every socket in any state. It stays ReservedFDs below the
//     open-file limit, and everything else in the process that opens
//     descriptors is bounded inside that reserve, so the accept that gnet
//     makes always finds a free descriptor. (gnet treats any accept error
//     but EAGAIN/EINTR/ECONNRESET/ECONNABORTED as fatal and stops every
//     loop; see the package doc.)
//   - MaxHandshakes: sockets that have not finished their upgrade, node
//     wide, so idle sockets cannot crowd out upgraded connections.
//   - MaxHandshakesPerIP: the same per peer address.

// refusal is why a socket was reset at accept.
type refusal uint8

const (
	refusedSockets        refusal = iota // MaxSockets
	refusedHandshakes                    // MaxHandshakes
	refusedHandshakesIP                  // MaxHandshakesPerIP
	refusedUntrustedProxy                // ProxyProtocol on, peer outside TrustedProxies
	numRefusals
)

var refusalNames = [numRefusals]string{"sockets", "handshakes", "handshakes_per_ip", "untrusted_proxy"}

// socketCeiling is the most sockets a node can hold: the open-file limit
// less reserved descriptors (0 when the limit cannot be read).
func socketCeiling(reserved int) int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	// The Go runtime raised the soft limit to the hard one at start-up.
	soft := min(lim.Cur, math.MaxInt32)
	return max(int(soft)-reserved, 0)
}

// fdReserve is how many descriptors MaxSockets leaves free: ReservedFDs
// (by default DefaultReservedFDs and 4 per loop) and, with SingleListener,
// a full accept queue. gnet's single acceptor accepts until the queue is
// empty and hands each socket to a loop before OnOpen can count it, so as
// many sockets as the listen backlog can hold a descriptor at once; a
// loop accepting for itself holds one at most.
func (c Config) fdReserve() int {
	reserved := c.ReservedFDs
	if reserved <= 0 {
		loops := c.Loops
		if loops <= 0 {
			loops = runtime.GOMAXPROCS(0)
		}
		reserved = DefaultReservedFDs + 4*loops
	}
	if c.SingleListener {
		reserved += listenBacklog() + 1
	}
	return reserved
}

// checkSockets reports a MaxSockets above what the open-file limit allows,
// or a limit too low to serve. Call it before defaults are applied.
func (c Config) checkSockets() error {
	reserved := c.fdReserve()
	ceiling := socketCeiling(reserved)
	switch {
	case ceiling < MinSockets:
		return fmt.Errorf("the open-file limit leaves %d sockets after %d reserved descriptors, want at least %d: raise it (ulimit -n, systemd LimitNOFILE=)", ceiling, reserved, MinSockets)
	case c.MaxSockets > ceiling:
		return fmt.Errorf("max sockets %d is above the open-file limit less %d reserved descriptors (%d): raise the limit (ulimit -n, systemd LimitNOFILE=) or lower max sockets", c.MaxSockets, reserved, ceiling)
	}
	return nil
}

// openSocket admits a socket gnet has just accepted, or says why not. On
// success it counts as a socket and as a handshake until handshakeDone and
// OnClose undo it. Runs on gc's loop.
func (e *Engine) openSocket(gc gnet.Conn, trusted bool) (refusal, bool) {
	if e.stats.conns.Add(1) > int64(e.cfg.MaxSockets) {
		return refusedSockets, false
	}
	if !trusted && e.cfg.ProxyProtocol != proxy.Off && !e.cfg.AllowUntrustedDirect {
		return refusedUntrustedProxy, false
	}
	if e.handshakes.Add(1) > int64(e.cfg.MaxHandshakes) {
		e.handshakes.Add(-1)
		return refusedHandshakes, false
	}
	if e.handshakesPerIP != nil && !trusted {
		if key, ok := e.peerKey(gc.RemoteAddr()); ok && !e.handshakesPerIP.add(key) {
			e.handshakes.Add(-1)
			return refusedHandshakesIP, false
		}
	}
	return 0, true
}

// refuseSocket resets a socket openSocket refused, so the refusal leaves
// nothing in TIME_WAIT. It is counted; the ticker logs a summary at a
// limited rate.
func (e *Engine) refuseSocket(gc gnet.Conn, why refusal) {
	resetOnClose(gc.Fd())
	e.stats.socketsRefused[why].Add(1)
}

// handshakeDone releases what openSocket (or, behind a proxy,
// readProxyHeader) counted for the handshake, when c upgrades or,
// handshaking or refused, is closed.
func (e *Engine) handshakeDone(c *conn) {
	e.handshakes.Add(-1)
	if e.handshakesPerIP == nil {
		return
	}
	if p, ok := c.loop.peers[c]; ok {
		if p.handshakeIP {
			if key, ok := e.addrKey(p.addr); ok {
				e.handshakesPerIP.done(key)
			}
			p.handshakeIP = false
			c.loop.peers[c] = p
		}
		return
	}
	if e.trustedSocket(c.gc) {
		return // not counted at accept
	}
	if key, ok := e.peerKey(c.gc.RemoteAddr()); ok {
		e.handshakesPerIP.done(key)
	}
}

// setState moves c to next, releasing its handshake slot when it upgrades
// or is gone: a refused handshake (stateRefused) holds it while its socket
// lingers.
func (c *conn) setState(next connState) {
	holds := c.state == stateHandshake || c.state == stateHook || c.state == stateRefused
	keeps := next == stateHandshake || next == stateHook || next == stateRefused
	if holds && !keeps {
		c.loop.eng.handshakeDone(c)
	}
	c.state = next
}

// peerKey is the key of every per-address limit for a socket's peer.
func (e *Engine) peerKey(addr net.Addr) (netip.Addr, bool) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		return netip.Addr{}, false
	}
	return e.addrKey(ip)
}

// addrKey is the key of every per-address limit: an IPv4 address, or an
// IPv6 address cut to IPv6Prefix bits (IPv4-mapped addresses count as
// IPv4).
func (e *Engine) addrKey(ip netip.Addr) (netip.Addr, bool) {
	if ip = ip.Unmap(); ip.Is4() || e.cfg.IPv6Prefix >= 128 {
		return ip.WithZone(""), true
	}
	p, err := ip.WithZone("").Prefix(e.cfg.IPv6Prefix)
	if err != nil {
		return netip.Addr{}, false
	}
	return p.Addr(), true
}

// addrCounts counts something per peer key under a cap. Entries exist only
// while their count is positive, so the map is no larger than what it
// counts. Any goroutine.
type addrCounts struct {
	max int32

	mu sync.Mutex
	n  map[netip.Addr]int32
}

// newAddrCounts returns a counter capped at max per key, or nil for no cap.
func newAddrCounts(max int) *addrCounts {
	if max <= 0 {
		return nil
	}
	return &addrCounts{max: int32(max), n: make(map[netip.Addr]int32)}
}

// add counts one more for key, or reports false at the cap.
func (a *addrCounts) add(key netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.n[key] + 1
	if n > a.max {
		return false
	}
	a.n[key] = n
	return true
}

// done counts one less for key.
func (a *addrCounts) done(key netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := a.n[key] - 1; n > 0 {
		a.n[key] = n
	} else {
		delete(a.n, key)
	}
}

// acceptFailed counts an accept error gnet reported. gnet stops every loop
// after one (see the package doc), so this is the post-mortem.
func (e *Engine) acceptFailed(err error) {
	name := "other"
	var errno unix.Errno
	if errors.As(err, &errno) {
		if name = unix.ErrnoName(errno); name == "" {
			name = fmt.Sprintf("errno %d", int(errno))
		}
	}
	e.stats.acceptMu.Lock()
	defer e.stats.acceptMu.Unlock()
	if e.stats.acceptErrors == nil {
		e.stats.acceptErrors = map[string]int64{}
	}
	e.stats.acceptErrors[name]++
	e.stats.lastAccept = fmt.Errorf("accept: %s (%w)", name, err)
}

// lastAcceptError is the last accept failure gnet reported, or nil.
func (e *Engine) lastAcceptError() error {
	e.stats.acceptMu.Lock()
	defer e.stats.acceptMu.Unlock()
	return e.stats.lastAccept
}

// refusalReportEvery is how often, at most, refused sockets are logged: an
// attack refused thousands of times a second makes one line per period.
const refusalReportEvery = 10 * time.Second

// reportRefusals logs the sockets refused since the last report, if any.
// It runs on the ticker goroutine, never on a loop.
func (e *Engine) reportRefusals(last *[numRefusals]int64) {
	var attrs []any
	for i := range numRefusals {
		n := e.stats.socketsRefused[i].Load()
		if d := n - last[i]; d > 0 {
			attrs = append(attrs, refusalNames[i], d)
		}
		last[i] = n
	}
	if attrs != nil {
		e.cfg.Logger.Warn("sockets reset at accept: over a limit (counts since the last report)",
			append(attrs, "max_sockets", e.cfg.MaxSockets, "max_handshakes", e.cfg.MaxHandshakes,
				"max_handshakes_per_ip", e.cfg.MaxHandshakesPerIP)...)
	}
}

// reportProxyErrors logs the connections from trusted proxies closed for
// their PROXY header since the last report, with the latest reason.
// Ticker goroutine.
func (e *Engine) reportProxyErrors(last *int64) {
	n := e.stats.proxyHeaderErrors.Load()
	if d := n - *last; d > 0 {
		var reason string
		if r := e.stats.lastProxyError.Load(); r != nil {
			reason = *r
		}
		e.cfg.Logger.Warn("connections from trusted proxies closed for their PROXY protocol header (counts since the last report)",
			"count", d, "last_reason", reason, "proxy_protocol", e.cfg.ProxyProtocol.String())
	}
	*last = n
}

// reportTokenRefusals logs the handshakes refused with 401 since the last
// report, with the verifier's reason for the latest (the client only sees
// its class, "invalid token claims" say). Ticker goroutine.
func (e *Engine) reportTokenRefusals(last *int64) {
	n := e.stats.unauthorized.Load()
	if d := n - *last; d > 0 {
		var reason string
		if r := e.lastTokenRefusal.Load(); r != nil {
			reason = *r
		}
		e.cfg.Logger.Warn("handshakes refused with 401 (counts since the last report)", "count", d, "last_reason", reason)
	}
	*last = n
}
