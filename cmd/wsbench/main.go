// Command wsbench is wsgate's load generator: it holds client WebSocket
// connections on event loops, runs a scenario against one or more servers
// and reports connect times, latency percentiles, delivery accounting and,
// with --server-pid, the server's memory and CPU per connection and per
// operation.
//
//	wsbench connect   --url ws://127.0.0.1:8080/ws --conns 15000 --channels 100
//	wsbench broadcast --url ws://127.0.0.1:8080/ws --publish-url http://127.0.0.1:8081 --conns 10000 --rate 10
//	wsbench echo      --url ws://127.0.0.1:8080/echo --conns 1000
//	wsbench churn     --url ws://127.0.0.1:8080/ws --publish-url http://127.0.0.1:8081 --conns 5000 --churn-rate 200
//
// Through a load balancer: wss:// dials TLS (a proxy terminating it in
// front of wsgate), and --proxy-protocol starts every connection with the
// PROXY header the balancer would send:
//
//	wsbench connect --url wss://127.0.0.1:8443/ws --tls-ca ca.pem --conns 5000
//	wsbench connect --url ws://127.0.0.1:8080/ws --proxy-protocol v2 --conns 5000
//
// A token-authenticated node, in CI: a JWT on every handshake, the admin
// API's key on every publication, and exit status 3 when a threshold fails:
//
//	wsbench broadcast --url ws://127.0.0.1:8080/ws --token-file ci.jwt \
//	    --publish-url http://127.0.0.1:8081 --publish-header "X-API-Key: $KEY" \
//	    --fail-if 'p99<50ms,lost=0,errors=0'
//
// Run `wsbench --help` for every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/wsgate/wsgate/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without os.Exit: 0 after a completed run whose --fail-if
// conditions all held, 1 when the run failed, 2 for bad usage, 3 when a
// --fail-if condition failed.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "worker" {
		return runWorker(stderr)
	}
	cfg, opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "wsbench:", err)
		return exitUsage
	}
	switch {
	case opts.quiet:
	case isTerminal(stderr):
		cfg.Progress = stderr
	case opts.progressEvery > 0:
		cfg.ProgressLines, cfg.ProgressEvery = stderr, opts.progressEvery
	}
	cfg.Log = stderr
	if opts.cpuProfile != "" {
		f, err := os.Create(opts.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "wsbench:", err)
			return exitUsage
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	thresholdsHeld := true
	if rep != nil && !errors.Is(err, bench.ErrConfig) {
		rep.Command = "wsbench " + strings.Join(redactArgs(args), " ")
		if len(opts.failIf) > 0 {
			rep.Thresholds = bench.CheckThresholds(opts.failIf, rep)
		}
		rep.WriteTable(stdout)
		if len(opts.failIf) > 0 {
			thresholdsHeld = reportThresholds(stderr, rep.Thresholds)
		}
		if cfg.JSONFile != "" {
			if werr := rep.WriteJSON(cfg.JSONFile); werr != nil {
				err = errors.Join(err, werr)
			}
		}
		if opts.timelineCSV != "" {
			if cerr := rep.WriteTimelineCSV(opts.timelineCSV); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
		if cfg.PlotFile != "" {
			if perr := bench.Plot(rep, cfg.PlotFile); perr != nil {
				err = errors.Join(err, perr)
			}
		}
	}
	switch {
	case errors.Is(err, bench.ErrConfig):
		fmt.Fprintln(stderr, "wsbench:", err)
		return exitUsage
	case err != nil:
		fmt.Fprintln(stderr, "wsbench:", err)
		return exitRunFailed
	case !thresholdsHeld:
		return exitThreshold
	}
	return exitOK
}

// reportThresholds prints each failed condition with the value measured,
// or one line saying all held, and reports whether all held.
func reportThresholds(w io.Writer, results []bench.ThresholdResult) bool {
	failed := 0
	for _, r := range results {
		if !r.Pass {
			failed++
			fmt.Fprintf(w, "wsbench: fail-if: %s failed: measured %s\n", r.Condition, r.Measured)
		}
	}
	if failed == 0 {
		fmt.Fprintf(w, "wsbench: fail-if: all %d conditions held\n", len(results))
		return true
	}
	fmt.Fprintf(w, "wsbench: fail-if: %d of %d conditions failed\n", failed, len(results))
	return false
}

// redactArgs is args for the report's command line, with the values of
// --header and --publish-header left out: they are often credentials, and
// a report is shared.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	redactNext := false
	for i, a := range args {
		switch {
		case redactNext:
			a, redactNext = redactHeader(a), false
		default:
			name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if strings.HasPrefix(a, "-") && (name == "header" || name == "publish-header") {
				if hasValue {
					a = a[:len(a)-len(value)] + redactHeader(value)
				} else {
					redactNext = true
				}
			}
		}
		out[i] = a
	}
	return out
}

// redactHeader keeps a header's name: "Authorization: <redacted>".
func redactHeader(h string) string {
	name, _, _ := strings.Cut(h, ":")
	return name + ": <redacted>"
}
