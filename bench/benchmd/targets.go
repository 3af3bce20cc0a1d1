package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// target is one of issue 5's goals: wsgate's figure over a peer's, at most
// (or at least) limit.
type target struct {
	what    string
	m       metric
	test    string
	peer    string
	limit   float64
	atLeast bool
	profile string // wsgate profile that explains a miss
	heap    bool
}

// targets against nbio are judged against its tuned flavour (nbiohub),
// the server a competent nbio user writes; nbiohub-naive is shown, never
// a target's reference.
var targets = []target{
	{"RSS per idle subscribed connection ≤ 1.0× gnetws", rssPerConn, "idle", "gnetws", 1.0, false, "idle", true},
	{"RSS per idle subscribed connection ≤ 0.45× nbio", rssPerConn, "idle", "nbiohub", 0.45, false, "idle", true},
	{"CPU per handshake ≤ 0.5× nbio", cpuPerHandshake, "idle", "nbiohub", 0.5, false, "idle", false},
	{"broadcast CPU per delivery at the fixed rate ≤ 1.05× gnetws", cpuPerDelivery, "bcast", "gnetws", 1.05, false, "bcast", false},
	{"broadcast CPU per delivery at max rate ≤ 0.05× nbio", cpuPerDelivery, "bcastmax", "nbiohub", 0.05, false, "bcastmax", false},
	{"echo msgs/s ≥ 1.3× nbio", echoPerSec, "echo", "nbiohub", 1.3, true, "echo", false},
	{"echo CPU per message ≤ 1.05× gnetws", cpuPerEcho, "echo", "gnetws", 1.05, false, "echo", false},
}

func writeTargets(b *strings.Builder, r *results) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## Targets (issue 5), wsgate against the peers in this run\n\n| target | wsgate | peer | wsgate ÷ peer | met? |\n|---|---:|---:|---:|---|\n")
	var missed []target
	for _, t := range targets {
		w, ok1 := t.m(r.get("wsgate", t.test))
		v, ok2 := t.m(r.get(t.peer, t.test))
		if !ok1 || !ok2 || v == 0 {
			p("| %s | – | – | – | not measured |\n", t.what)
			continue
		}
		q := w / v
		met := q <= t.limit
		if t.atLeast {
			met = q >= t.limit
		}
		verdict := "yes"
		if !met {
			verdict = "**no**"
			missed = append(missed, t)
		}
		p("| %s | %s | %s | %.3f | %s |\n", t.what, figure(w), figure(v), q, verdict)
	}
	lostAll := int64(0)
	for _, rep := range r.reports {
		if rep.Messages != nil {
			lostAll += rep.Messages.Lost
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
