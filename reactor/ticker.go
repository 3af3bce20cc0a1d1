package reactor

import (
	"math"
	"time"
)

// The ticker hands each loop the ticks of its timer wheel. It sleeps until
// the earliest tick at which some loop has a timer due (wheel.wake), not
// from tick to tick: a loop with no timer due is not woken, whatever the
// tick, and a busy one at most once a tick. A loop whose wheel gets an
// earlier deadline kicks it (loop.lowered). A loop's lag is probed when
// someone reads it (lag.go), not on a clock.

// runTicker posts a tick to each loop with a timer due, then sleeps until
// the next one is. gnet's own OnTick runs off the loops, so ticks are
// handed over with Execute.
func (e *Engine) runTicker() {
	timer := time.NewTimer(e.tick)
	defer timer.Stop()
	var refused [numRefusals]int64
	var unauthorized, proxyErrors int64
	nextReport := time.Now().Add(refusalReportEvery)
	for {
		select {
		case <-e.stopTick:
			return
		case <-e.kickTick:
		case <-timer.C:
		}
		now := time.Now()
		if !now.Before(nextReport) {
			e.reportRefusals(&refused)
			e.reportTokenRefusals(&unauthorized)
			e.reportProxyErrors(&proxyErrors)
			nextReport = now.Add(refusalReportEvery)
		}
		// While the loops are read, any deadline brought forward kicks.
		e.tickerAt.Store(math.MaxInt64)
		next := nextReport
		for _, l := range *e.loops.Load() {
			if l.tickDue(now) {
				if !l.tickPending() { // one at a time: a stuck loop's wait shows as its lag
					l.postTick(now)
				}
				next = now // look again a tick on: the loop settles its next wake
				continue
			}
			next = earliest(next, l.wakeTime())
		}
		next = later(next, now.Add(e.tick))
		e.tickerAt.Store(e.nanos(next))
		timer.Reset(next.Sub(now))
	}
}

// tickDue reports whether the ticker should post a tick to l at now: a
// timer has come due. Runs on the ticker.
func (l *loop) tickDue(now time.Time) bool {
	target := uint32(now.Sub(l.start) / l.eng.tick)
	return int32(target-l.wheel.wake.Load()) >= 0
}

// wakeTime is when l's wheel next has a timer due.
func (l *loop) wakeTime() time.Time {
	return l.start.Add(time.Duration(l.wheel.wake.Load()) * l.eng.tick)
}

// lowered is called on the loop when its wheel's wake moved earlier: it
// kicks the ticker if the ticker means to sleep past it.
func (l *loop) lowered() {
	if l.eng.nanos(l.wakeTime()) < l.eng.tickerAt.Load() {
		select {
		case l.eng.kickTick <- struct{}{}:
		default: // a kick is pending already
		}
	}
}

// wantTick asks for the next tick: resumes waiting to read on and slow
// consumers to catch up are looked at every tick.
func (l *loop) wantTick() { l.wheel.lower(l.wheel.now + 1) }

// nanos is t in epoch nanos.
func (e *Engine) nanos(t time.Time) int64 { return int64(t.Sub(e.epoch)) }

func earliest(t time.Time, more ...time.Time) time.Time {
	for _, u := range more {
		if u.Before(t) {
			t = u
		}
	}
	return t
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
