package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestRunMultiProcess splits a broadcast over three worker processes (this
// test binary, see TestMain) from several source addresses: every
// connection, delivery and latency sample must come back through the
// workers' encoded histograms and counters.
func TestRunMultiProcess(t *testing.T) {
	ws, api := startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Scenario: ScenarioBroadcast, URLs: []string{ws + "/ws"}, PublishURLs: []string{api},
		Conns: 300, Channels: 3, Rate: 100, Duration: 500 * time.Millisecond,
		Procs: 3, SourceIPs: "127.0.0.2-127.0.0.4", Self: os.Args[0], Log: os.Stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Messages
	if rep.Connections.Opened != 300 || rep.ConnectTime.Count != 300 {
		t.Fatalf("connections %+v, connect samples %d, errors %v", rep.Connections, rep.ConnectTime.Count, rep.Errors)
	}
	if m.Published == 0 || m.Lost != 0 || m.Unique != m.Expected || m.Delivered != m.Expected {
		t.Fatalf("messages = %+v", m)
	}
	if rep.Latency.Count != m.Delivered || rep.LatencyRaw.Count != m.Delivered {
		t.Fatalf("latency samples %d/%d, deliveries %d", rep.Latency.Count, rep.LatencyRaw.Count, m.Delivered)
	}
	if rep.Self.CPUSeconds <= 0 {
		t.Fatalf("wsbench usage %+v", rep.Self)
	}
}
