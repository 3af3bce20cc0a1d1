package reactor

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/hook"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

// loop is the reactor's state for one gnet event loop: its timer wheel,
// topic index, inbox of deliveries and scratch buffers. Apart from the
// inbox (guarded by inboxMu) and stats (atomics, read by scrapes), it is
// touched only on that loop.
type loop struct {
	el    gnet.EventLoop
	eng   *Engine
	idx   int // position in Engine.loops and in channelInfo.topics
	wheel wheel
	start time.Time // when wheel.now was 0

	topics map[string]*topic
	dec    wsproto.Decoder // decodes for every connection between messages
	// parked holds the decoders of connections with a frame or message in
	// part (conn.parked); few connections are ever mid-message at once.
	parked map[*conn]*parkedDecoder
	// partialBytes is what the parked decoders hold; partialBudget, this
	// loop's share of MaxPartialBytes, bounds it (parkDecoder).
	partialBytes, partialBudget int
	// peers are the clients of connections behind a trusted proxy (peer.go).
	peers map[*conn]peer
	// verdicts hold the connect hook's answers for the handshakes they
	// resume, and closes how hooked connections closed (hooks.go).
	verdicts map[*conn]*hook.ConnectResult
	closes   map[*conn]closeNote
	// hookCalls counts each connection's publish and message hook calls
	// in flight (hooks.go); hookGrants holds what the connect hook added
	// to a connection's token (hooks.go).
	hookCalls  map[*conn]uint8
	hookGrants map[*conn]*hookGrant
	// watchers are the connections that asked for a channel's presence
	// frames (presence.go).
	watchers map[string]map[*conn]struct{}
	// fwd holds a request's forwarded headers while admit reads them.
	fwd forwardedHeaders

	out      []byte       // scratch: answers to one connection in one turn, written once
	body     []byte       // scratch: one answer's JSON, before queueText frames it into out
	iov      [][]byte     // scratch: a batch's frames grouped by connection
	touched  []*conn      // scratch: connections written in a batch
	channels []string     // scratch: the channels of one upgrade request
	iovecs   []unix.Iovec // scratch: writev's argument
	idBuf    []byte       // scratch: a connection ID

	inboxMu     sync.Mutex
	inbox       []delivery // deliveries waiting for the loop
	spare       []delivery // the previous batch's array, for reuse
	inboxPosted bool       // a drainInbox is queued on the loop

	// Resumes (resume.go): those waiting for their client's outbound to
	// drain before reading on, and those that met the live feed in the
	// batch being fanned out.
	waiting, promoted []*resume

	batch []delivery           // the batch drainInbox is fanning out, for shed
	slow  map[*conn]*slowState // what slow connections are owed (slow.go)

	onTick, onInbox gnet.Runnable
	tickPosted      atomic.Int64 // epoch nanos when the last tick was posted (lag.go)
	tickRan         atomic.Int64 // epoch nanos when the last tick ran

	stats loopStats
}

// maxScratch is the capacity above which the scratch buffer is dropped after
// use rather than kept, so one large echo does not pin memory per loop.
const maxScratch = 64 << 10

func newLoop(el gnet.EventLoop, eng *Engine, idx int) *loop {
	l := &loop{el: el, eng: eng, idx: idx, start: time.Now(), topics: make(map[string]*topic), parked: make(map[*conn]*parkedDecoder), peers: make(map[*conn]peer), verdicts: make(map[*conn]*hook.ConnectResult), closes: make(map[*conn]closeNote), watchers: make(map[string]map[*conn]struct{}), hookCalls: make(map[*conn]uint8), hookGrants: make(map[*conn]*hookGrant), slow: make(map[*conn]*slowState)}
	l.resetDecoder()
	l.partialBudget = eng.cfg.MaxPartialBytes / eng.cfg.Loops
	l.onTick = gnet.RunnableFunc(l.tick)
	l.wheel.lowered = l.lowered
	// Nothing due yet: the first deadline lowers wake and kicks the
	// ticker, which may be asleep until its next report.
	l.wheel.next = never
	l.wheel.wake.Store(never)
	l.onInbox = gnet.RunnableFunc(l.drainInbox)
	return l
}

// resetDecoder gives the loop a fresh decoder, without releasing buffers
// that a connection has taken over.
func (l *loop) resetDecoder() {
	l.dec = wsproto.Decoder{}
	l.dec.Init(wsproto.ServerSide, &l.eng.cfg.Limits)
}

// queueText frames body as one text frame after what out already holds
// for the connection being served. body must have been built on
// l.body[:0] (wire's Append functions): its memory becomes l.body again,
// so replies allocate nothing once it has grown.
func (l *loop) queueText(body []byte) {
	l.out = wsproto.AppendFrame(l.out, ws.OpText, true, body)
	if cap(body) <= maxScratch {
		l.body = body[:0]
	}
}

func (l *loop) resetOut() {
	if cap(l.out) > maxScratch {
		l.out = nil
	}
	l.out = l.out[:0]
}

// ticks converts d to whole wheel ticks, rounding up.
func (l *loop) ticks(d time.Duration) uint32 {
	t := l.eng.tick
	return uint32((d + t - 1) / t)
}

// clock is the current time in wheel ticks. The wheel's own now moves
// only when the loop is ticked, which an idle loop is not (ticker.go), so
// timestamps (last read, deadlines) come from here.
func (l *loop) clock() uint32 { return uint32(time.Since(l.start) / l.eng.tick) }

// tick advances the wheel to the current time, firing due timers, and
// records how late it ran (the loop's lag). It runs on the loop, posted by
// the engine's ticker when tickDue, or as a lag probe (lag.go).
func (l *loop) tick(context.Context) error {
	now := time.Now()
	at := l.eng.nanos(now)
	l.stats.lagNanos.Store(at - l.tickPosted.Load())
	l.tickRan.Store(at)
	l.stats.ticks.Add(1)
	target := uint32(now.Sub(l.start) / l.eng.tick)
	if l.wheel.empty() { // nothing to fire: no need to walk the ticks since the last one
		l.wheel.now = target
	}
	for int32(target-l.wheel.now) > 0 {
		l.wheel.advance(l.fire)
	}
	l.wakeWaiting()
	l.catchUpIdle()
	l.wheel.settle()
	if len(l.waiting) > 0 || len(l.slow) > 0 {
		l.wantTick()
	}
	return nil
}

// fire handles a connection whose timer came due.
func (l *loop) fire(c *conn) {
	switch c.state {
	case stateHandshake, stateHook:
		l.eng.stats.handshakeTimeouts.Add(1)
		c.reject(errHandshakeTimeout)
	case stateOpen:
		l.fireOpen(c)
	case stateClosing, stateRefused:
		if l.wheel.due(c.closeAt) {
			c.abandon()
			return
		}
		c.tryHalfClose()
		l.scheduleClosing(c)
	}
}

// fireOpen runs an open connection's timers: token expiry, drain, idle,
// pong timeout, ping, in that order of precedence.
func (l *loop) fireOpen(c *conn) {
	cfg := &l.eng.cfg
	now := l.wheel.now
	if c.expired() {
		l.eng.stats.tokenExpiries.Add(1)
		c.closeWith(wire.CloseTokenExpired, wire.ReasonTokenExpired)
		return
	}
	switch {
	case c.draining && l.wheel.due(c.closeAt):
		c.closeWith(wire.CloseGoingAway, wire.DrainingReason(rand.N(cfg.DrainWindow)))
		return
	// Signed differences: a tick caught up late may run before a read
	// stamped by clock.
	case cfg.IdleTimeout > 0 && int32(now-c.lastData) >= int32(l.ticks(cfg.IdleTimeout)):
		c.closeWith(wire.CloseNormal, wire.ReasonIdleTimeout)
		return
	case c.pingSent && int32(now-c.pingAt) >= int32(l.ticks(cfg.PongTimeout)):
		// The peer is gone or wedged: no point waiting for a closing handshake.
		l.eng.stats.pongTimeouts.Add(1)
		c.closeWith(wire.ClosePolicyViolation, wire.ReasonPongTimeout)
		if c.state != stateClosed {
			c.abandon()
		}
		return
	case !c.pingSent && int32(now-c.lastRead) >= int32(l.ticks(cfg.PingInterval)):
		c.pingSent, c.pingAt = true, l.clock()
		if c.endpoint.kind() == endpointHeartbeat {
			l.out = c.appendHeartbeatPing(l.out)
		} else {
			l.out = append(l.out, pingFrame...)
		}
		c.flush()
	}
	l.scheduleOpen(c)
}

// pingFrame is the server's ping: empty, precompiled once.
var pingFrame = []byte{0x80 | byte(ws.OpPing), 0}

// scheduleOpen sets an open connection's next timer: the earliest of its
// token expiry, drain time, idle deadline, pong deadline and next ping.
func (l *loop) scheduleOpen(c *conn) {
	if c.state != stateOpen {
		return // closed by gnet during a write in this turn
	}
	cfg := &l.eng.cfg
	var at uint32
	if c.pingSent {
		at = c.pingAt + l.ticks(cfg.PongTimeout)
	} else {
		at = c.lastRead + l.ticks(cfg.PingInterval)
	}
	if cfg.IdleTimeout > 0 {
		at = earlier(at, c.lastData+l.ticks(cfg.IdleTimeout))
	}
	if c.draining {
		at = earlier(at, c.closeAt)
	}
	if c.claims != nil {
		at = earlier(at, c.expireAt())
	}
	l.wheel.schedule(c, at)
}

func earlier(a, b uint32) uint32 {
	if int32(a-b) <= 0 {
		return a
	}
	return b
}

// scheduleClosing checks a closing connection every tick until its output
// is sent (then it can half-close), and then only at its close deadline.
func (l *loop) scheduleClosing(c *conn) {
	if !c.closing() {
		return
	}
	if c.halfClosed {
		l.wheel.schedule(c, c.closeAt)
	} else {
		l.wheel.schedule(c, l.wheel.now+1)
	}
}

// drain gives every open connection a close time spread uniformly over
// window from now, so clients do not reconnect in one storm, and closes
// those still in their handshake. Runs on the loop.
func (l *loop) drain(window time.Duration) {
	span := max(l.ticks(window), 1)
	l.wheel.each(func(c *conn) {
		switch {
		case c.state == stateHandshake, c.state == stateHook:
			_ = l.el.Close(c.gc)
		case c.state == stateOpen && !c.draining:
			c.draining = true
			c.closeAt = l.clock() + rand.Uint32N(span)
			l.scheduleOpen(c)
		}
	})
}

// goAway sends close 1001 to every open connection of this loop now and
// closes those still in their handshake. Runs on the loop.
func (l *loop) goAway() {
	l.wheel.each(func(c *conn) {
		switch c.state {
		case stateHandshake, stateHook:
			_ = l.el.Close(c.gc)
		case stateOpen:
			c.closeWith(wire.CloseGoingAway, wire.ReasonShuttingDown)
		}
	})
}
