// Command wsgate is the WebSocket gateway server.
//
//	wsgate [serve] [flags]
//
// It starts the reactor on --listen and serves /echo; SIGINT or SIGTERM sends
// close 1001 to every connection and exits once they are gone (or after
// --shutdown-timeout); a second signal exits at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/reactor"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is main without os.Exit, returning the exit code: 0 after a clean
// shutdown, 2 for bad usage, 1 for a failure to serve.
func run(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	cfg, opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	logger, err := newLogger(stderr, opts.logFormat, opts.logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "wsgate:", err)
		return 2
	}
	cfg.Logger = logger

	eng, err := reactor.New(cfg)
	if err != nil {
		logger.Error("invalid configuration", "err", err)
		return 2
	}
	if err := eng.Start(); err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	sig := <-signals
	logger.Info("shutting down: closing connections with 1001", "signal", sig.String(), "timeout", opts.shutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), opts.shutdownTimeout)
	defer cancel()
	go func() {
		<-signals
		logger.Warn("second signal: exiting now")
		os.Exit(1)
	}()
	if err := eng.Shutdown(ctx); err != nil {
		logger.Error("shutdown", "err", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}

// options are the flags that configure the command rather than the reactor.
type options struct {
	logFormat       string
	logLevel        string
	shutdownTimeout time.Duration
}

func parseFlags(args []string, stderr io.Writer) (reactor.Config, options, error) {
	var (
		cfg  reactor.Config
		opts options
		echo bool
	)
	fs := flag.NewFlagSet("wsgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: wsgate [serve] [flags]\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Listen, "listen", reactor.DefaultListen, "`address` for WebSocket clients")
	fs.IntVar(&cfg.Loops, "loops", 0, "event loops (0: one per CPU)")
	fs.BoolVar(&echo, "echo", true, "serve the /echo endpoint")
	fs.IntVar(&cfg.Limits.MaxHeaderBytes, "max-header-bytes", 8<<10, "largest handshake request header block, in `bytes` (over: 431)")
	fs.Int64Var(&cfg.Limits.MaxFrameSize, "max-frame-size", 1<<20, "largest frame payload, in `bytes` (over: close 1009)")
	fs.Int64Var(&cfg.Limits.MaxMessageSize, "max-message-size", 1<<20, "largest message, in `bytes` (over: close 1009)")
	fs.DurationVar(&cfg.HandshakeTimeout, "handshake-timeout", reactor.DefaultHandshakeTimeout, "time allowed to complete the upgrade request")
	fs.DurationVar(&cfg.CloseTimeout, "close-timeout", reactor.DefaultCloseTimeout, "time a peer has to answer our close frame")
	fs.DurationVar(&opts.shutdownTimeout, "shutdown-timeout", 10*time.Second, "time allowed for connections to close on shutdown")
	fs.StringVar(&opts.logFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&opts.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return cfg, opts, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wsgate: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return cfg, opts, errors.New("unexpected argument")
	}
	cfg.DisableEcho = !echo
	return cfg, opts, nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
