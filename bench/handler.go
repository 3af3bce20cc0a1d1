package bench

import (
	"time"

	"github.com/panjf2000/gnet/v2"
)

// shardHandler adapts gnet's client callbacks to the shard. Every callback
// runs on the connection's loop.
type shardHandler struct {
	gnet.BuiltinEventEngine
	sh *Shard
}

// OnOpen sends the PROXY header, if any, and the upgrade request in one
// write as soon as the socket is on its loop. The returned bytes are
// written by gnet before the loop runs anything else, so the loop's
// scratch buffer may carry them.
func (h *shardHandler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	c, ok := gc.Context().(*conn)
	if !ok {
		return nil, gnet.Close
	}
	s := h.sh
	l := s.loopFor(gc.EventLoop())
	c.gc, c.loop = gc, l
	l.add(c)
	l.out = l.out[:0]
	if s.plan.Proxy.Version != "" {
		var err error
		if l.out, err = s.plan.Proxy.appendProxyHeader(l.out, c.id, gc.LocalAddr(), gc.RemoteAddr()); err != nil {
			c.fail(kindProxyHeader)
			return nil, gnet.Close
		}
	}
	l.out = s.appendUpgrade(l.out, c)
	return l.out, gnet.None
}

// appendUpgrade appends c's upgrade request.
func (s *Shard) appendUpgrade(dst []byte, c *conn) []byte {
	key := connKey(s.salt, uint64(c.id))
	ch := s.channelOf(c.id)
	if s.plan.SubscribeFrame {
		ch = -1 // subscribed by frame once open
	}
	return appendUpgrade(dst, &s.plan.Targets[c.target], s.plan.ChannelPrefix, ch, &key, s.upgradeLines)
}

func (h *shardHandler) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok {
		return gnet.Close
	}
	return c.onTraffic(time.Now().UnixNano())
}

// OnClose records why a connection ended, unless the shard is closing it.
func (h *shardHandler) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok || c.loop == nil {
		return gnet.None
	}
	h.sh.connClosed(c, err)
	gc.SetContext(nil)
	return gnet.None
}

// connClosed accounts for c's end, whatever ended it (err: a transport
// error, nil for an orderly close). Runs on c's loop, once per connection.
func (s *Shard) connClosed(c *conn, err error) {
	l := c.loop
	opened := c.opened
	switch {
	case l.finishing && c.state == stateOpen:
		l.stats.open.Add(-1)
	case c.state == stateHandshake:
		c.fail(kindClosedBeforeUp)
	case c.state == stateOpen && err != nil:
		c.fail(kindReset)
	case c.state == stateOpen:
		c.fail(kindClosedByServer)
	}
	if !opened {
		s.unopened.Add(1)
	}
	if opened && !c.stable && c.role == roleSubscriber {
		l.lostChurn += c.gaps()
	}
	if c.stable && !l.finishing && s.plan.Reconnect {
		s.redial(c)
	}
	if c.state == stateClosing {
		l.stats.churnDone.Add(1)
	}
	l.stats.closed.Add(1)
	l.remove(c)
	if c.dec != nil {
		c.dec.Reset()
		c.dec = nil
	}
	c.state = stateDone // OnClose may run inside a write from readFrames: stop it there
}

// gaps is the number of messages missing between the first and the last
// each publisher's stream delivered to c.
func (c *conn) gaps() uint64 {
	n := uint64(0)
	if c.seq.first != 0 {
		n += c.seq.lost(c.seq.first, c.seq.high)
	}
	if c.extra == nil {
		return n
	}
	for i := range c.extra.more {
		if t := &c.extra.more[i]; t.first != 0 {
			n += t.lost(t.first, t.high)
		}
	}
	return n
}

// quietLogger drops gnet's informational logs; the report says what
// matters.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(string, ...any) {}
