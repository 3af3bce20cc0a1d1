package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wsgate/wsgate/bench"
)

// writeScaleOut reports bench/scale-out.sh's last run, if there is one,
// and the run kept in its overload/ directory: the same connections at a
// publication rate beyond what the host delivers.
func writeScaleOut(b *strings.Builder, r *results) {
	fmt.Fprintf(b, "\n## Scale-out: many connections on one host\n\n")
	if !writeScaleOutRun(b, r.scaleDir) {
		return
	}
	over := filepath.Join(r.scaleDir, "overload")
	if _, err := os.Stat(filepath.Join(over, "report.json")); err == nil {
		fmt.Fprintf(b, "\n### The same million at one publication a second: beyond this host\n\n"+
			"One publication a second to a channel everyone is on is a million deliveries a second, more than\n"+
			"this 2-core host delivers (about 300,000 a second, server, wsbench and the kernel's loopback TCP\n"+
			"together, in the run below). The publications queued, latency grew to minutes, the clients fell\n"+
			"behind on their pongs and the nodes closed them (pong timeout), and their redials timed out. The\n"+
			"subscribers that stayed connected lost nothing. Kept as measured:\n\n")
		writeScaleOutRun(b, over)
	}
}

// writeScaleOutRun reports the scale-out run in dir; false when there is
// none.
func writeScaleOutRun(b *strings.Builder, dir string) bool {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		p("Not run into `%s` (bench/scale-out.sh writes it; `make bench-scale-out`).\n", dir)
		return false
	}
	var rep bench.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		p("`%s/report.json` does not parse: %v\n", dir, err)
		return false
	}
	cmd, _ := os.ReadFile(filepath.Join(dir, "command.txt"))
	p("From `%s/` (bench/scale-out.sh, `make bench-scale-out`; its own run, not part of `make bench`):\n\n```\n%s```\n\n", dir, cmd)
	if strings.Contains(string(cmd), "nats=none") {
		p("The nodes share no bus in this run (NATS_URL=none): wsbench posts every\nmessage to every node's admin API (`--publish-all`), so each subscriber gets each message once, but\nthis measures K independent nodes, not cross-node delivery. Server CPU per delivery includes each\nnode's HTTP publish and the nodes' pings (`--ping-interval` above).\n\n")
	}
	if !strings.Contains(string(cmd), "nats=none") {
		p("The nodes share one NATS server: each broadcast is published once, on the first node's admin API,\nand reaches the other nodes' subscribers through NATS. Server CPU per delivery includes the nodes'\npings (`--ping-interval` above).\n\n")
	}
	if f := rep.Failure; f != nil {
		p("> **This run failed at the %s**: %s. It had reached %s of %s planned connections (%s failed, %s open\n> then). The figures below cover what was reached; none is computed from a stage that did not happen.\n\n",
			f.Stage, f.Reason, commas(fmt.Sprint(f.Opened)), commas(fmt.Sprint(f.Planned)), commas(fmt.Sprint(f.Failed)), commas(fmt.Sprint(f.Open)))
	}
	if _, err := os.Stat(filepath.Join(dir, "timeline.svg")); err == nil {
		p("![connections and deliveries over the run](%s/timeline.svg)\n\n", dir)
	}
	p("| | |\n|---|---|\n")
	c := rep.Connections
	p("| connections held | %s of %s planned (%s failed), %d wsbench processes; ramp %.0f s (%.0f/s) |\n", commas(fmt.Sprint(c.OpenAtReady)), commas(fmt.Sprint(c.Planned)), commas(fmt.Sprint(c.Failed)), rep.Settings.Procs, c.RampSeconds, c.PerSecond)
	p("| open at the end | %s |\n", commas(fmt.Sprint(c.OpenAtEnd)))
	if len(rep.Errors) > 0 {
		p("| errors | %v |\n", rep.Errors)
	}
	if m := rep.Messages; m != nil {
		p("| broadcasts | %d, each to every subscriber; %s deliveries expected, %s received |\n", m.Published, commas(fmt.Sprint(m.Expected)), commas(fmt.Sprint(m.Delivered)))
		p("| lost / duplicated / out of order | %d / %d / %d |\n", m.Lost, m.Duplicates, m.OutOfOrder)
		if m.Survivors != c.OpenAtReady || m.Reconnects > 0 {
			p("| lost by the subscribers connected throughout | %s (%s of them; %s dropped by the node killed or by the nodes, and redialled) |\n",
				commas(fmt.Sprint(m.LostSurvivors)), commas(fmt.Sprint(m.Survivors)), commas(fmt.Sprint(m.Reconnects)))
		}
	}
	if l := rep.Latency; l != nil && l.Count > 0 {
		p("| time for a broadcast to reach all | %s (slowest delivery of all broadcasts); p50 %s, p99 %s |\n", us(l.Max), us(l.P50), us(l.P99))
	}
	if s := rep.Server; s != nil {
		p("| server RSS per connection | %.0f B (all nodes: %s before, %s ready) |\n", s.BytesPerConn, mib(s.RSSBefore), mib(s.RSSReady))
		p("| server CPU | %.1f µs per handshake, %.3f µs per delivery |\n", s.CPUPerHandshakeUs, s.CPUPerDeliveryUs)
		if s.CPUIdleUsPerConnSec > 0 {
			p("| server CPU per idle connection | %.3f µs per second (pings, timers, GC; over the quiet period before the load) |\n", s.CPUIdleUsPerConnSec)
		}
	}
	if k := rep.Kernel; k != nil {
		p("| kernel memory per connection | %.0f B slab, %.0f B tcp_mem (client and server ends together) |\n", k.SlabPerConn, k.TCPMemPerConn)
	}
	if c.OpenAtReady > 0 {
		p("| wsbench RSS per connection | %.0f B marginal, %.0f B with each process's fixed cost (heap %.0f B) |\n", rep.Self.BytesPerConn, rep.Self.TotalBytesPerConn, rep.Self.HeapBytesPerConn)
	}
	if h := rep.Load; h != nil {
		p("| other load on the host | %.2f cores while connecting, %.2f during the broadcasts |\n", h.OtherCoresDuringConnect, h.OtherCoresDuringLoad)
	}
	for _, w := range rep.Warnings {
		p("| **warning** | %s |\n", w)
	}
	return true
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
