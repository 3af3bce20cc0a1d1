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

// run is main without os.Exit: 0 after a completed run, 1 when the run
// failed, 2 for bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "worker" {
		return runWorker(stderr)
	}
	cfg, opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "wsbench:", err)
		return 2
	}
	if isTerminal(os.Stderr) && !opts.quiet {
		cfg.Progress = stderr
	}
	cfg.Log = stderr
	if opts.cpuProfile != "" {
		f, err := os.Create(opts.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "wsbench:", err)
			return 2
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	if rep != nil && !errors.Is(err, bench.ErrConfig) {
		rep.Command = "wsbench " + strings.Join(args, " ")
		rep.WriteTable(stdout)
		if cfg.JSONFile != "" {
			if werr := rep.WriteJSON(cfg.JSONFile); werr != nil {
				err = errors.Join(err, werr)
			}
		}
		if cfg.PlotFile != "" {
			if perr := bench.Plot(rep, cfg.PlotFile); perr != nil {
				err = errors.Join(err, perr)
			}
		}
	}
	if errors.Is(err, bench.ErrConfig) {
		fmt.Fprintln(stderr, "wsbench:", err)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "wsbench:", err)
		return 1
	}
	return 0
}
