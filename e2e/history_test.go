package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/internal/testkit"
)

// startNATSJetStream runs nats-server with JetStream on a file store in
// dir, at addr (a testkit.ReserveAddr address, so it can come back there).
func startNATSJetStream(t testing.TB, addr, dir string) *natsServer {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, "nats-server", "-a", "127.0.0.1", "-p", port, "-m", "-1", "-js", "-sd", dir)
	s := &natsServer{process: p}
	s.monitor = p.logLine(t, 10*time.Second, "Starting http monitor on ")
	s.addr = p.logLine(t, 10*time.Second, "Listening for client connections on ")
	return s
}

// historyNode is a wsgate node keeping history on the JetStream at url.
func historyNode(t testing.TB, id, url string, extra ...string) *node {
	args := append([]string{"--node-id", id, "--nats", url, "--history-size", "5000", "--nats-replay-delay", "100ms", "--drain-window", "1s"}, extra...)
	n := startNode(t, args...)
	n.logLine(t, 20*time.Second, "JetStream history stream ready")
	return n
}

// postKeyed publishes data on channel through n's admin API with an
// idempotency key, retrying (same key) until it is accepted or the
// deadline passes: a publisher that never gives up on a publication.
func postKeyed(n *node, channel string, data any, key string, deadline time.Time) error {
	body, _ := json.Marshal(map[string]any{"channel": channel, "data": data, "idempotency_key": key})
	for {
		resp, err := http.Post("http://"+n.admin+"/api/publish", "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("publish %s: %w", key, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// follower follows a channel with the Go client: every publication's
// number in the order delivered, and any event other than a resume as a
// broken promise.
type follower struct {
	mu      sync.Mutex
	got     []int
	resumes int
	broken  error
	all     chan struct{}
	want    int
}

func (f *follower) message(m client.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int
	if err := json.Unmarshal(m.Data, &n); err != nil && f.broken == nil {
		f.broken = fmt.Errorf("data %s at offset %d", m.Data, m.Offset)
	}
	f.got = append(f.got, n)
	if len(f.got) == f.want {
		close(f.all)
	}
}

func (f *follower) event(e client.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e.Kind == client.EventResumed {
		f.resumes++
		return
	}
	if f.broken == nil {
		f.broken = fmt.Errorf("subscription event %v (position %+v, err %v)", e.Kind, e.Position, e.Err)
	}
}

// TestHistoryNothingLostAcrossNodeAndBusFailures: a subscriber on node A
// follows 1,000 publications (200/s) made through node B's HTTP API; mid-
// stream node A is drained, or killed, or the NATS server restarts. The
// subscriber, the Go client given both nodes' URLs, ends with all 1,000,
// in order, once each, and never reports a loss.
func TestHistoryNothingLostAcrossNodeAndBusFailures(t *testing.T) {
	for _, failure := range []string{"drain", "kill", "nats-restart"} {
		t.Run(failure, func(t *testing.T) {
			addr := testkit.ReserveAddr(t)
			dir := t.TempDir()
			ns := startNATSJetStream(t, addr, dir)
			url := "nats://" + addr
			a := historyNode(t, "a", url)
			b := historyNode(t, "b", url)

			const total = 1000
			channel := "orders." + failure
			deadline := time.Now().Add(90 * time.Second)
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			defer cancel()
			c := client.New([]string{a.url("/ws"), b.url("/ws")}, client.Options{
				MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
			})
			defer c.Close()
			if err := c.Connect(ctx); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			f := &follower{want: total, all: make(chan struct{})}
			if _, err := c.Subscribe(ctx, channel, f.message, client.WithEvents(f.event)); err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			if c.Node() != "a" {
				t.Fatalf("subscribed on %q, want a (the first URL)", c.Node())
			}
			testkit.Eventually(t, 10*time.Second, "the subscriber on node a", func() bool {
				st := a.stats(t)["stats"].(map[string]any)
				return st["subscriptions"].(float64) == 1
			})

			pubErr := make(chan error, 1)
			go func() {
				tick := time.NewTicker(5 * time.Millisecond) // 200/s
				defer tick.Stop()
				for i := range total {
					<-tick.C
					if err := postKeyed(b, channel, i, fmt.Sprintf("p-%d", i), deadline); err != nil {
						pubErr <- err
						return
					}
					if i != total/3 {
						continue
					}
					switch failure { // a third of the way through
					case "drain":
						_ = a.cmd.Process.Signal(syscall.SIGTERM)
					case "kill":
						_ = a.cmd.Process.Kill()
					case "nats-restart":
						_ = ns.cmd.Process.Signal(syscall.SIGTERM)
						_ = ns.wait(t, 10*time.Second)
						ns = startNATSJetStream(t, addr, dir)
					}
				}
				pubErr <- nil
			}()
			if err := <-pubErr; err != nil {
				t.Fatal(err)
			}
			select {
			case <-f.all:
			case <-ctx.Done():
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.broken != nil {
				t.Fatal(f.broken)
			}
			if len(f.got) != total {
				t.Fatalf("%d of %d publications by the deadline", len(f.got), total)
			}
			for i, n := range f.got {
				if n != i {
					t.Fatalf("publication %d is %d (of %d received)", i, n, len(f.got))
				}
			}
			t.Logf("%s: %d publications in order, %d resumes, on node %s", failure, len(f.got), f.resumes, c.Node())
			if failure != "nats-restart" && (f.resumes == 0 || c.Node() != "b") {
				t.Fatalf("%d resumes, on node %s: the failure did not reach the subscriber", f.resumes, c.Node())
			}
		})
	}
}
