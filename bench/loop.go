package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/wsproto"
)

// executor runs tasks on a loop's goroutine: a gnet event loop, or a
// taskLoop carrying TLS connections.
type executor interface {
	Execute(ctx context.Context, r gnet.Runnable) error
}

// loop is the shard's state for one client event loop (gnet's, or a
// taskLoop). Apart from stats (atomics, read by progress reports) it is
// touched only on the loop.
type loop struct {
	el executor
	sh *Shard

	conns []*conn         // connections on this loop, in any state
	dec   wsproto.Decoder // decodes for every connection between frames
	out   []byte          // scratch: one frame or request being written
	pay   []byte          // scratch: one echo payload, or a subscribe command
	rng   *rand.Rand

	connect    *Hist // connect time from when the dial was due
	connectRaw *Hist // connect time from when the dial began
	latency    *Hist // delivery or echo latency from the intended send time
	latencyRaw *Hist // the same from the actual send time (not corrected)
	intervalMu sync.Mutex
	interval   *Hist // latency since the last progress report

	errors    map[string]int64
	lostChurn uint64 // gaps seen by churned subscribers before they left
	echoing   bool   // echo load running: send on schedule
	finishing bool   // the shard is closing every connection
	lastTick  int64  // unix nanos of the previous tick
	tickFn    gnet.Runnable
	churnFn   gnet.Runnable

	stats loopStats
}

// loopStats are cumulative counters, written by the loop and read by
// progress reports.
type loopStats struct {
	handshakes, open, closed, errors           atomic.Int64
	delivered, unique, duplicates, late        atomic.Int64
	foreign                                    atomic.Int64 // text frames without a stamp
	echoSent, echoRecv, churnClosed, churnDone atomic.Int64
	wireBytes                                  atomic.Int64 // bytes read from the sockets (after TLS), handshakes included
	deflated, deflateDeclined                  atomic.Int64 // 101s with and without the permessage-deflate offered
}

func newLoop(el executor, sh *Shard) *loop {
	l := &loop{
		el: el, sh: sh,
		rng:        rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		connect:    NewHist(),
		connectRaw: NewHist(),
		latency:    NewHist(),
		latencyRaw: NewHist(),
		interval:   NewHist(),
		errors:     make(map[string]int64),
	}
	l.dec.Init(wsproto.ClientSide, &sh.limits)
	l.tickFn = gnet.RunnableFunc(func(context.Context) error {
		l.tick(time.Now().UnixNano())
		return nil
	})
	l.churnFn = gnet.RunnableFunc(func(context.Context) error {
		l.churnOne()
		return nil
	})
	return l
}

func (l *loop) countError(kind string) {
	l.errors[kind]++
	l.stats.errors.Add(1)
}

func (l *loop) add(c *conn) {
	c.slot = int32(len(l.conns))
	l.conns = append(l.conns, c)
}

// closeConn closes c now, on its loop: its OnClose accounting runs before
// this returns.
func (l *loop) closeConn(c *conn) {
	switch w := c.gc.(type) {
	case *tlsWire:
		w.close(nil)
	case gnet.Conn:
		_ = w.EventLoop().Close(w)
	}
}

func (l *loop) remove(c *conn) {
	i := c.slot
	last := l.conns[len(l.conns)-1]
	l.conns[i], last.slot = last, i
	l.conns[len(l.conns)-1] = nil
	l.conns = l.conns[:len(l.conns)-1]
	c.slot = -1
}

// write sends one masked frame to c.
func (l *loop) write(c *conn, op ws.OpCode, payload []byte) {
	var mask [4]byte
	u := l.rng.Uint32()
	mask[0], mask[1], mask[2], mask[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	l.out = wsproto.AppendMaskedFrame(l.out[:0], op, true, mask, payload)
	_, _ = c.gc.Write(l.out)
	if cap(l.out) > 64<<10 {
		l.out = nil
	}
}

// onDelivery accounts one message received by a subscriber.
func (l *loop) onDelivery(c *conn, payload []byte, now int64) {
	st, ok := ParseStamp(payload)
	if !ok {
		l.stats.foreign.Add(1)
		return
	}
	l.stats.delivered.Add(1)
	l.record(now-st.Intended, now-st.Intended-st.Delay)
	t := c.track(st.Publisher, l.sh.plan.Publishers)
	if t == nil {
		l.stats.foreign.Add(1)
		return
	}
	switch t.observe(st.Seq) {
	case seqDuplicate:
		l.stats.duplicates.Add(1)
		return
	case seqLate:
		l.stats.late.Add(1)
	}
	if c.stable {
		l.stats.unique.Add(1)
	}
}

func (l *loop) record(corrected, raw int64) {
	l.latency.RecordNanos(corrected)
	l.latencyRaw.RecordNanos(raw)
	l.intervalMu.Lock()
	l.interval.RecordNanos(corrected)
	l.intervalMu.Unlock()
}

// takeInterval returns the latencies recorded since the last call. Any
// goroutine.
func (l *loop) takeInterval(into *Hist) {
	l.intervalMu.Lock()
	into.Merge(l.interval)
	l.interval.Reset()
	l.intervalMu.Unlock()
}

// startEcho begins an echo connection's sending: closed loop sends now; a
// fixed rate spreads the connections' first sends over one interval.
func (l *loop) startEcho(c *conn, now int64) {
	iv := l.sh.echoInterval
	if iv == 0 {
		l.sendEcho(c, now, now)
		return
	}
	c.ext().echoNext = now + int64(uint64(c.id)*2654435761%1000)*iv/1000
}

// sendEcho sends c's next stamped message, due at intended.
func (l *loop) sendEcho(c *conn, intended, now int64) {
	x := c.ext()
	x.echoSeq++
	x.echoSent = now
	st := Stamp{Seq: x.echoSeq, Intended: intended, Delay: now - intended}
	l.pay = appendPayloadKind(l.pay[:0], l.sh.plan.PayloadKind, st, l.sh.plan.Payload)
	l.write(c, ws.OpText, l.pay)
	l.stats.echoSent.Add(1)
}

// onEchoReply times an echoed message and, while the load runs, sends the
// next: at once in closed loop, or when due at a fixed rate. A reply that
// comes after the next send was due is followed at once by that send, still
// stamped with its due time, so a stall is charged to every message it
// delayed (coordinated-omission correction).
func (l *loop) onEchoReply(c *conn, payload []byte, now int64) {
	st, ok := ParseStamp(payload)
	x := c.ext()
	if !ok || x.echoSent == 0 {
		l.stats.foreign.Add(1)
		return
	}
	l.record(now-st.Intended, now-x.echoSent)
	x.echoSent = 0
	l.stats.echoRecv.Add(1)
	if !l.echoing || c.state != stateOpen {
		return
	}
	iv := l.sh.echoInterval
	switch {
	case iv == 0:
		l.sendEcho(c, now, now)
	case x.echoNext <= now:
		l.sendEcho(c, x.echoNext, now)
		x.echoNext += iv
	}
}

// tick runs timers: handshake and close deadlines, and fixed-rate echo
// sends. Runs on the loop, posted by the shard's ticker.
func (l *loop) tick(now int64) {
	iv := l.sh.echoInterval
	handshakeDue := now - int64(l.sh.plan.ConnectTimeout)
	closeDue := now - int64(l.sh.plan.CloseTimeout)
	for i := len(l.conns) - 1; i >= 0; i-- {
		c := l.conns[i]
		switch c.state {
		case stateHandshake:
			if c.dialed < handshakeDue {
				c.fail(kindHandshakeTimeout)
				l.closeConn(c)
			}
		case stateClosing:
			if c.dialed < closeDue {
				c.fail(kindCloseTimeout)
				l.closeConn(c)
			}
		case stateOpen:
			if c.role == roleEcho && l.echoing && iv > 0 {
				if x := c.ext(); x.echoSent == 0 && x.echoNext <= now {
					l.sendEcho(c, l.dueAt(x.echoNext, now), now)
					x.echoNext += iv
				}
			}
		}
	}
	l.lastTick = now
}

// dueAt is the intended time of a send the tick at now finds due at next.
// One that fell due since the last tick counts as due now: the tick's
// resolution is the sender's, not the server's delay. One that was due
// before the last tick waited for a reply, and keeps its time, so the wait
// is charged (coordinated-omission correction).
func (l *loop) dueAt(next, now int64) int64 {
	if next > l.lastTick {
		return now
	}
	return next
}
