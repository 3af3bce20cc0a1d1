package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// ErrConfig wraps every problem Validate finds: bad usage rather than a
// failed run.
var ErrConfig = errors.New("bench: invalid configuration")

// Run executes one scenario and returns its report. It always ends: every
// phase has a deadline, and ctx cancels the whole run.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	plans, err := cfg.plans(rand.Uint64())
	if err != nil {
		return nil, err
	}
	if cfg.anyTLS() && cfg.TLSInsecure {
		fmt.Fprintln(cfg.Log, "wsbench: WARNING: --tls-insecure: the server's certificate is NOT verified; anyone on the path could be answering")
	}
	r := &runner{cfg: cfg, rep: newReport(cfg)}
	if err := r.start(ctx, plans); err != nil {
		return nil, err
	}
	defer r.killAll()
	r.mon = startMonitor(r)
	runErr := r.run(ctx)
	r.mon.stop()
	if err := r.finish(ctx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	r.rep.Timeline = r.mon.points
	if runErr != nil {
		return r.rep, runErr
	}
	return r.rep, nil
}

func newReport(cfg Config) *Report {
	rep := &Report{
		Scenario: cfg.Scenario, Label: cfg.Label, Started: time.Now().UTC(), Host: hostInfo(),
		Errors: map[string]int64{},
		Settings: Settings{
			URLs: cfg.URLs, Conns: cfg.Conns, ChurnConns: cfg.ChurnConns, ConnectRate: cfg.ConnectRate,
			RampStages: cfg.RampStages, Channels: cfg.Channels, SubscribeVia: cfg.SubscribeVia, Rate: cfg.Rate, Payload: cfg.Payload, PayloadKind: cfg.PayloadKind,
			Deflate: cfg.Deflate, Procs: cfg.Procs, Loops: cfg.Loops, SourceIPs: cfg.SourceIPs,
			Headers: headerNames(cfg.Headers), Subprotocols: redactProtocols(cfg.Subprotocols),
			PublishHeaders: headerNames(cfg.PublishHeaders),
		},
	}
	if cfg.anyTLS() {
		rep.Settings.TLS = cfg.tlsOptions().Describe()
	}
	if po, err := cfg.proxyOptions(); err == nil {
		rep.Settings.ProxyProtocol = po.Describe()
	}
	switch cfg.Scenario {
	case ScenarioConnect:
		rep.Settings.Hold = cfg.Hold.String()
	case ScenarioBroadcast, ScenarioChurn:
		rep.Settings.Duration = cfg.Duration.String()
		rep.Settings.Publishers, rep.Settings.PublishVia = cfg.Publishers, cfg.PublishVia
		if cfg.Rate == 0 {
			rep.Settings.Window = cfg.Window
		}
		rep.Settings.ChurnRate, rep.Settings.Reconnect = cfg.ChurnRate, cfg.Reconnect
		if cfg.Scenario == ScenarioChurn {
			rep.Settings.Arrivals = cfg.Arrivals
		}
	case ScenarioEcho:
		rep.Settings.Duration = cfg.Duration.String()
	}
	return rep
}

// runner carries one run's state across its phases.
type runner struct {
	cfg    Config
	rep    *Report
	shards []shardHandle
	mon    *monitor

	server       []ProcSample // before, ready, load start, load end
	kernel       []KernelSample
	hostBusy     []int64      // the host's busy CPU nanoseconds, same points
	self         []ProcSample // coordinator and workers summed, same points
	readyAt      time.Time
	startedAt    time.Time
	stableByChan []int64
	loadSeconds  float64 // from load start to the end of the drain
	ready        []Ready
	counters     []map[string]float64 // Config.ServerStatsURL at load start and end
	declined     bool                 // the deflate_declined failure is reported
	idleCPU      float64              // broadcast's IdleBefore: server µs per idle connection per second
	lastServer   map[int]ProcSample   // each server's last sample, for one that exits during the run
}

// start launches the shards: in this process, or one worker process each.
func (r *runner) start(ctx context.Context, plans []Plan) error {
	r.startedAt = time.Now()
	r.sample() // before
	for _, p := range plans {
		var h shardHandle
		var err error
		if len(plans) == 1 {
			h, err = startLocal(p)
		} else {
			h, err = startWorker(ctx, r.cfg, p)
		}
		if err != nil {
			r.killAll()
			return err
		}
		r.shards = append(r.shards, h)
	}
	return nil
}

func (r *runner) killAll() {
	for _, h := range r.shards {
		h.kill()
	}
}

// sample records the server's, the kernel's and wsbench's own usage, and
// at the load's start and end the server's counters.
func (r *runner) sample() {
	if at := len(r.self); r.cfg.ServerStatsURL != "" && (at == atLoadStart || at == atLoadEnd) {
		c, err := fetchServerCounters(r.cfg.ServerStatsURL, r.cfg.publishHeader())
		if err != nil {
			fmt.Fprintf(r.cfg.Log, "wsbench: reading server stats: %v\n", err)
		}
		r.counters = append(r.counters, c)
	}
	if len(r.cfg.ServerPIDs) > 0 {
		if r.lastServer == nil {
			r.lastServer = map[int]ProcSample{}
		}
		s, err := sampleProcsSince(r.cfg.ServerPIDs, r.lastServer)
		if err != nil {
			fmt.Fprintf(r.cfg.Log, "wsbench: sampling server: %v\n", err)
		}
		r.server = append(r.server, s)
	}
	k, _ := SampleKernel()
	r.kernel = append(r.kernel, k)
	busy, _ := SampleHostBusy()
	r.hostBusy = append(r.hostBusy, busy)
	self := selfUsage()
	if len(r.shards) > 1 || (len(r.shards) == 1 && !isLocal(r.shards[0])) {
		for _, h := range r.shards {
			u := h.usage()
			self.CPUNanos += u.CPUNanos
			self.RSS += u.RSS
		}
	}
	r.self = append(r.self, self)
}

func isLocal(h shardHandle) bool { _, ok := h.(*localShard); return ok }

func (r *runner) progress() Progress {
	var p Progress
	for _, h := range r.shards {
		addProgress(&p, h.progress())
	}
	return p
}

// run waits for the ramp, then runs the scenario's load.
func (r *runner) run(ctx context.Context) error {
	if err := r.waitReady(ctx); err != nil {
		r.failed("ramp", err)
		return err
	}
	if err := r.checkDeflate(r.progress()); err != nil {
		r.failed("ramp", err)
		return err
	}
	var err error
	switch r.cfg.Scenario {
	case ScenarioConnect:
		err = r.hold(ctx)
	case ScenarioEcho:
		err = r.echo(ctx)
	default:
		err = r.broadcast(ctx)
	}
	if err != nil {
		r.failed("load", err)
	}
	return err
}

// failed records that the run failed at stage, and the counts it reached,
// unless a failure is recorded already.
func (r *runner) failed(stage string, err error) {
	if r.rep.Failure != nil {
		return
	}
	p := r.progress()
	r.rep.Failure = &Failure{Stage: stage, Reason: err.Error(), Planned: int64(r.cfg.Conns + r.cfg.ChurnConns),
		Opened: p.Handshakes, Failed: p.Failed, Open: p.Open}
}

// waitReady waits until every shard has opened or failed every planned
// connection. Its deadline follows progress, not the plan: the ramp fails
// only when no connection opened or failed for Config.RampStall, so a host that
// sustains less than the planned rate still ramps, at its own pace.
func (r *runner) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go r.watchRamp(ctx, cancel)
	r.stableByChan = make([]int64, max(r.cfg.Channels, 1))
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(r.shards))
	r.ready = make([]Ready, len(r.shards))
	for i, h := range r.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd, err := h.ready(ctx)
			errs[i] = err
			mu.Lock()
			r.ready[i] = rd
			for ch, n := range rd.PerChannel {
				if ch < len(r.stableByChan) {
					r.stableByChan[ch] += n
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	err := errors.Join(errs...)
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause // the stall, once, rather than as each shard saw it
	}
	r.readyAt = time.Now()
	r.sample() // ready
	negotiated := ""
	for _, rd := range r.ready {
		r.rep.Connections.OpenAtReady += rd.Open
		if negotiated == "" && rd.TLS != "" {
			negotiated = rd.TLS
			r.rep.Settings.TLS += "; " + negotiated
		}
	}
	return err
}

// watchRamp cancels the ramp, with the stage and counts reached, when it
// stalls (Config.RampStall).
func (r *runner) watchRamp(ctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	planned := int64(r.cfg.Conns + r.cfg.ChurnConns)
	last, lastAt := int64(-1), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p := r.progress()
		if n := p.Handshakes + p.Failed; n != last {
			last, lastAt = n, time.Now()
			continue
		}
		if time.Since(lastAt) >= r.cfg.RampStall {
			reason := fmt.Errorf("no connection opened or failed for %s", r.cfg.RampStall)
			r.failed("ramp", reason)
			cancel(fmt.Errorf("bench: ramp stalled: %w, at %d of %d planned (%d open, %d failed)", reason, last, planned, p.Open, p.Failed))
			return
		}
	}
}

// hold keeps the connections open for Hold (connect), sampling at the end.
func (r *runner) hold(ctx context.Context) error {
	r.sample() // load start
	defer func(t time.Time) { r.loadSeconds = time.Since(t).Seconds() }(time.Now())
	select {
	case <-time.After(r.cfg.Hold):
	case <-ctx.Done():
	}
	r.sample() // load end
	return ctx.Err()
}

// echo runs the echo load for Duration, then waits for replies in flight.
func (r *runner) echo(ctx context.Context) error {
	r.sample() // load start
	loadStart := time.Now()
	p0 := r.progress()
	if err := r.onShards(ctx, shardHandle.startLoad); err != nil {
		return err
	}
	select {
	case <-time.After(r.cfg.Duration):
	case <-ctx.Done():
	}
	stopErr := r.onShards(ctx, shardHandle.stopLoad)
	loadEnd := time.Now()
	r.drain(ctx, func(p Progress) bool { return p.EchoRecv >= p.EchoSent })
	r.sample() // load end
	p := r.progress()
	wire := p.WireBytes - p0.WireBytes
	mode := "closed-loop"
	if r.cfg.Rate > 0 {
		mode = fmt.Sprintf("fixed-rate %.0f msgs/s", r.cfg.Rate)
	}
	secs := loadEnd.Sub(loadStart).Seconds()
	r.loadSeconds = time.Since(loadStart).Seconds()
	r.rep.Echo = &EchoStats{Mode: mode, Sent: p.EchoSent, Received: p.EchoRecv, Seconds: secs, PerSec: float64(p.EchoRecv) / secs}
	if n := p.EchoRecv - p0.EchoRecv; n > 0 {
		r.rep.Echo.WireBytesPerReply = float64(wire) / float64(n)
	}
	return stopErr
}

// checkDeflate fails the run, once, when Config.Deflate asked for
// permessage-deflate and the server declined it on any connection.
func (r *runner) checkDeflate(p Progress) error {
	if !r.cfg.Deflate || p.DeflateDeclined == 0 || r.declined {
		return nil
	}
	r.declined = true
	return fmt.Errorf("bench: --deflate: the server declined permessage-deflate on %d connections (%d accepted it)", p.DeflateDeclined, p.Deflated)
}

// onShards runs fn on every shard at once, for at most a minute.
func (r *runner) onShards(ctx context.Context, fn func(shardHandle, context.Context) error) error {
	return r.eachShard(ctx, time.Minute, func(_ int, h shardHandle, ctx context.Context) error { return fn(h, ctx) })
}

// eachShard runs fn on every shard at once, for at most timeout, and joins
// their errors.
func (r *runner) eachShard(ctx context.Context, timeout time.Duration, fn func(int, shardHandle, context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(r.shards))
	var wg sync.WaitGroup
	for i, h := range r.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i, h, ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// drain waits until done reports true, or nothing has arrived for a
// second, or DrainTimeout passes.
func (r *runner) drain(ctx context.Context, done func(Progress) bool) {
	deadline := time.Now().Add(r.cfg.DrainTimeout)
	last, lastChange := r.progress(), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		p := r.progress()
		if done(p) {
			return
		}
		if p.Delivered != last.Delivered || p.EchoRecv != last.EchoRecv {
			last, lastChange = p, time.Now()
		} else if time.Since(lastChange) > time.Second {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
