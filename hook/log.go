package hook

import (
	"sync/atomic"
	"time"
)

// logPeriod is the least time between two log lines of one kind (call
// failures, dropped events, batch failures): an outage costs a few lines,
// not one per call. The counters in Stats miss nothing.
const logPeriod = 10 * time.Second

// every lets one caller through per period, from any goroutine.
type every struct {
	next atomic.Int64 // Unix nanoseconds before which allow refuses
}

// allow reports whether a line may be logged now, and if so starts the next
// period.
func (e *every) allow(now time.Time, period time.Duration) bool {
	next := e.next.Load()
	if now.UnixNano() < next {
		return false
	}
	return e.next.CompareAndSwap(next, now.Add(period).UnixNano())
}

// logFailure logs a failed call, at most once per logPeriod, with the
// failure totals so far.
func (c *Client) logFailure(event string, err error) {
	if !c.failLog.allow(time.Now(), logPeriod) {
		return
	}
	s := c.Stats()
	c.cfg.Logger.Warn("hook: call failed", "event", event, "err", err,
		"connect_failed", s.ConnectFailed, "publish_failed", s.PublishFailed,
		"message_failed", s.MessageFailed, "busy", s.Busy)
}
