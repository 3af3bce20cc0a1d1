package bench

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// finish closes every shard's connections, merges their results and fills
// the report's figures.
func (r *runner) finish(ctx context.Context) error {
	rep := r.rep
	rep.Connections.OpenAtEnd = r.progress().Open
	results := make([]ShardResult, len(r.shards))
	finishErr := r.eachShard(ctx, 30*time.Second, func(i int, h shardHandle, ctx context.Context) (err error) {
		results[i], err = h.finish(ctx)
		return err
	})

	connect, connectRaw, latency, latencyRaw := NewHist(), NewHist(), NewHist(), NewHist()
	var p Progress
	var lostChurn, lostSurvivors uint64
	var survivors, selfCPU int64
	for _, res := range results {
		if res.Connect == nil {
			continue
		}
		connect.Merge(res.Connect)
		connectRaw.Merge(res.ConnectRaw)
		latency.Merge(res.Latency)
		latencyRaw.Merge(res.LatencyRaw)
		for k, v := range res.Errors {
			rep.Errors[k] += v
		}
		lostChurn += res.LostChurn
		survivors, lostSurvivors = survivors+res.Survivors, lostSurvivors+res.LostSurvivors
		addProgress(&p, res.Progress)
		selfCPU += res.End.CPUNanos
	}
	if !isLocalRun(r) {
		selfCPU += selfUsage().CPUNanos
	}
	rep.latency, rep.connect = latency, connect
	rep.ConnectTime, rep.ConnectTimeRaw = connect.Summary(), connectRaw.Summary()

	c := &rep.Connections
	c.Planned = int64(r.cfg.Conns + r.cfg.ChurnConns)
	c.Opened, c.Failed, c.Deflated = p.Handshakes, p.Failed, p.Deflated
	c.RampSeconds = r.readyAt.Sub(r.startedAt).Seconds()
	if c.RampSeconds > 0 {
		c.PerSecond = float64(c.OpenAtReady) / c.RampSeconds
	}
	if r.cfg.Scenario != ScenarioConnect {
		s, raw := latency.Summary(), latencyRaw.Summary()
		rep.Latency, rep.LatencyRaw = &s, &raw
	}
	if m := rep.Messages; m != nil {
		m.Delivered, m.Unique, m.Duplicates, m.OutOfOrder, m.Foreign = p.Delivered, p.Unique, p.Duplicates, p.Late, p.Foreign
		m.Lost = max(m.Expected-m.Unique, 0) + int64(lostChurn)
		m.Survivors, m.LostSurvivors, m.Reconnects = survivors, int64(lostSurvivors), p.Reconnects
		if secs := m.LoadSeconds + m.DrainSeconds; secs > 0 {
			m.DeliveriesPerSec = float64(m.Delivered) / secs
		}
	}
	if r.cfg.Scenario == ScenarioChurn {
		rep.Churn = &ChurnStats{Disconnects: p.ChurnClosed, Completed: p.ChurnDone, LostInChurned: lostChurn}
		if rep.Messages != nil && rep.Messages.LoadSeconds > 0 {
			rep.Churn.PerSec = float64(p.ChurnClosed) / rep.Messages.LoadSeconds
		}
	}
	r.usageFigures(p, selfCPU)
	r.warnSelf()
	if len(r.counters) == 2 && r.counters[0] != nil && r.counters[1] != nil {
		rep.ServerCounters = map[string]float64{}
		for k, end := range r.counters[1] {
			if start, ok := r.counters[0][k]; ok {
				rep.ServerCounters[k] = end - start
			}
		}
	}
	return errors.Join(finishErr, r.checkDeflate(p))
}

func isLocalRun(r *runner) bool { return len(r.shards) == 1 && isLocal(r.shards[0]) }

func addProgress(p *Progress, q Progress) {
	p.Attempted += q.Attempted
	p.Handshakes += q.Handshakes
	p.Failed += q.Failed
	p.Open += q.Open
	p.Closed += q.Closed
	p.Errors += q.Errors
	p.Delivered += q.Delivered
	p.Unique += q.Unique
	p.Duplicates += q.Duplicates
	p.Late += q.Late
	p.Foreign += q.Foreign
	p.EchoSent += q.EchoSent
	p.EchoRecv += q.EchoRecv
	p.ChurnClosed += q.ChurnClosed
	p.ChurnDone += q.ChurnDone
	p.Reconnects += q.Reconnects
	p.WireBytes += q.WireBytes
	p.Deflated += q.Deflated
	p.DeflateDeclined += q.DeflateDeclined
}

// Sample points recorded by runner.sample, in order.
const (
	atBefore = iota
	atReady
	atLoadStart
	atLoadEnd
)

// usageFigures turns the samples into per-connection and per-operation
// costs: the server's from /proc, wsbench's own from its processes.
func (r *runner) usageFigures(p Progress, selfCPU int64) {
	rep := r.rep
	open := rep.Connections.OpenAtReady
	if open == 0 {
		return // nothing was held: no figure per connection, none from zeros
	}
	rampSecs := max(r.readyAt.Sub(r.startedAt).Seconds(), 1e-9)
	var base, after, baseOpen int64
	var heapBase, heapAfter uint64
	for _, rd := range r.ready {
		base += rd.Base.RSS
		after += rd.After.RSS
		heapBase += rd.HeapBase
		heapAfter += rd.HeapAfter
		baseOpen += rd.BaseOpen
	}
	self := &rep.Self
	self.RSSBase, self.RSSReady = base, after
	if marginal := open - baseOpen; marginal > 0 {
		self.BytesPerConn = float64(after-base) / float64(marginal)
		self.HeapBytesPerConn = (float64(heapAfter) - float64(heapBase)) / float64(marginal)
	}
	self.TotalBytesPerConn = float64(after) / float64(open)
	self.CPUSeconds = float64(selfCPU) / 1e9
	if len(r.self) > atReady {
		self.CoresDuringConnect = float64(r.self[atReady].CPUNanos-r.self[atBefore].CPUNanos) / 1e9 / rampSecs
	}
	var selfLoad float64
	if len(r.self) > atLoadEnd && r.loadSeconds > 0 {
		selfLoad = float64(r.self[atLoadEnd].CPUNanos-r.self[atLoadStart].CPUNanos) / 1e9
		self.CoresDuringLoad = selfLoad / r.loadSeconds
	}
	if len(r.kernel) > atReady {
		k := r.kernel
		rep.Kernel = &KernelStats{
			SlabPerConn:   float64(k[atReady].SlabBytes-k[atBefore].SlabBytes) / float64(open),
			TCPMemPerConn: float64(k[atReady].TCPMemBytes-k[atBefore].TCPMemBytes) / float64(open),
		}
	}
	r.hostLoad(rampSecs)
	if len(r.server) <= atReady {
		return
	}
	sv := r.server
	s := &ServerStats{PIDs: r.cfg.ServerPIDs, RSSBefore: sv[atBefore].RSS, RSSReady: sv[atReady].RSS}
	s.CPUConnectSeconds = float64(sv[atReady].CPUNanos-sv[atBefore].CPUNanos) / 1e9
	s.CoresDuringConnect = s.CPUConnectSeconds / rampSecs
	// Handshakes during the ramp; churn reconnects are counted by the load.
	if hs := rep.Connections.OpenAtReady; hs > 0 {
		s.CPUPerHandshakeUs = s.CPUConnectSeconds * 1e6 / float64(hs)
	}
	rssLoaded := sv[atReady].RSS
	if len(sv) > atLoadEnd {
		s.RSSEnd = sv[atLoadEnd].RSS
		s.CPULoadSeconds = float64(sv[atLoadEnd].CPUNanos-sv[atLoadStart].CPUNanos) / 1e9
		if r.loadSeconds > 0 {
			s.CoresDuringLoad = s.CPULoadSeconds / r.loadSeconds
		}
		s.CPUIdleUsPerConnSec = r.idleCPU // broadcast's IdleBefore, if any
		if r.cfg.Scenario == ScenarioConnect {
			rssLoaded = sv[atLoadEnd].RSS // idle connections, after the hold
			if r.loadSeconds > 0 {
				s.CPUIdleUsPerConnSec = s.CPULoadSeconds * 1e6 / float64(open) / r.loadSeconds
			}
		}
		switch {
		case rep.Messages != nil && p.Delivered > 0:
			s.CPUPerDeliveryUs = s.CPULoadSeconds * 1e6 / float64(p.Delivered)
		case rep.Echo != nil && p.EchoRecv > 0:
			s.CPUPerEchoUs = s.CPULoadSeconds * 1e6 / float64(p.EchoRecv)
		}
		if total := selfLoad + s.CPULoadSeconds; total > 0 && r.cfg.Scenario != ScenarioConnect {
			self.ShareOfCPU = selfLoad / total
		}
	}
	if r.cfg.Scenario == ScenarioConnect || self.ShareOfCPU == 0 {
		selfConnect := float64(r.self[atReady].CPUNanos-r.self[atBefore].CPUNanos) / 1e9
		if total := selfConnect + s.CPUConnectSeconds; total > 0 {
			self.ShareOfCPU = selfConnect / total
		}
	}
	s.BytesPerConn = float64(rssLoaded-s.RSSBefore) / float64(open)
	rep.Server = s
}

// warnSelf warns when wsbench took most of the host's cores while
// connecting or during the load: then it may have set the pace.
func (r *runner) warnSelf() {
	self, cpus := &r.rep.Self, r.rep.Host.CPUs
	if busiest := max(self.CoresDuringConnect, self.CoresDuringLoad); cpus > 0 && busiest > maxSelfShare*float64(cpus) {
		r.rep.Warnings = append(r.rep.Warnings, fmt.Sprintf(
			"wsbench used %.2f of the host's %d cores (over %.0f%%): it may have set the pace, so rates and latencies may be its own; run it on other cores or another host, or with fewer connections", busiest, cpus, 100*maxSelfShare))
	}
}

// maxSelfShare is the share of the host's cores past which wsbench warns
// that it, not the server, may have set the pace.
const maxSelfShare = 0.6

// hostLoad fills the host's busy cores during the ramp and the load, and
// what is left of them after the server and wsbench.
func (r *runner) hostLoad(rampSecs float64) {
	hb := r.hostBusy
	if len(hb) <= atReady || hb[atReady] == 0 {
		return
	}
	cores := func(from, to int, secs float64) (busy, other float64) {
		busy = float64(hb[to]-hb[from]) / 1e9
		other = busy - float64(r.self[to].CPUNanos-r.self[from].CPUNanos)/1e9
		if len(r.server) > to {
			other -= float64(r.server[to].CPUNanos-r.server[from].CPUNanos) / 1e9
		}
		return busy / secs, max(other, 0) / secs
	}
	h := &HostLoad{}
	h.BusyCoresDuringConnect, h.OtherCoresDuringConnect = cores(atBefore, atReady, rampSecs)
	if len(hb) > atLoadEnd && r.loadSeconds > 0 {
		h.BusyCoresDuringLoad, h.OtherCoresDuringLoad = cores(atLoadStart, atLoadEnd, r.loadSeconds)
	}
	r.rep.Load = h
}
