package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunConnectEndToEnd ramps connections against an in-process gateway
// and checks the report's accounting.
func TestRunConnectEndToEnd(t *testing.T) {
	ws, _ := startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Scenario: ScenarioConnect, URLs: []string{ws + "/ws"}, Conns: 300, ConnectRate: 3000,
		Channels: 3, Hold: 200 * time.Millisecond, Procs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Connections
	if c.Opened != 300 || c.Failed != 0 || c.OpenAtReady != 300 || c.OpenAtEnd != 300 {
		t.Fatalf("connections = %+v, errors %v", c, rep.Errors)
	}
	if rep.ConnectTime.Count != 300 || rep.ConnectTime.P50 <= 0 || rep.ConnectTime.Max < rep.ConnectTime.P99 {
		t.Fatalf("connect time = %+v", rep.ConnectTime)
	}
	if rep.Latency != nil || rep.Messages != nil {
		t.Fatal("connect reported message figures")
	}
}

// TestRunConnectCountsRefusals: a path the server does not serve fails
// every handshake with 404, counted by kind.
func TestRunConnectCountsRefusals(t *testing.T) {
	ws, _ := startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Scenario: ScenarioConnect, URLs: []string{ws + "/nowhere"}, Conns: 50, ConnectRate: 5000,
		Hold: 10 * time.Millisecond, Procs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connections.Failed != 50 || rep.Errors["http_404"] != 50 {
		t.Fatalf("failed %d, errors %v", rep.Connections.Failed, rep.Errors)
	}
}

// TestRunBroadcastEndToEnd publishes through the admin API to subscribers
// on several channels and checks that every delivery is accounted for.
func TestRunBroadcastEndToEnd(t *testing.T) {
	ws, api := startGateway(t)
	for _, tc := range []struct {
		name string
		rate float64
		via  string
	}{
		{"fixed rate over http", 200, PublishHTTP},
		{"max rate over http", 0, PublishHTTP},
		{"fixed rate over ws", 200, PublishWS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep, err := Run(ctx, Config{
				Scenario: ScenarioBroadcast, URLs: []string{ws + "/ws"}, PublishURLs: []string{api},
				PublishVia: tc.via, Conns: 200, Channels: 4, Publishers: 2, Rate: tc.rate,
				Duration: 500 * time.Millisecond, Procs: 1, ConnectRate: 5000,
			})
			if err != nil {
				t.Fatal(err)
			}
			m := rep.Messages
			if m.Published == 0 || m.Expected != m.Published*50 {
				t.Fatalf("published %d, expected deliveries %d (want 50 per message)", m.Published, m.Expected)
			}
			if m.Lost != 0 || m.Duplicates != 0 || m.OutOfOrder != 0 || m.Unique != m.Expected || m.Delivered != m.Expected {
				t.Fatalf("messages = %+v", m)
			}
			if rep.Latency.Count != m.Delivered || rep.Latency.P50 <= 0 {
				t.Fatalf("latency = %+v", rep.Latency)
			}
		})
	}
}

// TestRunNATSNeedsURL: the NATS publisher says what it lacks.
func TestRunNATSNeedsURL(t *testing.T) {
	_, err := Run(context.Background(), Config{
		Scenario: ScenarioBroadcast, URLs: []string{"ws://127.0.0.1:1/ws"}, Conns: 1, PublishVia: PublishNATS,
	})
	if err == nil || !strings.Contains(err.Error(), "--nats-url") {
		t.Fatalf("err = %v", err)
	}
}

// TestRunEchoAndChurnEndToEnd runs the other two scenarios briefly against
// the in-process gateway.
func TestRunEchoAndChurnEndToEnd(t *testing.T) {
	ws, api := startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Scenario: ScenarioEcho, URLs: []string{ws + "/echo"}, Conns: 20, Duration: 300 * time.Millisecond, Procs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := rep.Echo; e.Received == 0 || e.Received != e.Sent || rep.Latency.Count != e.Received {
		t.Fatalf("echo = %+v, latency %+v", e, rep.Latency)
	}
	rep, err = Run(ctx, Config{
		Scenario: ScenarioChurn, URLs: []string{ws + "/ws"}, PublishURLs: []string{api},
		Conns: 100, ChurnConns: 50, ChurnRate: 100, Rate: 100, Channels: 2,
		Duration: 500 * time.Millisecond, Procs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	m, ch := rep.Messages, rep.Churn
	if m.Published == 0 || m.Lost != 0 || m.Unique != m.Expected || m.Duplicates != 0 {
		t.Fatalf("messages = %+v", m)
	}
	if ch.Disconnects < 10 || rep.Connections.Opened < 150+ch.Disconnects/2 {
		t.Fatalf("churn = %+v, connections %+v", ch, rep.Connections)
	}
}
