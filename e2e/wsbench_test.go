package e2e

// The load generator (package bench, the engine of wsbench) against real
// wsgate processes: its scenarios and its accounting hold against the
// server it measures. bench is a client and never starts a gateway of its
// own, so these tests live here.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// benchNode starts a node as make bench runs it: per-client rate limits
// off, so the load is the data path's. Two loops keep it small.
func benchNode(t testing.TB, extra ...string) *node {
	t.Helper()
	return startNode(t, append([]string{"--loops", "2", "--max-msg-rate", "-1", "--max-byte-rate", "-1"}, extra...)...)
}

// wsbenchBin builds cmd/wsbench once, for the tests that need worker
// processes.
func wsbenchBin(t testing.TB) string {
	t.Helper()
	wsbench.once.Do(func() {
		out := bin("wsbench")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/wsbench")
		cmd.Dir = ".."
		if b, err := cmd.CombinedOutput(); err != nil {
			wsbench.err = fmt.Errorf("build ./cmd/wsbench: %v\n%s", err, b)
		}
	})
	if wsbench.err != nil {
		t.Fatal(wsbench.err)
	}
	return bin("wsbench")
}

var wsbench struct {
	once sync.Once
	err  error
}

func TestBenchShardConnectsAndCloses(t *testing.T) {
	n := benchNode(t)
	target, err := bench.ParseTarget(n.url("/ws"))
	if err != nil {
		t.Fatal(err)
	}
	sh, err := bench.NewShard(bench.Plan{Targets: []bench.Target{target}, Count: 200, ConnectRate: 0, Channels: 4, ChannelPrefix: "bench.", Salt: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := sh.WaitReady(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Open != 200 || r.PerChannel[0] != 50 {
		t.Fatalf("ready = %+v", r)
	}
	res, err := sh.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connect.Count() != 200 || len(res.Errors) != 0 || res.Progress.Open != 0 {
		t.Fatalf("result: connect count %d, errors %v, progress %+v", res.Connect.Count(), res.Errors, res.Progress)
	}
}

// The connect scenario ramps connections and accounts for each.
func TestBenchRunConnectAccounting(t *testing.T) {
	n := benchNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := bench.Run(ctx, bench.Config{
		Scenario: bench.ScenarioConnect, URLs: []string{n.url("/ws")}, Conns: 300, ConnectRate: 3000,
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

// A path the node does not serve fails every handshake with 404, counted
// by kind.
func TestBenchRunConnectCountsRefusals(t *testing.T) {
	n := benchNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := bench.Run(ctx, bench.Config{
		Scenario: bench.ScenarioConnect, URLs: []string{n.url("/nowhere")}, Conns: 50, ConnectRate: 5000,
		Hold: 10 * time.Millisecond, Procs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connections.Failed != 50 || rep.Errors["http_404"] != 50 {
		t.Fatalf("failed %d, errors %v", rep.Connections.Failed, rep.Errors)
	}
}

// Publications through the admin API or a WebSocket, at a fixed or the
// maximum rate, to subscribers on several channels: every delivery is
// accounted for.
func TestBenchRunBroadcastAccounting(t *testing.T) {
	n := benchNode(t)
	for _, tc := range []struct {
		name string
		rate float64
		via  string
	}{
		{"fixed rate over http", 200, bench.PublishHTTP},
		{"max rate over http", 0, bench.PublishHTTP},
		{"fixed rate over ws", 200, bench.PublishWS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep, err := bench.Run(ctx, bench.Config{
				Scenario: bench.ScenarioBroadcast, URLs: []string{n.url("/ws")}, PublishURLs: []string{"http://" + n.admin},
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

// The echo and churn scenarios, briefly.
func TestBenchRunEchoAndChurn(t *testing.T) {
	n := benchNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := bench.Run(ctx, bench.Config{
		Scenario: bench.ScenarioEcho, URLs: []string{n.url("/echo")}, Conns: 20, Duration: 300 * time.Millisecond, Procs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := rep.Echo; e.Received == 0 || e.Received != e.Sent || rep.Latency.Count != e.Received {
		t.Fatalf("echo = %+v, latency %+v", e, rep.Latency)
	}
	rep, err = bench.Run(ctx, bench.Config{
		Scenario: bench.ScenarioChurn, URLs: []string{n.url("/ws")}, PublishURLs: []string{"http://" + n.admin},
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

// A broadcast split over three wsbench worker processes from several
// source addresses: every connection, delivery and latency sample must come
// back through the workers' encoded histograms and counters.
func TestBenchRunMultiProcess(t *testing.T) {
	self := wsbenchBin(t)
	n := benchNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := bench.Run(ctx, bench.Config{
		Scenario: bench.ScenarioBroadcast, URLs: []string{n.url("/ws")}, PublishURLs: []string{"http://" + n.admin},
		Conns: 300, Channels: 3, Rate: 100, Duration: 500 * time.Millisecond,
		Procs: 3, SourceIPs: "127.0.0.2-127.0.0.4", Self: self, Log: os.Stderr,
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

// Two nodes share a real NATS server; a publisher on the bus reaches the
// subscribers of both, each message once and in order.
func TestBenchRunBroadcastOverNATS(t *testing.T) {
	ns := startNATS(t)
	var urls []string
	for range 2 {
		n := startNode(t, "--nats", "nats://"+ns.addr)
		urls = append(urls, n.url("/ws"))
		// Hold the nodes' interest in every channel before the run, so the
		// first publications cannot overtake the subscriptions on the bus.
		c, err := wstest.Dial(n.url("/ws?channels=bench.0,bench.1"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	testkit.Eventually(t, 10*time.Second, "both nodes' interest in both channels on NATS", func() bool { return ns.subscriptions(t) >= 4 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := bench.Run(ctx, bench.Config{
		Scenario: bench.ScenarioBroadcast, URLs: urls, PublishVia: bench.PublishNATS, NATSURL: "nats://" + ns.addr,
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

// TestBenchRunNodeKilledSurvivorsLoseNothing: wsbench --reconnect through
// a node's death. Half the subscribers are on node b, SIGKILLed during
// the load: they redial node a, and the loss that counts is that of the
// subscribers that stayed connected, none.
func TestBenchRunNodeKilledSurvivorsLoseNothing(t *testing.T) {
	ns := startNATS(t)
	var nodes []*node
	var urls []string
	for range 2 {
		n := startNode(t, "--nats", "nats://"+ns.addr)
		nodes, urls = append(nodes, n), append(urls, n.url("/ws"))
		c, err := wstest.Dial(n.url("/ws?channels=bench.0"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	testkit.Eventually(t, 10*time.Second, "both nodes' interest on NATS", func() bool { return ns.subscriptions(t) >= 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	killed := time.AfterFunc(1500*time.Millisecond, func() { _ = nodes[1].cmd.Process.Kill() })
	defer killed.Stop()
	rep, err := bench.Run(ctx, bench.Config{
		Scenario: bench.ScenarioBroadcast, URLs: urls, PublishVia: bench.PublishNATS, NATSURL: "nats://" + ns.addr,
		Conns: 100, Channels: 1, Rate: 100, Duration: 3 * time.Second, Procs: 1, ConnectRate: 5000, Reconnect: true,
	})
	if rep == nil {
		t.Fatal(err)
	}
	m := rep.Messages
	t.Logf("err %v; messages %+v; errors %v", err, m, rep.Errors)
	if m == nil || m.Survivors != 50 || m.LostSurvivors != 0 || m.Reconnects != 50 || m.Duplicates != 0 || m.OutOfOrder != 0 {
		t.Fatalf("want 50 survivors (node a's) that lost nothing and 50 reconnects (node b's); got %+v", m)
	}
	if m.Lost == 0 {
		t.Fatal("the killed node's subscribers lost nothing: the kill came too late to test anything")
	}
}
