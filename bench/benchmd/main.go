// Command benchmd writes BENCHMARKS.md from a results directory made by
// bench/run-suite.sh (make bench): the machine, commit and date, the exact
// commands, one table per measurement with every figure as a ratio to
// wsgate, the targets of issue 5 checked, and wsgate's profile summaries
// where a target is missed. Every number in the file comes from the JSON
// reports; nothing is typed in by hand.
//
//	go run ./bench/benchmd -results bench/results -out BENCHMARKS.md
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/tuning"
)

// servers in table order; wsgate is the reference of every ratio.
var servers = []struct{ name, what string }{
	{"wsgate", "this repository"},
	{"gnetws", "bare gnet + gobwas/ws, no pub/sub state (bench/baselines/gnetws)"},
	{"nbiohub", "lesismal/nbio as its author tunes it: async fan-out, writev, reuseport listeners (bench/baselines/nbiohub)"},
	{"nbiohub-naive", "lesismal/nbio written naively: a WriteMessage per subscriber in the publish handler (nbiohub --flavour naive)"},
	{"gorillahub", "gorilla/websocket hub, goroutines per connection (bench/baselines/gorillahub)"},
}

// tests are run-suite.sh's: idle-frame (subscribing by frame) and
// idle-ping (a ping every second, for what a ping costs) are wsgate's
// alone, the baselines having no subscribe command and no pings.
var tests = []string{"idle", "idle-frame", "idle-ping", "bcast", "bcast2", "bcastmax", "echo"}

type results struct {
	dir      string
	scaleDir string
	meta     map[string]string
	runs     map[string][]*bench.Report // "server-test": every run's summary, in run order
}

func main() {
	dir := flag.String("results", "bench/results", "`directory` written by bench/run-suite.sh")
	out := flag.String("out", "BENCHMARKS.md", "`file` to write")
	scale := flag.String("scale-out", "bench/scale-out-results", "`directory` written by bench/scale-out.sh (optional)")
	summarizeRuns := flag.String("summarize", "", "instead: write each wsbench report in `directory` to -results/runs/, its per-second timeline left out (the committed summaries)")
	ab := flag.String("ab", "", "instead: write to -out the A/B table of the `directory` bench/regress-ab.sh filled")
	history := flag.String("history", "", "instead: write to -out the summary of the `directory` bench/history.sh filled")
	presence := flag.String("presence", "", "instead: write to -out the summary of the `directory` bench/presence.sh filled")
	pair := flag.String("pair", "", "instead: write to -out the table of the `directory` bench/proxy-ab.sh or bench/tls-ab.sh filled (two modes of one setup)")
	splice := flag.Bool("splice", false, "instead: put "+historySummary+", "+presenceSummary+" and "+abSummary+" into -out in place of their previous versions (bench/history.sh, bench/presence.sh, bench/regress-ab.sh)")
	flag.Parse()
	if *splice {
		if err := spliceSummaries(*out); err != nil {
			log.Fatal(err)
		}
		return
	}
	for _, mode := range []struct {
		dir   string
		write func(*strings.Builder, string, map[string]string) error
	}{{*history, writeHistory}, {*presence, writePresence}, {*ab, writeAB}, {*pair, writePair}} {
		if mode.dir != "" {
			if err := summarize(mode.dir, *out, mode.write); err != nil {
				log.Fatal(err)
			}
			return
		}
	}
	if *summarizeRuns != "" {
		if err := writeSummaries(*summarizeRuns, filepath.Join(*dir, "runs")); err != nil {
			log.Fatal(err)
		}
		return
	}
	r, err := load(*dir)
	if err != nil {
		log.Fatal(err)
	}
	r.scaleDir = *scale
	var b strings.Builder
	write(&b, r)
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		log.Fatal(err)
	}
}

// summarize writes to out the summary write makes of dir and its meta.env.
func summarize(dir, out string, write func(*strings.Builder, string, map[string]string) error) error {
	meta, err := readMeta(filepath.Join(dir, "meta.env"))
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := write(&b, dir, meta); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

// load reads meta.env and every run summary in dir/runs
// (<server>-<test>-<n>.json).
func load(dir string) (*results, error) {
	r := &results{dir: dir, runs: map[string][]*bench.Report{}}
	var err error
	if r.meta, err = readMeta(filepath.Join(dir, "meta.env")); err != nil {
		return nil, err
	}
	for _, s := range servers {
		for _, t := range tests {
			for n := 1; ; n++ {
				b, err := os.ReadFile(filepath.Join(dir, "runs", fmt.Sprintf("%s-%s-%d.json", s.name, t, n)))
				if err != nil {
					break
				}
				var rep bench.Report
				if err := json.Unmarshal(b, &rep); err != nil {
					return nil, fmt.Errorf("%s-%s-%d: %w", s.name, t, n, err)
				}
				r.runs[s.name+"-"+t] = append(r.runs[s.name+"-"+t], &rep)
			}
		}
	}
	return r, nil
}

// get returns a test's first run, for what is not a figure (commands,
// settings), or nil.
func (r *results) get(server, test string) *bench.Report {
	if runs := r.runs[server+"-"+test]; len(runs) > 0 {
		return runs[0]
	}
	return nil
}

// metric reads one figure from a report; ok is false when it is missing.
type metric func(*bench.Report) (float64, bool)

func serverField(f func(*bench.ServerStats) float64) metric {
	return func(rep *bench.Report) (float64, bool) {
		if rep == nil || rep.Server == nil {
			return 0, false
		}
		v := f(rep.Server)
		return v, v != 0
	}
}

var (
	rssPerConn      = serverField(func(s *bench.ServerStats) float64 { return s.BytesPerConn })
	cpuPerHandshake = serverField(func(s *bench.ServerStats) float64 { return s.CPUPerHandshakeUs })
	cpuPerDelivery  = serverField(func(s *bench.ServerStats) float64 { return s.CPUPerDeliveryUs })
	cpuPerEcho      = serverField(func(s *bench.ServerStats) float64 { return s.CPUPerEchoUs })
)

// cpuIdle is the server's CPU per idle connection per second held; zero
// is a figure here (less than /proc's 10 ms tick over the hold).
func cpuIdle(rep *bench.Report) (float64, bool) {
	if rep == nil || rep.Server == nil || rep.Scenario != bench.ScenarioConnect {
		return 0, false
	}
	return rep.Server.CPUIdleUsPerConnSec, true
}

func connectP99(rep *bench.Report) (float64, bool) {
	if rep == nil || rep.ConnectTime.Count == 0 {
		return 0, false
	}
	return float64(rep.ConnectTime.P99), true
}

// wireBytesPerDelivery is what subscribers read off their sockets per
// delivery (the reports before wsbench counted it have none).
func wireBytesPerDelivery(rep *bench.Report) (float64, bool) {
	if rep == nil || rep.Messages == nil || rep.Messages.WireBytesPerDelivery == 0 {
		return 0, false
	}
	return rep.Messages.WireBytesPerDelivery, true
}

// compressionsPerPublication is the server's compressions counter over
// the load (wsbench --server-stats) per message published.
func compressionsPerPublication(rep *bench.Report) (float64, bool) {
	if rep == nil || rep.Messages == nil || rep.Messages.Published == 0 {
		return 0, false
	}
	n, ok := rep.ServerCounter("compressions")
	return n / float64(rep.Messages.Published), ok
}

// deflatedConns counts the connections that negotiated permessage-deflate.
func deflatedConns(rep *bench.Report) (float64, bool) {
	if rep == nil {
		return 0, false
	}
	return float64(rep.Connections.Deflated), true
}

func deliveriesPerSec(rep *bench.Report) (float64, bool) {
	if rep == nil || rep.Messages == nil {
		return 0, false
	}
	return rep.Messages.DeliveriesPerSec, true
}

func echoPerSec(rep *bench.Report) (float64, bool) {
	if rep == nil || rep.Echo == nil {
		return 0, false
	}
	return rep.Echo.PerSec, true
}

// ratio is server's median over wsgate's, as text.
func (r *results) ratio(m metric, server, test string) string {
	return r.ratioTo(m, server, test, test)
}

// ratioTo is server's median in test over wsgate's in ref.
func (r *results) ratioTo(m metric, server, test, ref string) string {
	v, w := r.values(m, server, test), r.values(m, "wsgate", ref)
	if len(v) == 0 || len(w) == 0 || median(w) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", median(v)/median(w))
}

// num is a test's median with its range over the runs, as text.
func (r *results) num(m metric, server, test, format string) string {
	v := r.values(m, server, test)
	if len(v) == 0 {
		return "–"
	}
	return spread(v, format)
}

// commas groups the integer digits of a formatted number.
func commas(s string) string {
	sign := ""
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		sign, s = "-", rest
	}
	intPart, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return sign + s
	}
	out := sign + tuning.Thousands(n)
	if frac != "" {
		out += "." + frac
	}
	return out
}

func us(v int64) string {
	switch {
	case v >= 1_000_000:
		return fmt.Sprintf("%.2f s", float64(v)/1e6)
	case v >= 1000:
		return fmt.Sprintf("%.1f ms", float64(v)/1e3)
	}
	return fmt.Sprintf("%d µs", v)
}

func latencyAt(q func(bench.Summary) int64) metric {
	return func(rep *bench.Report) (float64, bool) {
		if rep == nil || rep.Latency == nil || rep.Latency.Count == 0 {
			return 0, false
		}
		return float64(q(*rep.Latency)), true
	}
}

var (
	p50  = latencyAt(func(s bench.Summary) int64 { return s.P50 })
	p99  = latencyAt(func(s bench.Summary) int64 { return s.P99 })
	p999 = latencyAt(func(s bench.Summary) int64 { return s.P999 })
)

// latency is a test's median percentiles over its runs.
func (r *results) latency(server, test string) (a, b, c string) {
	med := func(m metric) string {
		v := r.values(m, server, test)
		if len(v) == 0 {
			return "–"
		}
		return us(int64(median(v)))
	}
	return med(p50), med(p99), med(p999)
}

// lost sums the lost, duplicated and out-of-order messages over the runs.
func (r *results) lost(server, test string) string {
	runs := r.runs[server+"-"+test]
	var l, d, o int64
	for _, rep := range runs {
		if m := rep.Messages; m != nil {
			l, d, o = l+m.Lost, d+m.Duplicates, o+m.OutOfOrder
		}
	}
	if len(runs) == 0 {
		return "–"
	}
	return fmt.Sprintf("%d / %d / %d", l, d, o)
}

func write(b *strings.Builder, r *results) {
	m := r.meta
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("# BENCHMARKS\n\n")
	p("Generated by `make bench` (bench/run-suite.sh, then bench/benchmd) from the JSON reports in\n`%s/`. Do not edit by hand: re-run instead. Every figure below was measured in one run on the\nmachine described here; ratios compare servers within that run.\n\n", r.dir)
	if m["standard"] != "yes" {
		p("> **Not the standard sizes**: this file comes from a reduced run (see the sizes below). The\n> committed BENCHMARKS.md must come from the defaults of bench/run-suite.sh.\n\n")
	}
	p("| | |\n|---|---|\n")
	for _, k := range []string{"date", "commit", "nproc", "mem", "cpu", "kernel", "go", "nofile"} {
		p("| %s | %s |\n", k, m[k])
	}
	p("\nSizes: %s idle connections subscribed over %s channels, held %s, opened at %s/s; broadcast to %s\nsubscribers of one channel, %s-byte messages, at %s msg/s and at 2 msg/s for %s each and at max rate (window %s\nmessages per subscriber) for %s; echo on %s connections, closed loop, for %s. Client source addresses %s.\n\n",
		atoi(m["BENCH_IDLE_CONNS"]), m["BENCH_IDLE_CHANNELS"], m["BENCH_HOLD"], m["BENCH_CONNECT_RATE"], commas(m["BENCH_BCAST_SUBS"]),
		m["BENCH_PAYLOAD"], m["BENCH_BCAST_RATE"], m["BENCH_BCAST_DURATION"], m["BENCH_WINDOW"], m["BENCH_MAX_DURATION"],
		commas(m["BENCH_ECHO_CONNS"]), m["BENCH_ECHO_DURATION"], m["BENCH_SOURCE_IPS"])
	p("Each test ran %s times per server, every run of every server and test in one random order\n(`%s/order.txt`). Each figure is the **median** over the runs with its range (min–max) after it;\nratios are of medians. Every run's report, its per-second timeline left out, is committed in\n`%s/runs/` (`<server>-<test>-<n>.json`): this file is regenerated from them with\n`go run ./bench/benchmd -results %s`.\n\n", m["BENCH_REPEAT"], r.dir, r.dir, r.dir)
	p("Servers (each test starts a fresh process; client and server share the 2 cores):\n\n")
	for _, s := range servers {
		p("- **%s**: %s\n", s.name, s.what)
	}
	p("\nHow to read the figures: server RSS per connection is the growth of the server's VmRSS from\nbefore the ramp to the end of the hold, over the connections open; CPU is the server's\nutime+stime from /proc (10 ms ticks) over the ramp (per handshake), over the hold (per idle\nconnection per second: pings, timers, GC) or over the load and its drain (per delivery, per echo).\nOn loopback the kernel runs part of the server's TCP handshake in the connecting process, so every\nserver's CPU per handshake leaves out the same share of kernel work. Latency is end to end\n(publisher's intended send time to the subscriber's receipt), from HdrHistogram.\n\n")

	p("## Idle subscribed connections\n\n")
	p("Subscribed in the upgrade request (`?channels=`). \"By frame\" is wsgate with the same clients\nsubscribing by frame after the 101 and waiting for the ack (`wsbench --subscribe-via frame`), as\nclient libraries do; \"a ping every 1 s\" is wsgate with `--ping-interval 1s`, so its idle CPU is about\nthe cost of one ping and its pong per connection (docs/tuning.md scales it to other intervals).\n\n")
	p("| server | RSS/conn | × wsgate | CPU/handshake | × wsgate | idle CPU/conn/s | × wsgate | connect p99 | failed |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(name, server, test string) {
		failed := int64(0)
		for _, rep := range r.runs[server+"-"+test] {
			failed += rep.Connections.Failed
		}
		ratio := func(m metric) string { return r.ratioTo(m, server, test, "idle") }
		p("| %s | %s B | %s | %s µs | %s | %s µs | %s | %s | %d |\n", name, r.num(rssPerConn, server, test, "%.0f"), ratio(rssPerConn),
			r.num(cpuPerHandshake, server, test, "%.1f"), ratio(cpuPerHandshake),
			r.num(cpuIdle, server, test, "%.3f"), ratio(cpuIdle), r.num(connectP99, server, test, "%.0f")+" µs", failed)
	}
	for _, s := range servers {
		row(s.name, s.name, "idle")
	}
	row("wsgate, by frame", "wsgate", "idle-frame")
	if len(r.runs["wsgate-idle-ping"]) > 0 {
		row("wsgate, a ping every 1 s", "wsgate", "idle-ping")
	}
	for _, t := range []struct{ test, title string }{
		{"bcast", fmt.Sprintf("Broadcast at %s msg/s", m["BENCH_BCAST_RATE"])},
		{"bcast2", "Broadcast at 2 msg/s"},
		{"bcastmax", "Broadcast at max rate"},
	} {
		p("\n## %s\n\n", t.title)
		p("| server | deliveries/s | × wsgate | CPU/delivery | × wsgate | p50 | p99 | p99.9 | lost / dup / out of order (all runs) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, s := range servers {
			l50, l99, l999 := r.latency(s.name, t.test)
			p("| %s | %s | %s | %s µs | %s | %s | %s | %s | %s |\n", s.name, r.num(deliveriesPerSec, s.name, t.test, "%.0f"), r.ratio(deliveriesPerSec, s.name, t.test),
				r.num(cpuPerDelivery, s.name, t.test, "%.3f"), r.ratio(cpuPerDelivery, s.name, t.test), l50, l99, l999, r.lost(s.name, t.test))
		}
	}
	p("\n## Echo, closed loop\n\n")
	p("| server | msgs/s | × wsgate | CPU/msg | × wsgate | p50 | p99 | p99.9 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range servers {
		l50, l99, l999 := r.latency(s.name, "echo")
		p("| %s | %s | %s | %s µs | %s | %s | %s | %s |\n", s.name, r.num(echoPerSec, s.name, "echo", "%.0f"), r.ratio(echoPerSec, s.name, "echo"),
			r.num(cpuPerEcho, s.name, "echo", "%.2f"), r.ratio(cpuPerEcho, s.name, "echo"), l50, l99, l999)
	}
	writeTargets(b, r)
	writeSelf(b, r)
	writeScaleOut(b, r)
	writeGoBench(b, r)
	for _, path := range []string{historySummary, presenceSummary} {
		if section, err := os.ReadFile(path); err == nil {
			b.WriteString("\n")
			b.Write(section)
		}
	}
	if ab, err := os.ReadFile(abSummary); err == nil {
		title, body, _ := strings.Cut(string(ab), "\n")
		b.WriteString("\n" + abHeading + "\n" + strings.TrimPrefix(title, "# ") + "\n" + body)
	}
	writeCommands(b, r)
}

// writeGoBench adds the go test benchmarks that run-suite.sh ran (file
// gobench.txt: each command on a "$ " line, then its output), keeping the
// commands and the Benchmark lines.
func writeGoBench(b *strings.Builder, r *results) {
	raw, err := os.ReadFile(filepath.Join(r.dir, "gobench.txt"))
	if err != nil {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## Go benchmarks: protocol, fan-out, a node and a cluster\n\n")
	p("Measured in the same run with `go test -bench`: wsproto and reactor in process; e2e against real\n")
	p("wsgate and nats-server processes on this host (see each benchmark's doc comment in e2e/).\n\n```\n")
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "$ ") || strings.HasPrefix(line, "Benchmark") {
			p("%s\n", line)
		}
	}
	p("```\n")
}

func atoi(s string) string { return commas(s) }

func writeCommands(b *strings.Builder, r *results) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## Exact commands\n\n`make bench` runs bench/run-suite.sh, which builds the binaries (`go build -o bin/wsgate ./cmd/wsgate`,\n`go build -o bin/wsbench ./cmd/wsbench`, `cd bench/baselines && go build -o ../../bin/ ./...`), then per server\nand test starts a fresh server and runs wsbench with `--server-pid` set to it:\n\n```\n")
	for _, s := range servers {
		if c, err := os.ReadFile(filepath.Join(r.dir, s.name+".cmd")); err == nil {
			p("%s", c)
		}
	}
	p("```\n\n```\n")
	for _, t := range tests {
		if rep := r.get("wsgate", t); rep != nil && rep.Command != "" {
			p("%s\n", rep.Command)
		} else if c, err := os.ReadFile(filepath.Join(r.dir, "cmd-"+t+".txt")); err == nil {
			p("%s", c)
		}
	}
	p("```\n\n(the same with `--label`, `--server-pid` and `--json` naming each server). The raw reports, with\nconnect-time and latency percentiles, error counts and per-second timelines, are in `%s/`.\n", r.dir)
}
