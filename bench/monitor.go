package bench

import (
	"fmt"
	"strings"
	"time"
)

// monitor samples progress every second for the timeline and, when
// Config.Progress is set (a terminal), redraws one status line; when
// Config.ProgressLines is set, it writes a plain line every
// Config.ProgressEvery.
type monitor struct {
	r      *runner
	done   chan struct{}
	exited chan struct{}
	points []Point

	pending  *Hist     // latencies a plain line drained since the last timeline point; nil: none
	lineHist *Hist     // latencies since the last plain line
	lineLast Progress  // progress at the last plain line
	lineAt   time.Time // when it was written
}

func startMonitor(r *runner) *monitor {
	m := &monitor{r: r, done: make(chan struct{}), exited: make(chan struct{})}
	go m.loop()
	return m
}

func (m *monitor) stop() {
	close(m.done)
	<-m.exited
	if m.r.cfg.Progress != nil {
		fmt.Fprint(m.r.cfg.Progress, "\r\033[K")
	}
}

func (m *monitor) loop() {
	defer close(m.exited)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, lastAt := m.r.progress(), time.Now()
	var lines <-chan time.Time
	if m.r.cfg.ProgressLines != nil {
		lt := time.NewTicker(m.r.cfg.ProgressEvery)
		defer lt.Stop()
		lines = lt.C
		m.lineHist, m.lineLast, m.lineAt = NewHist(), last, lastAt
	}
	for {
		select {
		case <-m.done:
			return
		case now := <-lines:
			m.writeLine(now)
		case now := <-t.C:
			p := m.r.progress()
			h := m.drain()
			m.pending = nil
			secs := now.Sub(lastAt).Seconds()
			msgs := float64(p.Delivered-last.Delivered+p.EchoRecv-last.EchoRecv) / secs
			pt := Point{
				T: now.Sub(m.r.startedAt).Seconds(), Open: p.Open, Rate: msgs,
				P99: h.Quantile(99), Attempts: p.Attempted,
			}
			m.points = append(m.points, pt)
			if w := m.r.cfg.Progress; w != nil {
				fmt.Fprintf(w, "\r\033[K%s", statusLine(m.r.cfg, p, float64(p.Handshakes-last.Handshakes)/secs, pt))
			}
			last, lastAt = p, now
		}
	}
}

// statusLine is the live display: connections, connect rate, errors,
// messages per second and the last second's p99.
func statusLine(cfg Config, p Progress, connRate float64, pt Point) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s %3.0fs] conns %d/%d (+%.0f/s) err %d", cfg.Scenario, pt.T, p.Open, cfg.Conns+cfg.ChurnConns, connRate, p.Errors)
	if cfg.Scenario != ScenarioConnect {
		fmt.Fprintf(&b, " | %.0f msgs/s", pt.Rate)
		if pt.P99 > 0 {
			fmt.Fprintf(&b, " | p99 %s", usStr(pt.P99))
		}
	}
	return b.String()
}

// drain takes the latencies the shards recorded since the last drain,
// adds them to the plain line's, and returns them with those pending for
// the next timeline point.
func (m *monitor) drain() *Hist {
	h := m.pending
	if h == nil {
		h = NewHist()
	}
	fresh := NewHist()
	for _, s := range m.r.shards {
		fresh.Merge(s.interval())
	}
	h.Merge(fresh)
	if m.lineHist != nil {
		m.lineHist.Merge(fresh)
	}
	return h
}

// writeLine writes the plain progress line for the interval since the
// previous one.
func (m *monitor) writeLine(now time.Time) {
	m.pending = m.drain()
	p := m.r.progress()
	secs := max(now.Sub(m.lineAt).Seconds(), 1e-9)
	iv := intervalStats{
		elapsed:  now.Sub(m.r.startedAt),
		connRate: float64(p.Handshakes-m.lineLast.Handshakes) / secs,
		msgRate:  float64(p.Delivered-m.lineLast.Delivered+p.EchoRecv-m.lineLast.EchoRecv) / secs,
		p99:      m.lineHist.Quantile(99),
	}
	fmt.Fprintln(m.r.cfg.ProgressLines, statusFields(m.r.cfg, p, iv))
	m.lineHist.Reset()
	m.lineLast, m.lineAt = p, now
}

// intervalStats are the rates of one progress line's interval.
type intervalStats struct {
	elapsed  time.Duration // since the run started
	connRate float64       // handshakes per second
	msgRate  float64       // deliveries or echo replies per second
	p99      int64         // µs; 0: no sample
}

// statusFields is the plain progress line: "wsbench: progress" and
// key=value fields separated by spaces, values without spaces, no carriage
// return, so a log keeps every line and a script can split it:
//
//	wsbench: progress elapsed_s=5.0 scenario=broadcast open=1000 planned=1000 conns_per_sec=0 errors=0 msgs_per_sec=9998 p99_us=812
//
// elapsed_s counts from the start of the run (the ramp included); the rates
// and p99_us (a delivery's or echo's latency; absent for connect and before
// any message) are over the interval since the previous line.
func statusFields(cfg Config, p Progress, iv intervalStats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wsbench: progress elapsed_s=%.1f scenario=%s open=%d planned=%d conns_per_sec=%.0f errors=%d",
		iv.elapsed.Seconds(), cfg.Scenario, p.Open, cfg.Conns+cfg.ChurnConns, iv.connRate, p.Errors)
	if cfg.Scenario != ScenarioConnect {
		fmt.Fprintf(&b, " msgs_per_sec=%.0f", iv.msgRate)
		if iv.p99 > 0 {
			fmt.Fprintf(&b, " p99_us=%d", iv.p99)
		}
	}
	return b.String()
}
