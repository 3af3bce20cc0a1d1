package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
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

// resumingClient follows a channel across reconnections the way a client
// SDK does: it keeps the last offset and epoch; after a disconnection it
// connects to the next URL that answers and subscribes with since; when a
// message's prev shows a gap it subscribes again with since on the same
// connection and ignores the channel's messages until the ack.
type resumingClient struct {
	t       *testing.T
	channel string
	last    uint64
	epoch   string
	got     []int
	resumes int
}

func (rc *resumingClient) run(urls func() []string, want int, deadline time.Time) error {
	for len(rc.got) < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d publications by the deadline (last offset %d)", len(rc.got), want, rc.last)
		}
		var c *wstest.Conn
		var err error
		for _, u := range urls() {
			if c, err = wstest.Dial(u, 2*time.Second); err == nil {
				break
			}
		}
		if c == nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		err = rc.follow(c, want, deadline)
		c.Close()
		if err != nil && !isDisconnect(err) {
			return err
		}
	}
	return nil
}

// isDisconnect reports whether err ends a connection rather than showing
// a broken promise.
func isDisconnect(err error) bool {
	var protocol *brokenPromise
	return !errors.As(err, &protocol)
}

type brokenPromise struct{ msg string }

func (b *brokenPromise) Error() string { return b.msg }

func broken(format string, args ...any) error { return &brokenPromise{fmt.Sprintf(format, args...)} }

func (rc *resumingClient) subscribe(c *wstest.Conn) error {
	frame := fmt.Sprintf(`{"type":"subscribe","channel":%q}`, rc.channel)
	if rc.epoch != "" {
		frame = fmt.Sprintf(`{"type":"subscribe","channel":%q,"since":{"offset":%d,"epoch":%q}}`, rc.channel, rc.last, rc.epoch)
		rc.resumes++
	}
	return c.WriteText([]byte(frame))
}

func (rc *resumingClient) follow(c *wstest.Conn, want int, deadline time.Time) error {
	if err := rc.subscribe(c); err != nil {
		return err
	}
	acked := false
	for len(rc.got) < want {
		_ = c.SetReadDeadline(deadline)
		_, p, err := c.ReadMessage()
		if err != nil {
			return err
		}
		var m struct {
			Type, Channel, Epoch, Code, Message string
			Offset, Prev                        uint64
			Recovered                           *bool
			Data                                json.RawMessage
		}
		if err := json.Unmarshal(p, &m); err != nil {
			return broken("frame %s: %v", p, err)
		}
		switch m.Type {
		case "connected":
		case "ack":
			if rc.epoch != "" && (m.Recovered == nil || !*m.Recovered) {
				return broken("resume from %d in %s: %s", rc.last, rc.epoch, p)
			}
			if rc.epoch == "" {
				rc.last = m.Offset
			}
			rc.epoch, acked = m.Epoch, true
		case "message":
			if !acked {
				continue // sent before the resubscription: the replay has them
			}
			if m.Offset <= rc.last {
				return broken("duplicate: offset %d after %d", m.Offset, rc.last)
			}
			if m.Prev > rc.last {
				// A gap (the node missed part of the live feed): resume here.
				acked = false
				if err := rc.subscribe(c); err != nil {
					return err
				}
				continue
			}
			var n int
			if err := json.Unmarshal(m.Data, &n); err != nil {
				return broken("data %s", m.Data)
			}
			rc.last = m.Offset
			rc.got = append(rc.got, n)
		default:
			return broken("unexpected frame %s", p)
		}
	}
	return nil
}

// TestHistoryNothingLostAcrossNodeAndBusFailures: a subscriber on node A
// follows 1,000 publications (200/s) made through node B's HTTP API; mid-
// stream node A is drained, or killed, or the NATS server restarts. The
// subscriber ends with all 1,000, in order, once each.
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
			rc := &resumingClient{t: t, channel: channel}
			var aDown sync.Mutex
			aGone := false
			urls := func() []string {
				aDown.Lock()
				defer aDown.Unlock()
				if aGone {
					return []string{b.url("/ws")}
				}
				return []string{a.url("/ws")}
			}
			deadline := time.Now().Add(90 * time.Second)
			done := make(chan error, 1)
			go func() { done <- rc.run(urls, total, deadline) }()
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
						aDown.Lock()
						aGone = true
						aDown.Unlock()
						_ = a.cmd.Process.Signal(syscall.SIGTERM)
					case "kill":
						aDown.Lock()
						aGone = true
						aDown.Unlock()
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
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			for i, n := range rc.got {
				if n != i {
					t.Fatalf("publication %d is %d (of %d received)", i, n, len(rc.got))
				}
			}
			t.Logf("%s: %d publications in order, %d resumes", failure, len(rc.got), rc.resumes)
			if failure != "nats-restart" && rc.resumes == 0 {
				t.Fatal("the subscriber never resumed: the failure did not reach it")
			}
		})
	}
}
