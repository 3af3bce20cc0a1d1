package reactor

import (
	"context"
	"time"
)

// A loop's lag is how late a tick posted to it runs: how long the work
// queued before it and the loop's events keep it waiting. The ticker posts
// ticks only when a timer is due, so an idle loop is not woken for its lag:
// reading the lag (Stats, behind /api/stats, /metrics and the agent check)
// posts a probe when the last tick is older than lagProbeEvery. A tick
// posted and not yet run counts as late as it is so far, so a stuck loop
// shows a lag that grows, not the last one measured: the ticker posts no
// other tick to a loop while one waits. Times are epoch nanos
// (Engine.nanos), on the monotonic clock.

// lagProbeEvery is the age past which reading a loop's lag probes it again.
const lagProbeEvery = time.Second

// postTick posts a tick to l, stamped now. The stamp is taken back if
// the loop refuses the tick (the engine has stopped), so that no tick
// seems to wait forever. Runs off the loop.
func (l *loop) postTick(now time.Time) {
	stamp := l.eng.nanos(now)
	old := l.tickPosted.Swap(stamp)
	if err := l.el.Execute(context.Background(), l.onTick); err != nil {
		l.tickPosted.CompareAndSwap(stamp, old)
	}
}

// tickPending reports whether a tick posted to l has not run yet.
func (l *loop) tickPending() bool { return l.tickPosted.Load() > l.tickRan.Load() }

// lag is l's lag in nanoseconds as of now: its last tick's, or the wait so
// far of a tick posted and not yet run when that is longer. When the last
// tick is older than lagProbeEvery it posts a probe, which the next read
// sees. Runs off the loop.
func (l *loop) lag(now time.Time) int64 {
	at, lag := l.eng.nanos(now), l.stats.lagNanos.Load()
	if l.tickPending() {
		return max(lag, at-l.tickPosted.Load())
	}
	if at-l.tickPosted.Load() >= int64(lagProbeEvery) {
		l.postTick(now)
	}
	return lag
}
