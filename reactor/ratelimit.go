package reactor

import (
	"net/netip"
	"sync"
	"time"
)

// Inbound rate limits: two token buckets per connection (messages and
// bytes), kept as three integers in the conn and refilled from the wheel's
// clock whenever bytes arrive — no timer, no goroutine.
//
// Bytes are charged as they are read, every frame's, headers included:
// pongs, fragments and messages dropped by the limit cost their bytes too,
// so no kind of frame reads for free. A data message (or a ping) is
// admitted when its first frame's header arrives, before any of its
// payload is kept or inflated (wsproto.Decoder.SetGate), while both
// buckets have credit; one refused is read past and dropped whole. A
// compressed message is charged its inflated size as well once inflated.
//
// Message credit is counted in thousandths of a message, so a refill of a
// fraction of a message per tick is not lost. Byte credit may go into debt:
// one message larger than the burst (up to MaxMessageSize) still passes and
// the average stays at ByteRate. A peer whose debt passes the burst plus
// MaxMessageSize keeps sending what the limit refuses: it is closed.
type rateLimits struct {
	msgRate, msgBurst   int64 // messages per second (0: no limit); burst in milli-messages
	byteRate, byteBurst int64 // bytes per second (0: no limit); burst in bytes
	byteFloor           int64 // the deepest debt allowed (negative)
	tickMicros          int64 // wheel tick in µs
}

const milli = 1000

func newRateLimits(cfg *Config, tick time.Duration) rateLimits {
	r := rateLimits{tickMicros: int64(tick / time.Microsecond)}
	if cfg.MessageRate > 0 {
		r.msgRate, r.msgBurst = int64(cfg.MessageRate), int64(cfg.MessageBurst)*milli
	}
	if cfg.ByteRate > 0 {
		r.byteRate, r.byteBurst = int64(cfg.ByteRate), int64(cfg.ByteRate)
		r.byteFloor = max(-(r.byteBurst + cfg.Limits.MaxMessageSize), minByteCredit+1)
	}
	return r
}

// on reports whether any inbound limit is set.
func (r *rateLimits) on() bool { return r.msgRate > 0 || r.byteRate > 0 }

// minByteCredit is where the byte bucket's debt stops counting.
const minByteCredit = -1 << 30

// fillBuckets gives a new connection full buckets.
func (c *conn) fillBuckets() {
	r := &c.loop.eng.limits
	c.rateAt = c.loop.clock()
	c.msgCredit, c.byteCredit = int32(r.msgBurst), int32(r.byteBurst)
}

// refill adds the credit earned since the last refill. Runs on c's loop.
func (c *conn) refill() {
	r := &c.loop.eng.limits
	now := c.lastRead // the read that brought the bytes
	if elapsed := int64(now - c.rateAt); elapsed > 0 {
		micros := min(elapsed*r.tickMicros, 1_000_000_000) // past 1000 s every bucket is full anyway
		c.msgCredit = int32(min(int64(c.msgCredit)+micros*r.msgRate/milli, r.msgBurst))
		c.byteCredit = int32(min(int64(c.byteCredit)+micros*r.byteRate/1_000_000, r.byteBurst))
		c.rateAt = now
	}
}

// chargeBytes charges n bytes read from c, and reports false when that
// puts c deeper in debt than the limit allows. Runs on c's loop.
func (c *conn) chargeBytes(n int) bool {
	r := &c.loop.eng.limits
	if r.byteRate == 0 {
		return true
	}
	c.refill()
	credit := int64(c.byteCredit) - int64(n)
	c.byteCredit = int32(max(credit, minByteCredit))
	return credit >= r.byteFloor
}

// admit charges one message (or ping) whose bytes chargeBytes counts, or
// reports false, charging nothing, when either bucket is empty. Runs on
// c's loop.
func (c *conn) admit() bool {
	r := &c.loop.eng.limits
	c.refill()
	if r.msgRate > 0 && c.msgCredit < milli || r.byteRate > 0 && c.byteCredit <= 0 {
		return false
	}
	if r.msgRate > 0 {
		c.msgCredit -= milli
	}
	return true
}

// ipLimiter is the node's per-address handshake rate limit: a token bucket
// per peer address, in a map of at most maxEntries. Full buckets carry no
// information, so when the map is full they are swept out (at most once a
// second); if it is still full, an arbitrary entry is evicted, which at
// worst gives that address a fresh burst. Memory stays bounded at about
// 64 bytes per entry. Any goroutine.
type ipLimiter struct {
	rate, burst float64 // handshakes per second, and the burst
	maxEntries  int

	mu        sync.Mutex
	buckets   map[netip.Addr]ipBucket
	lastSweep time.Time
}

type ipBucket struct {
	tokens float64
	at     time.Time
}

func newIPLimiter(rate float64, burst, maxEntries int) *ipLimiter {
	if rate <= 0 {
		return nil
	}
	return &ipLimiter{rate: rate, burst: float64(burst), maxEntries: maxEntries, buckets: make(map[netip.Addr]ipBucket)}
}

// allow charges one handshake to ip at now, or reports false.
func (l *ipLimiter) allow(ip netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	if !ok {
		l.makeRoom(now)
		b = ipBucket{tokens: l.burst, at: now}
	}
	b.tokens = min(b.tokens+now.Sub(b.at).Seconds()*l.rate, l.burst)
	b.at = now
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	l.buckets[ip] = b
	return allowed
}

// makeRoom frees an entry when the map is full. l.mu must be held.
func (l *ipLimiter) makeRoom(now time.Time) {
	if len(l.buckets) < l.maxEntries {
		return
	}
	if now.Sub(l.lastSweep) >= time.Second {
		l.lastSweep = now
		for ip, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
				delete(l.buckets, ip)
			}
		}
	}
	for ip := range l.buckets {
		if len(l.buckets) < l.maxEntries {
			break
		}
		delete(l.buckets, ip)
	}
}

func (l *ipLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
