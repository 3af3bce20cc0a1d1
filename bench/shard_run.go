package bench

import (
	"context"
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
	Progress   Progress         `json:"progress"`
	Errors     map[string]int64 `json:"errors"`
	LostChurn  uint64           `json:"lost_churn"`
	Connect    *Hist            `json:"-"`
	ConnectRaw *Hist            `json:"-"`
	Latency    *Hist            `json:"-"`
	LatencyRaw *Hist            `json:"-"`
	End        ProcSample       `json:"end"` // own usage at the end
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
	err := s.onLoops(ctx, func(l *loop) {
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
	})
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
