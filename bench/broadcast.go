package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// broadcast publishes for Duration (while the shards churn, in the churn
// scenario), then waits for the deliveries in flight.
func (r *runner) broadcast(ctx context.Context) error {
	var stable int64
	for _, n := range r.stableByChan {
		stable += n
	}
	if stable == 0 {
		return errors.New("bench: no subscriber is open: nothing to broadcast to")
	}
	if err := r.idleBefore(ctx); err != nil {
		return err
	}
	var expected atomic.Int64 // deliveries the published messages owe stable subscribers
	window := int64(r.cfg.Window) * stable
	gate := func(ctx context.Context) bool {
		for ctx.Err() == nil {
			if expected.Load()-r.progress().Unique <= window {
				return true
			}
			time.Sleep(100 * time.Microsecond)
		}
		return false
	}
	pubs, err := r.publishers(ctx, gate, &expected)
	if err != nil {
		return err
	}
	defer func() {
		for _, p := range pubs {
			_ = p.snd.close()
		}
	}()

	r.sample() // load start
	loadStart := time.Now()
	p0 := r.progress()
	if err := r.onShards(ctx, shardHandle.startLoad); err != nil {
		return err
	}
	loadCtx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	var wg sync.WaitGroup
	for _, p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(loadCtx)
		}()
	}
	wg.Wait()
	cancel()
	loadEnd := time.Now()
	stopErr := r.onShards(ctx, shardHandle.stopLoad)
	want := expected.Load()
	r.drain(ctx, func(p Progress) bool { return p.Unique >= want })
	drainEnd := time.Now()
	p1 := r.progress()
	r.sample() // load end

	m := &MessageStats{PublishErrors: map[string]int64{}, Expected: want}
	for _, p := range pubs {
		m.Published += p.sent
		for k, v := range p.errors {
			m.PublishErrors[k] += v
		}
		if ws, ok := p.snd.(*wsSender); ok && ws.errors > 0 {
			m.PublishErrors["server_error_frames"] += ws.errors
		}
	}
	m.LoadSeconds = loadEnd.Sub(loadStart).Seconds()
	m.DrainSeconds = drainEnd.Sub(loadEnd).Seconds()
	m.PublishedPerSec = float64(m.Published) / m.LoadSeconds
	m.WireBytes = p1.WireBytes - p0.WireBytes
	if n := p1.Delivered - p0.Delivered; n > 0 {
		m.WireBytesPerDelivery = float64(m.WireBytes) / float64(n)
	}
	r.rep.Messages = m
	r.loadSeconds = drainEnd.Sub(loadStart).Seconds()
	return stopErr
}

// publishers makes one publisher per Config.Publishers, each with its own
// connection to the server.
func (r *runner) publishers(ctx context.Context, gate func(context.Context) bool, expected *atomic.Int64) ([]*publisher, error) {
	cfg := r.cfg
	var pubs []*publisher
	for i := range cfg.Publishers {
		var snd sender
		switch cfg.PublishVia {
		case PublishHTTP:
			urls := cfg.PublishURLs
			if !cfg.PublishAll {
				urls = urls[i%len(urls) : i%len(urls)+1]
			}
			snd = newHTTPSender(urls, cfg.publishHeader())
		case PublishWS:
			t, err := ParseTarget(cfg.URLs[i%len(cfg.URLs)])
			if err != nil {
				return nil, err
			}
			ws, err := dialWSSender(ctx, cfg, t, i)
			if err != nil {
				for _, p := range pubs {
					_ = p.snd.close()
				}
				return nil, fmt.Errorf("bench: publisher %d: %w", i, err)
			}
			snd = ws
		case PublishNATS:
			nc, err := dialNATSSender(cfg.NATSURL, cfg.NATSPrefix)
			if err != nil {
				for _, p := range pubs {
					_ = p.snd.close()
				}
				return nil, fmt.Errorf("bench: publisher %d: %w", i, err)
			}
			snd = nc
		default:
			return nil, fmt.Errorf("bench: --publish-via %s is not available yet", cfg.PublishVia)
		}
		p := &publisher{
			id: uint32(i), snd: snd, channels: cfg.Channels, prefix: cfg.ChannelPrefix,
			payload: cfg.Payload, kind: cfg.PayloadKind, rate: cfg.Rate / float64(cfg.Publishers), gate: gate,
		}
		p.onSent = func(ch int) { expected.Add(r.stableByChan[ch]) }
		pubs = append(pubs, p)
	}
	return pubs, nil
}

// idleBefore holds the connections idle for Config.IdleBefore, if set,
// and measures the server's CPU over it: per idle connection per second
// (pings, timers, GC), at the run's scale.
func (r *runner) idleBefore(ctx context.Context) error {
	if r.cfg.IdleBefore <= 0 || len(r.cfg.ServerPIDs) == 0 {
		return nil
	}
	from, err := SampleProcs(r.cfg.ServerPIDs)
	if err != nil {
		return err
	}
	start := time.Now()
	select {
	case <-time.After(r.cfg.IdleBefore):
	case <-ctx.Done():
		return ctx.Err()
	}
	to, err := SampleProcs(r.cfg.ServerPIDs)
	if err != nil {
		return err
	}
	if open := r.progress().Open; open > 0 {
		r.idleCPU = float64(to.CPUNanos-from.CPUNanos) / 1e3 / float64(open) / time.Since(start).Seconds()
	}
	return nil
}
