package bench

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

// Two nodes share a real NATS server; a publisher on the bus reaches the
// subscribers of both, each message once and in order.
func TestRunBroadcastOverNATS(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	var urls []string
	for range 2 {
		rel, err := relay.DialNATS(relay.NATSConfig{URLs: []string{srv.ClientURL()}})
		if err != nil {
			t.Fatal(err)
		}
		eng, err := reactor.New(reactor.Config{Listen: "127.0.0.1:0", Relay: rel, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = eng.Shutdown(ctx)
		})
		url := "ws://" + eng.Addr().String() + "/ws"
		urls = append(urls, url)
		// Hold the nodes' interest in every channel before the run, so the
		// first publications cannot overtake the subscriptions on the bus.
		c, err := wstest.Dial(url+"?channels=bench.0,bench.1", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.NumSubscriptions() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling interval
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Scenario: ScenarioBroadcast, URLs: urls, PublishVia: PublishNATS, NATSURL: srv.ClientURL(),
		Conns: 100, Channels: 2, Publishers: 2, Rate: 200,
		Duration: 500 * time.Millisecond, Procs: 1, ConnectRate: 5000,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Messages
	if m.Published == 0 || m.Expected != m.Published*50 {
		t.Fatalf("published %d, expected deliveries %d (want 50 per message)", m.Published, m.Expected)
	}
	if m.Lost != 0 || m.Duplicates != 0 || m.OutOfOrder != 0 || m.Delivered != m.Expected {
		t.Fatalf("messages = %+v", m)
	}
}
