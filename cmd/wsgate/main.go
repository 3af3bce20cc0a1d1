// Command wsgate is the WebSocket gateway server.
//
//	wsgate [serve] [flags]
//
// It serves WebSocket clients on --listen (/ws for channels, /echo) and the
// admin API on --admin-listen. Every flag can also be set with an
// environment variable WSGATE_<FLAG> (upper case, dashes as underscores) or
// in a TOML file given with --config; a flag on the command line wins over
// the environment, which wins over the file.
//
// SIGTERM or SIGINT drains the node: readiness turns false, and connections
// get close 1001 spread over --drain-window; a second signal exits at once.
// SIGHUP re-reads the token key files (--jwt-hmac-secret-file,
// --jwt-public-key, --jwt-jwks, fetching an https JWKS again) and the admin
// API key file, without dropping a connection; a failed reload keeps the
// keys in force.
//
// --cpuprofile and --memprofile profile the node itself (profile.go): the
// CPU profile covers start to exit, the heap profile is written on SIGUSR1
// (without --memprofile, SIGUSR1 keeps its default action and ends the
// process) and when the node starts to stop.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/net/netutil"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/control"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is main without os.Exit, returning the exit code: 0 after a clean
// shutdown, 2 for bad usage, 1 for a failure to serve.
func run(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "tune" {
		return runTune(args[1:], os.Stdout, stderr)
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	cfg, opts, err := parseConfig(args, os.LookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "wsgate:", err)
		return 2
	}
	logger, err := newLogger(stderr, opts.logFormat, opts.logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "wsgate:", err)
		return 2
	}
	cfg.Logger = logger
	prof, err := startProfiling(opts.prof, logger)
	if err != nil {
		logger.Error("cannot start profiling", "err", err)
		return 2
	}
	defer prof.stop() // runs before main's os.Exit
	sizeLimits(&cfg, &opts)
	// From here SIGHUP asks for a reload (handled once the node runs)
	// rather than killing the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	if err := configureSecurity(&cfg, &opts); err != nil {
		logger.Error("invalid security configuration", "err", err)
		return 2
	}
	defer closeSecurity(&cfg) // ends the JWKS refresher, after the drain
	logSecurity(logger, &cfg, &opts)
	if opts.nodeID == "" {
		opts.nodeID = randomID()
	}

	opts.pres.channels = append(opts.pres.channels, opts.hist.presence...) // [[namespace]] presence = true
	opts.nats.jetStream = opts.pres.on()                                   // presence keeps its members in JetStream KV
	opts.pres.natsPrefix = cmp.Or(opts.nats.Prefix, relay.DefaultSubjectPrefix)
	rel, stopRelay, err := startRelay(&opts, opts.nodeID, logger)
	if err != nil {
		logger.Error("cannot start the relay", "err", err)
		return 1
	}
	defer stopRelay()
	cfg.Relay = rel
	cfg.NodeID, cfg.Version = opts.nodeID, buildVersion()
	stopHooks, err := startHooks(&cfg, &opts.hook, logger)
	if err != nil {
		logger.Error("invalid hook configuration", "err", err)
		return 2
	}
	defer stopHooks() // after the drain: the disconnect events go out
	// The engine closes the store when it stops, before the relay.
	if err := startPresence(&cfg, &opts.pres, rel, opts.nodeID, logger); err != nil {
		logger.Error("cannot start presence", "err", err)
		return 1
	}

	eng, err := reactor.New(cfg)
	if err != nil {
		logger.Error("invalid configuration", "err", err)
		return 2
	}
	if err := checkIdleTimeout(eng.Config().PingInterval, opts.edge.lbIdleTimeout); err != nil {
		if !opts.edge.lbIdleWarn {
			logger.Error("invalid configuration", "err", err)
			return 2
		}
		logger.Warn("quiet connections will be cut by the load balancer", "err", err)
	}
	adminLn, err := net.Listen("tcp", opts.adminListen)
	if err != nil {
		logger.Error("cannot listen for the admin API", "addr", opts.adminListen, "err", err)
		return 1
	}
	// Bounded like every other descriptor user: sizeLimits reserved these.
	adminLn = netutil.LimitListener(adminLn, opts.adminMaxConns)
	logCapacity(logger, eng.Config().MaxConns)
	if err := eng.Start(); err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	stopAgent, err := startAgent(&opts.edge, eng, logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		_ = eng.Shutdown(context.Background())
		return 1
	}
	defer stopAgent()
	plane, err := control.New(eng, rel, control.Config{})
	if err != nil {
		logger.Error("cannot start the control API", "err", err)
		_ = eng.Shutdown(context.Background())
		return 1
	}
	adminAPI := admin.New(eng, admin.Config{NodeID: opts.nodeID, APIKey: opts.sec.apiKey, Control: plane})
	api := admin.NewHTTPServer(opts.adminListen, adminAPI)
	go func() {
		if err := api.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("admin API stopped", "err", err)
		}
	}()
	// Caught before the node says it is up, so a supervisor that signals on
	// that line gets a drain, not the default action's abrupt exit.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	logger.Info("admin API listening", "addr", adminLn.Addr().String(), "node", opts.nodeID)

	// SIGHUP re-reads the key, secret, JWKS and API key files; connections
	// keep their verified claims, new handshakes and refreshes use the new
	// keys. A failed reload keeps the old ones.
	go func() {
		for range hup {
			key, err := reloadSecurity(&cfg, &opts, logger)
			if err != nil {
				logger.Error("SIGHUP: reload failed, the old keys stay in force", "err", err)
				continue
			}
			adminAPI.SetAPIKey(key)
		}
	}()

	var sig os.Signal
	select {
	case sig = <-signals:
	case <-eng.Done(): // the event loops failed after start-up (the engine logged why)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = api.Shutdown(shutdownCtx)
		_ = eng.Shutdown(shutdownCtx)
		return 1
	}
	logger.Info("draining: closing connections with 1001", "signal", sig.String(), "window", eng.Config().DrainWindow)
	prof.stopping()
	go func() {
		<-signals
		logger.Warn("second signal: exiting now")
		prof.stop()
		os.Exit(1)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), eng.Config().DrainWindow+eng.Config().CloseTimeout+time.Second)
	defer cancel()
	code := 0
	if err := eng.Drain(ctx); err != nil {
		logger.Error("drain", "err", err)
		code = 1
	}
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	_ = api.Shutdown(shutdownCtx)
	logger.Info("stopped")
	return code
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

func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
