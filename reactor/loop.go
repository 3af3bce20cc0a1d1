package reactor

import (
	"context"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

// loop is the reactor's state for one gnet event loop: its timer wheel and
// scratch write buffer. Everything in it is touched only on that loop.
type loop struct {
	el     gnet.EventLoop
	eng    *Engine
	wheel  wheel
	start  time.Time // when wheel.now was 0
	out    []byte    // scratch: answers to one connection in one turn, written once
	onTick gnet.Runnable
}

// maxScratch is the capacity above which the scratch buffer is dropped after
// use rather than kept, so one large echo does not pin memory per loop.
const maxScratch = 64 << 10

func newLoop(el gnet.EventLoop, eng *Engine) *loop {
	l := &loop{el: el, eng: eng, wheel: newWheel(), start: time.Now()}
	l.onTick = gnet.RunnableFunc(l.tick)
	return l
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

// tick advances the wheel to the current time, firing due timers. It runs
// on the loop, posted by the engine's ticker.
func (l *loop) tick(context.Context) error {
	target := uint32(time.Since(l.start) / l.eng.tick)
	for int32(target-l.wheel.now) > 0 {
		l.wheel.advance(l.fire)
	}
	return nil
}

// fire handles a connection whose timer came due.
func (l *loop) fire(c *conn) {
	switch c.state {
	case stateHandshake:
		l.eng.stats.handshakeTimeouts.Add(1)
		c.reject(errHandshakeTimeout)
	case stateOpen:
		l.scheduleIdle(c)
	case stateClosing:
		if l.wheel.due(c.closeAt) {
			_ = l.el.Close(c.gc)
			return
		}
		c.tryHalfClose()
		l.scheduleClosing(c)
	}
}

// scheduleIdle parks an open connection with nothing timed to do: it is
// visited once a wheel revolution so that shutdown can find it.
func (l *loop) scheduleIdle(c *conn) {
	l.wheel.schedule(c, l.wheel.now+wheelSlots-1)
}

// scheduleClosing checks a closing connection every tick until its output
// is sent (then it can half-close), and then only at its close deadline.
func (l *loop) scheduleClosing(c *conn) {
	if c.halfClosed {
		l.wheel.schedule(c, c.closeAt)
	} else {
		l.wheel.schedule(c, l.wheel.now+1)
	}
}

// goAway sends close 1001 to every open connection of this loop and
// closes those still in their handshake. Runs on the loop.
func (l *loop) goAway(context.Context) error {
	l.wheel.each(func(c *conn) {
		switch c.state {
		case stateHandshake:
			_ = l.el.Close(c.gc)
		case stateOpen:
			c.closeWith(ws.StatusGoingAway, "server shutting down")
		}
	})
	return nil
}
