// Package gatewaytest runs wsgate's gateway inside a test's process: the
// engine (reactor) on a port the kernel picks and, for the operator API, its
// admin handler on an httptest server. It imports the server, so it is
// apart from testkit: bench, the load generator, must never reach it
// (bench/deps_test.go), and reactor's own internal tests cannot use it
// (reactor → gatewaytest → reactor is an import cycle).
package gatewaytest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/reactor"
)

// shutdownTimeout bounds the cleanup's Shutdown: connections the test left
// open get their close 1001, then are cut.
const shutdownTimeout = 10 * time.Second

// quiet keeps engines silent: tests assert on the wire and the counters,
// not on logs.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Start runs an engine for cfg until the test ends: on 127.0.0.1:0 unless
// cfg.Listen is set (read the port from Addr), silent unless cfg.Logger is
// set. It returns once the engine accepts connections and fails the test
// if reactor.New or Start fails.
//
// The cleanup shuts the engine down, failing the test if that fails. An
// engine whose loops already stopped (the test called Shutdown or Drain)
// is left alone, but loops that stopped with an error fail the test. Clients
// registered for cleanup after Start are closed before the engine stops
// (t.Cleanup runs last-in, first-out).
func Start(t testing.TB, cfg reactor.Config) *reactor.Engine {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	eng, err := reactor.New(cfg)
	if err != nil {
		t.Fatalf("reactor.New: %v", err)
	}
	if err := eng.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		select {
		case <-eng.Done():
			if err := eng.Err(); err != nil {
				t.Errorf("the engine's event loops stopped: %v", err)
			}
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := eng.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return eng
}

// Admin serves eng's admin API, admin.New(eng, cfg), on an httptest server
// (ts.URL + "/api/publish") closed when the test ends, before an engine
// from Start stops.
func Admin(t testing.TB, eng *reactor.Engine, cfg admin.Config) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(admin.New(eng, cfg))
	t.Cleanup(ts.Close)
	return ts
}
