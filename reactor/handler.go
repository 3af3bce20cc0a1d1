package reactor

import (
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/proxy"
)

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
	trusted := e.trustedSocket(gc)
	if why, ok := e.openSocket(gc, trusted); !ok {
		e.refuseSocket(gc, why)
		return nil, gnet.Close // no context: OnClose only uncounts the socket
	}
	l := e.loopFor(gc.EventLoop())
	c := &conn{gc: gc, loop: l, lastRead: l.clock()}
	gc.SetContext(c)
	if trusted && e.cfg.ProxyProtocol != proxy.Off {
		l.peers[c] = peer{awaitHeader: true}
	}
	if e.draining.Load() {
		c.reject(errDraining)
		return nil, gnet.None
	}
	if e.ipLimits != nil && !trusted {
		if key, ok := e.peerKey(gc.RemoteAddr()); ok && !e.ipLimits.allow(key, time.Now()) {
			e.stats.handshakeRateLimited.Add(1)
			c.reject(errHandshakeRate)
			return nil, gnet.None
		}
	}
	l.wheel.schedule(c, c.lastRead+l.ticks(e.cfg.HandshakeTimeout))
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
		l.forgetSlow(c)
		c.unidentify()
		delete(l.verdicts, c)
		delete(l.closes, c)
		delete(l.hookGrants, c) // hookCalls go when their answers come back
		h.eng.release(c)
		c.setState(stateClosed)
		c.unpark()
		delete(l.peers, c)
		gc.SetContext(nil)
	}
	h.eng.stats.conns.Add(-1)
	return gnet.None
}
