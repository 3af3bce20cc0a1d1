package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"time"
)

// churn closes a random churn subscriber and dials a replacement, at
// ChurnRate per second, until StopLoad. It is an open model: a session's
// arrival is due by the clock (evenly spaced, or with Plan.Poisson a
// Poisson process of that rate), whatever the server did with the last,
// and its connect time counts from when it was due.
func (s *Shard) churn() {
	defer s.churnWG.Done()
	due := time.Now()
	for k := 0; ; k++ {
		if k > 0 {
			due = due.Add(arrivalGap(s.plan.ChurnRate, s.plan.Poisson, rand.ExpFloat64))
		}
		if wait := time.Until(due); wait > 0 {
			select {
			case <-time.After(wait):
			case <-s.ctx.Done():
				return
			case <-s.churnStop:
				return
			}
		}
		loops := *s.loops.Load()
		if len(loops) == 0 {
			continue
		}
		l := loops[k%len(loops)]
		_ = l.el.Execute(s.ctx, l.churnFn)
		job := dialJob{id: churnIDBase + s.plan.FirstID + s.churnSeq.Add(1), intended: due.UnixNano()}
		select {
		case s.jobs <- job:
		case <-s.ctx.Done():
			return
		case <-s.churnStop:
			return
		}
	}
}

// survivor reports whether c is a stable subscriber still open.
func (c *conn) survivor() bool {
	return c.stable && c.state == stateOpen && c.role == roleSubscriber
}

// survivorHighs is, for each of n publishers, the highest number any of
// l's survivors received. Runs on the loop.
func (l *loop) survivorHighs(n int) []uint32 {
	highs := make([]uint32, n)
	for _, c := range l.conns {
		if !c.survivor() {
			continue
		}
		for p := range highs {
			if t := c.trackOf(p); t != nil {
				highs[p] = max(highs[p], t.high)
			}
		}
	}
	return highs
}

// survivorLoss counts l's survivors and the messages they lack: for each
// publisher, highs less the distinct numbers each received. Runs on the
// loop.
func (l *loop) survivorLoss(highs []uint32) (n int64, lost uint64) {
	for _, c := range l.conns {
		if !c.survivor() {
			continue
		}
		n++
		for p, high := range highs {
			var got uint32
			if t := c.trackOf(p); t != nil {
				got = t.unique
			}
			if high > got {
				lost += uint64(high - got)
			}
		}
	}
	return n, lost
}

// arrivalGap is the time to the next session at rate per second: 1/rate,
// or with poisson an exponential gap of that mean (exp draws one of mean 1).
func arrivalGap(rate float64, poisson bool, exp func() float64) time.Duration {
	gap := 1 / rate
	if poisson {
		gap *= exp()
	}
	return time.Duration(gap * float64(time.Second))
}

// churnOne closes one open churn subscriber of l, picked at random. Runs on
// the loop.
func (l *loop) churnOne() {
	if len(l.conns) == 0 {
		return
	}
	for range 32 {
		c := l.conns[l.rng.IntN(len(l.conns))]
		if c.state == stateOpen && c.role == roleSubscriber && !c.stable {
			c.closeGracefully(time.Now().UnixNano())
			l.stats.churnClosed.Add(1)
			return
		}
	}
}

// Progress is a shard's cumulative counters.
type Progress struct {
	Attempted   int64 `json:"attempted"`    // dials started
	Handshakes  int64 `json:"handshakes"`   // 101s received
	Failed      int64 `json:"failed"`       // dials or handshakes that failed
	Open        int64 `json:"open"`         // connections open now
	Closed      int64 `json:"closed"`       // connections ended, for any reason
	Errors      int64 `json:"errors"`       // entries in the error table
	Delivered   int64 `json:"delivered"`    // stamped messages received by subscribers
	Unique      int64 `json:"unique"`       // distinct messages received by stable subscribers
	Duplicates  int64 `json:"duplicates"`   // messages received twice
	Late        int64 `json:"late"`         // messages received after a later one (out of order)
	Foreign     int64 `json:"foreign"`      // text frames without a stamp
	EchoSent    int64 `json:"echo_sent"`    // echo messages sent
	EchoRecv    int64 `json:"echo_recv"`    // echo replies received
	ChurnClosed int64 `json:"churn_closed"` // churn disconnects started
	ChurnDone   int64 `json:"churn_done"`   // churn disconnects completed
	Reconnects  int64 `json:"reconnects"`   // stable subscribers dropped by the server and redialled (Config.Reconnect)
	WireBytes   int64 `json:"wire_bytes"`   // bytes read from the sockets (after TLS), handshakes included
	Deflated    int64 `json:"deflated"`     // handshakes that negotiated permessage-deflate
	// DeflateDeclined counts 101s without permessage-deflate when it was
	// offered (Config.Deflate); those connections fail.
	DeflateDeclined int64 `json:"deflate_declined"`
}

// Progress sums the loops' counters. Any goroutine.
func (s *Shard) Progress() Progress {
	p := Progress{
		Attempted: s.attempted.Load(),
		Failed:    s.dialFailed.Load() + s.unopened.Load(),
	}
	for _, l := range *s.loops.Load() {
		st := &l.stats
		p.Handshakes += st.handshakes.Load()
		p.Open += st.open.Load()
		p.Closed += st.closed.Load()
		p.Errors += st.errors.Load()
		p.Delivered += st.delivered.Load()
		p.Unique += st.unique.Load()
		p.Duplicates += st.duplicates.Load()
		p.Late += st.late.Load()
		p.Foreign += st.foreign.Load()
		p.EchoSent += st.echoSent.Load()
		p.EchoRecv += st.echoRecv.Load()
		p.ChurnClosed += st.churnClosed.Load()
		p.ChurnDone += st.churnDone.Load()
		p.WireBytes += st.wireBytes.Load()
		p.Deflated += st.deflated.Load()
		p.DeflateDeclined += st.deflateDeclined.Load()
	}
	p.Errors += s.dialFailed.Load()
	p.Reconnects = int64(s.redials.Load())
	return p
}

// IntervalHist merges the latencies recorded since the last call. Any
// goroutine.
func (s *Shard) IntervalHist() *Hist {
	h := NewHist()
	for _, l := range *s.loops.Load() {
		l.takeInterval(h)
	}
	return h
}

// ShardResult is what a shard reports at the end of a run.
type ShardResult struct {
	Progress  Progress         `json:"progress"`
	Errors    map[string]int64 `json:"errors"`
	LostChurn uint64           `json:"lost_churn"`
	// Survivors are the stable subscribers still connected at the end,
	// and LostSurvivors the messages they missed: for each publisher, the
	// highest number any survivor of this shard received, less the
	// distinct numbers each survivor received. With no connection lost
	// this is the run's loss; with a node killed it is the loss of the
	// connections that stayed up.
	Survivors     int64      `json:"survivors"`
	LostSurvivors uint64     `json:"lost_survivors"`
	Connect       *Hist      `json:"-"`
	ConnectRaw    *Hist      `json:"-"`
	Latency       *Hist      `json:"-"`
	LatencyRaw    *Hist      `json:"-"`
	End           ProcSample `json:"end"` // own usage at the end
}

// Finish stops dialing, closes every connection and returns the shard's
// results. The shard cannot be used again.
func (s *Shard) Finish(ctx context.Context) (ShardResult, error) {
	s.stopChurn.Do(func() { close(s.churnStop) })
	s.cancel()
	s.churnWG.Wait()
	s.wg.Wait()
	r := ShardResult{
		Errors:     make(map[string]int64),
		Connect:    NewHist(),
		ConnectRaw: NewHist(),
		Latency:    NewHist(),
		LatencyRaw: NewHist(),
	}
	var mu sync.Mutex
	// The survivors' loss, in two passes on the loops: the highest number
	// of each publisher any survivor got, then what each survivor lacks.
	highs := make([]uint32, max(s.plan.Publishers, 1))
	err := s.onLoops(ctx, func(l *loop) {
		mine := l.survivorHighs(len(highs))
		mu.Lock()
		for p, h := range mine {
			highs[p] = max(highs[p], h)
		}
		mu.Unlock()
	})
	err = errors.Join(err, s.onLoops(ctx, func(l *loop) {
		n, lost := l.survivorLoss(highs)
		mu.Lock()
		r.Survivors, r.LostSurvivors = r.Survivors+n, r.LostSurvivors+lost
		mu.Unlock()
	}))
	err = errors.Join(err, s.onLoops(ctx, func(l *loop) {
		l.finishing = true
		for i := len(l.conns) - 1; i >= 0; i-- {
			l.closeConn(l.conns[i])
		}
		mu.Lock()
		defer mu.Unlock()
		r.Connect.Merge(l.connect)
		r.ConnectRaw.Merge(l.connectRaw)
		r.Latency.Merge(l.latency)
		r.LatencyRaw.Merge(l.latencyRaw)
		r.LostChurn += l.lostChurn
		for k, v := range l.errors {
			r.Errors[k] += v
		}
	}))
	s.dialErrMu.Lock()
	maps.Copy(r.Errors, s.dialErrs)
	s.dialErrMu.Unlock()
	r.Progress = s.Progress()
	r.End = selfUsage()
	if stopErr := s.cli.Stop(); err == nil && stopErr != nil {
		err = fmt.Errorf("bench: stop gnet client: %w", stopErr)
	}
	s.stopTLSLoops()
	return r, err
}
