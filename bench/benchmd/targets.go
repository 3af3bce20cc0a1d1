package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// target is a goal for wsgate: its median figure in test over a peer's
// (or, with no peer, the figure itself) at most (or at least) limit. The
// peer's figure is from its own runs of test, or of peerTest if set.
type target struct {
	what    string
	m       metric
	test    string
	peer    string // "": an absolute limit
	limit   float64
	atLeast bool
	profile string // wsgate profile that explains a miss
	heap    bool
}

// targets against nbio are judged against its tuned flavour (nbiohub),
// the server a competent nbio user writes; nbiohub-naive is shown, never
// a target's reference.
var targets = []target{
	// Issue 16: uWebSockets' memory and handshake figures by both ways of
	// subscribing, idle CPU near the floor and flat, low-rate delivery and
	// echo at the floor.
	{"RSS per idle subscribed connection ≤ 460 B (uWebSockets), by URL", rssPerConn, "idle", "", 460, false, "idle", true},
	{"RSS per idle subscribed connection ≤ 460 B (uWebSockets), by frame", rssPerConn, "idle-frame", "", 460, false, "idle", true},
	{"CPU per handshake ≤ 45 µs, by URL", cpuPerHandshake, "idle", "", 45, false, "idle", false},
	{"CPU per handshake ≤ 45 µs, by frame", cpuPerHandshake, "idle-frame", "", 45, false, "idle", false},
	{"idle CPU per connection per second ≤ 2× gnetws", cpuIdle, "idle", "gnetws", 2, false, "idle", false},
	{"broadcast CPU per delivery at 2 msg/s ≤ 1.05× gnetws", cpuPerDelivery, "bcast2", "gnetws", 1.05, false, "bcast", false},
	{"echo CPU per message ≤ 1.0× gnetws", cpuPerEcho, "echo", "gnetws", 1.0, false, "echo", false},
	// Issue 5's, kept.
	{"RSS per idle subscribed connection ≤ 1.0× gnetws", rssPerConn, "idle", "gnetws", 1.0, false, "idle", true},
	{"RSS per idle subscribed connection ≤ 0.45× nbio", rssPerConn, "idle", "nbiohub", 0.45, false, "idle", true},
	{"CPU per handshake ≤ 0.5× nbio", cpuPerHandshake, "idle", "nbiohub", 0.5, false, "idle", false},
	{"broadcast CPU per delivery at the fixed rate ≤ 1.05× gnetws", cpuPerDelivery, "bcast", "gnetws", 1.05, false, "bcast", false},
	{"broadcast CPU per delivery at max rate ≤ 0.05× nbio", cpuPerDelivery, "bcastmax", "nbiohub", 0.05, false, "bcastmax", false},
	{"echo msgs/s ≥ 1.3× nbio", echoPerSec, "echo", "nbiohub", 1.3, true, "echo", false},
}

func writeTargets(b *strings.Builder, r *results) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## Targets, wsgate against the peers in this run\n\nJudged on medians; a ratio target divides wsgate's median by the peer's.\n\n| target | wsgate | peer | wsgate ÷ peer | met? |\n|---|---:|---:|---:|---|\n")
	var missed []target
	for _, t := range targets {
		w := r.values(t.m, "wsgate", t.test)
		peer, q := "", 0.0
		if len(w) > 0 {
			q = median(w)
		}
		if t.peer != "" {
			v := r.values(t.m, t.peer, t.test)
			if len(v) == 0 || median(v) == 0 {
				w = nil
			} else {
				peer, q = figure(median(v)), q/median(v)
			}
		}
		if len(w) == 0 {
			p("| %s | – | – | – | not measured |\n", t.what)
			continue
		}
		met := q <= t.limit
		if t.atLeast {
			met = q >= t.limit
		}
		verdict := "yes"
		if !met {
			verdict = "**no**"
			missed = append(missed, t)
		}
		ratio := "–"
		if t.peer != "" {
			ratio = fmt.Sprintf("%.3f", q)
		} else {
			peer = "(limit " + figure(t.limit) + ")"
		}
		p("| %s | %s | %s | %s | %s |\n", t.what, figure(median(w)), peer, ratio, verdict)
	}
	lostAll := int64(0)
	for _, runs := range r.runs {
		for _, rep := range runs {
			if rep.Messages != nil {
				lostAll += rep.Messages.Lost
			}
		}
	}
	p("\nLost messages over every broadcast in this run: %d.\n", lostAll)
	if len(missed) == 0 {
		return
	}
	p("\n### Where the missed targets' time and memory go\n\nProfiles of wsgate (the same command line as the table rows plus `--cpuprofile` and `--memprofile`),\nrecorded with the same wsbench invocation as the table rows. CPU: top entries by cumulative\ntime (`go tool pprof -top -cum`) over the process's whole life (ramp, load and teardown).\nHeap: in-use bytes sampled while the idle connections were held (`-sample_index=inuse_space`).\n")
	seen := map[string]bool{}
	for _, t := range missed {
		kind := "cpu"
		if t.heap {
			kind = "heap"
		}
		key := t.profile + "." + kind
		if seen[key] {
			continue
		}
		seen[key] = true
		text, err := os.ReadFile(filepath.Join(r.dir, "profiles", "wsgate-"+key+".txt"))
		if err != nil || len(text) == 0 {
			p("\n%s (%s): no profile recorded.\n", t.what, kind)
			continue
		}
		p("\n%s: wsgate %s profile, test `%s`\n\n```\n%s```\n", t.what, kind, t.profile, trimProfile(string(text)))
	}
}

// figure formats a measured value with the precision it has.
func figure(v float64) string {
	switch {
	case v >= 100:
		return commas(fmt.Sprintf("%.0f", v))
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// trimProfile keeps the summary lines and the top 15 rows.
func trimProfile(s string) string {
	var out []string
	rows := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Time:") || line == "" {
			continue
		}
		if strings.Contains(line, "%") && !strings.HasPrefix(line, "Showing") && !strings.Contains(line, "flat%") {
			if rows++; rows > 22 {
				continue
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n") + "\n"
}
