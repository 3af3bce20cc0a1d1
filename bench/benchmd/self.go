package main

import (
	"fmt"
	"strings"
)

func writeSelf(b *strings.Builder, r *results) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## wsbench itself\n\nTarget: at most 1 KiB of wsbench's own RSS per client connection, and never the bottleneck.\nRSS per connection is marginal: growth from the first 1%% of connections to all, after the ramp's\ngarbage is returned. CPU share is wsbench's part of wsbench + server CPU during the load (the\nramp, for idle). \"Others\" is the rest of the host's busy CPU in the same interval (other\nprocesses, kernel threads): load that competed with the measurement.\n\n| run | connections | RSS/conn | heap/conn | wsbench cores | server cores | wsbench share | others (cores) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	worst := 0.0
	for _, s := range servers {
		for _, t := range tests {
			rep := r.get(s.name, t)
			if rep == nil {
				continue
			}
			cores, server, others := rep.Self.CoresDuringLoad, 0.0, "–"
			if rep.Server != nil {
				server = rep.Server.CoresDuringLoad
			}
			if rep.Load != nil {
				others = fmt.Sprintf("%.2f", rep.Load.OtherCoresDuringLoad)
			}
			if t == "idle" {
				cores = rep.Self.CoresDuringConnect
				if rep.Server != nil {
					server = rep.Server.CoresDuringConnect
				}
				if rep.Load != nil {
					others = fmt.Sprintf("%.2f", rep.Load.OtherCoresDuringConnect)
				}
			}
			p("| %s %s | %s | %.0f B | %.0f B | %.2f | %.2f | %.0f%% | %s |\n", s.name, t, commas(fmt.Sprint(rep.Connections.OpenAtReady)),
				rep.Self.BytesPerConn, rep.Self.HeapBytesPerConn, cores, server, 100*rep.Self.ShareOfCPU, others)
			if rep.Connections.OpenAtReady >= selfRSSConns {
				worst = max(worst, rep.Self.BytesPerConn)
			}
		}
	}
	if worst > 0 {
		verdict := "met"
		if worst > 1024 {
			verdict = "**not met**"
		}
		p("\nLargest wsbench RSS per connection over the runs with at least %s connections: %.0f B; target ≤ 1,024 B: %s.\n"+
			"(The echo runs hold 1,000 connections, where the loops' fixed buffers and histograms dominate the marginal figure.)\n",
			commas(fmt.Sprint(selfRSSConns)), worst, verdict)
	}
}

// selfRSSConns is the smallest run that speaks for wsbench's memory per
// connection: below it, fixed per-process costs dominate the figure.
const selfRSSConns = 10000
