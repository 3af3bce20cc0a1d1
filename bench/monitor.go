package bench

import (
	"fmt"
	"strings"
	"time"
)

// monitor samples progress every second for the timeline and, when
// Config.Progress is set (a terminal), redraws one status line.
type monitor struct {
	r      *runner
	done   chan struct{}
	exited chan struct{}
	points []Point
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
	for {
		select {
		case <-m.done:
			return
		case now := <-t.C:
			p := m.r.progress()
			h := NewHist()
			for _, s := range m.r.shards {
				h.Merge(s.interval())
			}
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
