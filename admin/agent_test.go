package admin_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/reactor"
)

func TestAgentLine(t *testing.T) {
	draining := errors.New("draining")
	for _, tc := range []struct {
		ready    error
		upgraded int64
		maxConns int
		lag      time.Duration
		want     string
	}{
		{nil, 0, 1000, 0, "up 100%\n"},
		{nil, 250, 1000, 0, "up 75%\n"},
		{nil, 250, 1000, 50 * time.Millisecond, "up 50%\n"}, // lag weighs more than connections
		{nil, 1000, 1000, 0, "up 1%\n"},                     // full, but not drained: 0% would drain it
		{nil, 5000, 1000, 0, "up 1%\n"},
		{nil, 0, 1000, time.Second, "up 1%\n"},
		{draining, 0, 1000, 0, "drain\n"},
		{nil, 10, 0, 0, "up 100%\n"}, // no cap known: connections do not count
	} {
		if got := admin.AgentLine(tc.ready, tc.upgraded, tc.maxConns, tc.lag); got != tc.want {
			t.Errorf("AgentLine(%v, %d, %d, %v) = %q, want %q", tc.ready, tc.upgraded, tc.maxConns, tc.lag, got, tc.want)
		}
	}
}

// agentSays reads the responder's one line.
func agentSays(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial agent: %v", err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read agent: %v", err)
	}
	return string(b)
}

// TestServeAgentReportsLoadThenDrain: the responder answers each check
// with the node's weight from its connections, and "drain" from the
// moment the node drains, while its connections are still open.
func TestServeAgentReportsLoadThenDrain(t *testing.T) {
	eng := gatewaytest.Start(t, reactor.Config{MaxConns: 4, DrainWindow: 5 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- admin.ServeAgent(ctx, ln, eng) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeAgent: %v", err)
		}
	}()

	if got := agentSays(t, ln.Addr().String()); got != "up 100%\n" {
		t.Fatalf("idle node: %q, want \"up 100%%\\n\"", got)
	}
	sub := subscribe(t, eng, "news")
	if got := agentSays(t, ln.Addr().String()); got != "up 75%\n" {
		t.Fatalf("one connection of 4: %q, want \"up 75%%\\n\"", got)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	drained := make(chan error, 1)
	go func() { drained <- eng.Drain(dctx) }()
	testkit.Eventually(t, 5*time.Second, "the agent to say drain", func() bool {
		return agentSays(t, ln.Addr().String()) == "drain\n"
	})
	if eng.Stats().Upgraded != 1 {
		t.Fatal("the connection was closed before the agent said drain: the balancer would learn too late")
	}
	_ = sub.Close()
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

// TestServeAgentSurvivesAFlood: many checks at once, none of them reading,
// get at most AgentMaxConns answers in flight; the responder still
// answers the balancer afterwards and stops when told.
func TestServeAgentSurvivesAFlood(t *testing.T) {
	eng := gatewaytest.Start(t, reactor.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- admin.ServeAgent(ctx, ln, eng) }()
	var flood []net.Conn
	for range 200 {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		flood = append(flood, c)
	}
	testkit.Eventually(t, 5*time.Second, "a normal check answered after the flood", func() bool {
		return agentSays(t, ln.Addr().String()) == "up 100%\n"
	})
	for _, c := range flood {
		_ = c.Close()
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("ServeAgent: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeAgent did not stop")
	}
}
