package reactor

import (
	"net"
	"net/netip"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/proxy"
	"github.com/wsgate/wsgate/wsproto"
)

// Who the client is. A connection's client is its socket's peer unless
// that peer is one of Config.TrustedProxies: then the client is what the
// proxy says, from a PROXY protocol header before the request (when
// ProxyProtocol is on) and then from the request's X-Forwarded-For, or
// Forwarded when so configured (right-most untrusted address; package
// proxy). Only one of the two is read: proxies append to theirs and pass
// the other through, so the client could have written it. Every
// per-address limit counts that client:
//
//   - A trusted peer skips the limits checked at accept (handshakes in
//     progress per address, handshake rate): they would count the proxy.
//     They are checked when the client's address is learnt instead: the
//     PROXY header (both), or the request's forwarded headers (the rate
//     only: the handshake is then over). A header that names another
//     trusted proxy defers to the forwarded headers.
//   - The learnt address is kept in the loop's peers map, not in the
//     160-byte conn: only connections behind a proxy pay for it, and only
//     while something needs it (the handshake, or MaxConnsPerIP).
//
// The PROXY header shares the handshake timeout: a proxy (or anyone
// inside TrustedProxies) that sends nothing is closed like any silent
// socket.

// peer is what a loop knows of a client behind a trusted proxy.
type peer struct {
	addr        netip.Addr // the client; invalid until learnt (or a PROXY LOCAL health check)
	awaitHeader bool       // the PROXY protocol header has not been read yet
	handshakeIP bool       // MaxHandshakesPerIP counts addr for this handshake
}

// socketAddr is gc's peer address, unmapped.
func socketAddr(gc gnet.Conn) (netip.Addr, bool) {
	tcp, ok := gc.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	return ip.Unmap().WithZone(""), ok
}

// trustedSocket reports whether gc's peer is a trusted proxy.
func (e *Engine) trustedSocket(gc gnet.Conn) bool {
	if e.cfg.TrustedProxies.Empty() {
		return false
	}
	ip, ok := socketAddr(gc)
	return ok && e.cfg.TrustedProxies.Contains(ip)
}

// clientKey is the key of c's client for the per-address limits: the
// learnt address behind a proxy, else the socket's peer. ok is false when
// no limit applies: a trusted proxy's own connection whose client is not
// (or not yet) known.
func (e *Engine) clientKey(c *conn) (netip.Addr, bool) {
	if p, ok := c.loop.peers[c]; ok {
		if !p.addr.IsValid() {
			return netip.Addr{}, false
		}
		return e.addrKey(p.addr)
	}
	if e.trustedSocket(c.gc) {
		return netip.Addr{}, false
	}
	return e.peerKey(c.gc.RemoteAddr())
}

// readProxyHeader reads the PROXY protocol header that must open a
// connection from a trusted proxy. done is false while more bytes are
// needed or when c was refused (action says what to do then).
func (c *conn) readProxyHeader(p *peer) (action gnet.Action, done bool) {
	l := c.loop
	e := l.eng
	buf, _ := c.gc.Peek(-1)
	h, n, err := proxy.ParseHeader(buf, e.cfg.ProxyProtocol)
	switch {
	case err != nil:
		// A proxy that sends no header, or a broken one, is misconfigured
		// (or not the proxy): there is no client to answer in HTTP.
		e.stats.proxyHeaderErrors.Add(1)
		why := err.Error()
		e.stats.lastProxyError.Store(&why)
		return gnet.Close, false
	case n == 0:
		return gnet.None, false
	}
	_, _ = c.gc.Discard(n)
	p.awaitHeader = false
	if !h.Local && h.Source.IsValid() {
		p.addr = h.Source.Addr().Unmap().WithZone("")
	}
	l.peers[c] = *p
	if !p.addr.IsValid() || e.cfg.TrustedProxies.Contains(p.addr) {
		return gnet.None, true // a health check, or a chain: the request's headers may say more
	}
	key, ok := e.addrKey(p.addr)
	if !ok {
		return gnet.None, true
	}
	if e.handshakesPerIP != nil {
		if !e.handshakesPerIP.add(key) {
			return c.reject(errHandshakesIP), false
		}
		p.handshakeIP = true
		l.peers[c] = *p
	}
	if e.ipLimits != nil && !e.ipLimits.allow(key, time.Now()) {
		e.stats.handshakeRateLimited.Add(1)
		return c.reject(errHandshakeRate), false
	}
	return gnet.None, true
}

// learnForwarded sets c's client from the request's X-Forwarded-For or
// Forwarded header when the address c is known by so far is a trusted
// proxy, and applies the handshake rate limit to it. Runs in admit, before
// the upgraded-connection limits.
func (e *Engine) learnForwarded(c *conn, req *wsproto.Request) error {
	l := c.loop
	p, known := l.peers[c]
	from := p.addr
	if !known || !from.IsValid() {
		ip, ok := socketAddr(c.gc)
		if !ok {
			return nil
		}
		from = ip
	}
	if !e.cfg.TrustedProxies.Contains(from) {
		return nil
	}
	f := &l.fwd
	f.xff, f.forwarded = f.xff[:0], f.forwarded[:0]
	switch e.cfg.ForwardedHeader {
	case ForwardedXFF:
		for v := range req.Values("X-Forwarded-For") {
			f.xff = append(f.xff, v)
		}
	case ForwardedRFC7239:
		for v := range req.Values("Forwarded") {
			f.forwarded = append(f.forwarded, v)
		}
	default:
		return nil
	}
	addr, ok := proxy.ClientFromForwarded(from, e.cfg.TrustedProxies, f.xff, f.forwarded)
	clear(f.xff[:cap(f.xff)]) // keep no request bytes alive past the handshake
	clear(f.forwarded[:cap(f.forwarded)])
	if !ok {
		return nil
	}
	p.addr = addr.Unmap().WithZone("")
	l.peers[c] = p
	if key, ok := e.addrKey(p.addr); ok && e.ipLimits != nil && !e.ipLimits.allow(key, time.Now()) {
		e.stats.handshakeRateLimited.Add(1)
		return errHandshakeRate
	}
	return nil
}

// forwardedHeaders are a request's X-Forwarded-For and Forwarded lines,
// in order: a loop's scratch, reused by every handshake.
type forwardedHeaders struct {
	xff, forwarded [][]byte
}
