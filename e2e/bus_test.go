package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/natstest"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/wire"
)

// dialGorilla dials rawURL with gorilla/websocket, a third-party client,
// and on /ws reads and checks the connected frame the server sends first
// (wstest.Dial does this itself).
func dialGorilla(rawURL string) (*gorilla.Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	c, _, err := gorilla.DefaultDialer.Dial(rawURL, nil)
	if err != nil || u.Path != wstest.PubSubPath {
		return c, err
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	op, p, err := c.ReadMessage()
	switch {
	case err != nil:
		err = fmt.Errorf("reading the connected frame: %w", err)
	case op != gorilla.TextMessage:
		err = fmt.Errorf("first frame is a type %d message %q, want a text connected frame", op, p)
	default:
		_, err = wstest.ParseConnected(p)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, nil
}

// busBound is how long a client-facing operation may take while the bus is
// stalled. The target is 100 ms, and the measured values are
// logged; the assertion is an order of magnitude looser so a loaded 2-core
// machine cannot fail it, and still far under the 12+ s hangs it guards
// against.
const busBound = time.Second

// busClient times out where a node blocked on its bus would hang.
var busClient = &http.Client{Timeout: 10 * time.Second}

// tryPublish posts data on channel through n's admin API and returns the
// status code.
func tryPublish(t testing.TB, n *node, channel string, data any) int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"channel": channel, "data": data})
	resp, err := busClient.Post("http://"+n.admin+"/api/publish", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("publish on %s: %v", n.admin, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// relayStats returns the "relay" part of n's /api/stats.
func relayStats(t testing.TB, n *node) map[string]any {
	t.Helper()
	return n.stats(t)["relay"].(map[string]any)
}

// latencies records the worst time of each operation.
type latencies struct {
	mu    sync.Mutex
	worst map[string]time.Duration
	order []string
}

// time runs f, fails the test if it took more than busBound, and records
// its duration under what.
func (l *latencies) time(t testing.TB, what string, f func() error) {
	t.Helper()
	start := time.Now()
	err := f()
	d := time.Since(start)
	if err != nil {
		t.Fatalf("%s with the bus stalled: %v (after %s)", what, err, d)
	}
	if d > busBound {
		t.Errorf("%s took %s with the bus stalled, want under %s", what, d, busBound)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.worst == nil {
		l.worst = map[string]time.Duration{}
	}
	if _, ok := l.worst[what]; !ok {
		l.order = append(l.order, what)
	}
	l.worst[what] = max(l.worst[what], d)
}

func (l *latencies) String() string {
	var b strings.Builder
	for _, what := range l.order {
		fmt.Fprintf(&b, "%s %s; ", what, l.worst[what].Round(10*time.Microsecond))
	}
	return b.String()
}

// A node whose NATS server accepts, answers the handshake and then stops
// reading (a dropped network) keeps serving: a new WebSocket handshake
// (which declares interest in a channel), an /echo round trip, a ping,
// GET /readyz and GET /api/stats all answer at once, and publications are
// refused (503) once its queue to the bus is full rather than hanging.
// When a healthy NATS takes over the address, the node rejoins: messages
// flow from the bus to its subscribers and from it to the bus.
func TestBusStalledNodeStaysResponsive(t *testing.T) {
	addr := testkit.ReserveAddr(t) // the fake's, then a healthy NATS's
	fake := natstest.StartStalled(t, addr)
	n := startNode(t, "--nats", "nats://"+addr, "--nats-publish-buffer", "1048576")
	testkit.Eventually(t, 10*time.Second, "the node to connect to the fake NATS", func() bool { return fake.Handshakes() > 0 })

	sub, err := dialGorilla(n.url("/ws?channels=news"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	// Fill the node's socket to NATS, then its queue: the bus goroutine is
	// stuck in a write from here on.
	junk := strings.Repeat("x", 32<<10)
	accepted, refused := 0, 0
	for refused == 0 && accepted < 1000 {
		switch code := tryPublish(t, n, "junk", junk); code {
		case http.StatusOK:
			accepted++
		case http.StatusServiceUnavailable:
			refused++
		default:
			t.Fatalf("publish: %d", code)
		}
	}
	if refused == 0 {
		t.Fatalf("%d publications of 32 KiB accepted with the bus stalled and a 1 MiB queue", accepted)
	}
	t.Logf("stalled: %d publications of 32 KiB accepted before the first 503", accepted)

	echo, err := dialGorilla(n.url("/echo"))
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	pongs := make(chan time.Time, 1)
	echo.SetPongHandler(func(string) error { pongs <- time.Now(); return nil })

	var lat latencies
	var fresh []*gorilla.Conn
	defer func() {
		for _, c := range fresh {
			c.Close()
		}
	}()
	for i := range 10 {
		lat.time(t, "handshake", func() error {
			c, err := dialGorilla(n.url(fmt.Sprintf("/ws?channels=fresh.%d", i)))
			if err == nil {
				fresh = append(fresh, c)
			}
			return err
		})
		lat.time(t, "echo", func() error {
			msg := fmt.Sprintf("echo %d", i)
			_ = echo.SetReadDeadline(time.Now().Add(5 * time.Second))
			if err := echo.WriteMessage(gorilla.TextMessage, []byte(msg)); err != nil {
				return err
			}
			_, p, err := echo.ReadMessage()
			if err == nil && string(p) != msg {
				err = fmt.Errorf("echoed %q, want %q", p, msg)
			}
			return err
		})
		lat.time(t, "ping", func() error {
			sent := time.Now()
			if err := echo.WriteControl(gorilla.PingMessage, []byte("p"), sent.Add(time.Second)); err != nil {
				return err
			}
			// A text message after the ping: reading its echo processes the
			// pong, which came first.
			if err := echo.WriteMessage(gorilla.TextMessage, []byte("after ping")); err != nil {
				return err
			}
			if _, _, err := echo.ReadMessage(); err != nil {
				return err
			}
			select {
			case <-pongs:
				return nil
			default:
				return fmt.Errorf("no pong")
			}
		})
		lat.time(t, "GET /readyz", func() error {
			resp, err := busClient.Get("http://" + n.admin + "/readyz")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
		lat.time(t, "GET /api/stats", func() error {
			resp, err := busClient.Get("http://" + n.admin + "/api/stats")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, err = io.Copy(io.Discard, resp.Body)
			return err
		})
		time.Sleep(100 * time.Millisecond) // spread the probes over the stall
	}
	t.Logf("worst latencies with the bus stalled: %s", lat.String())

	// The network comes back with a healthy server at the address.
	fake.Close()
	ext := startNATSAt(t, addr)
	testkit.Eventually(t, 20*time.Second, "the node to reconnect", func() bool { return relayStats(t, n)["connected"] == true })
	testkit.Eventually(t, 10*time.Second, "the node's interests on NATS", func() bool { return ext.subscriptions(t) >= 11 })

	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	out, err := nc.SubscribeSync("wsgate.ch.out")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("wsgate.ch.news", []byte(`"from the bus"`)); err != nil {
		t.Fatal(err)
	}
	_ = sub.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, p, err := sub.ReadMessage(); err != nil || !strings.Contains(string(p), "from the bus") {
		t.Errorf("subscriber after the stall: %s, %v; want the bus's publication", p, err)
	}
	// The node replays what it queued during the stall, then this.
	testkit.Eventually(t, 20*time.Second, "the node's publication to reach the bus", func() bool {
		if code := tryPublish(t, n, "out", "to the bus"); code != http.StatusOK {
			return false
		}
		m, err := out.NextMsg(200 * time.Millisecond)
		return err == nil && string(m.Data) == `"to the bus"`
	})
}

// Two nodes started while NATS is down start, serve their own clients and
// say they are degraded; the publication one accepts meanwhile is held.
// When NATS comes up they join it: the held publication and new ones cross
// to the other node's subscriber, in order.
func TestBusNodesStartWithoutNATS(t *testing.T) {
	addr := testkit.ReserveAddr(t) // refuses connections until NATS comes up on it
	a := startNode(t, "--node-id", "a", "--nats", "nats://"+addr, "--nats-replay-delay", "3s")
	b := startNode(t, "--node-id", "b", "--nats", "nats://"+addr, "--nats-replay-delay", "3s")
	for _, n := range []*node{a, b} {
		resp, err := busClient.Get("http://" + n.admin + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "degraded") {
			t.Errorf("GET /readyz on a node without NATS: %d %s, want 200 degraded", resp.StatusCode, body)
		}
	}

	subA, err := dialGorilla(a.url("/ws?channels=x"))
	if err != nil {
		t.Fatal(err)
	}
	defer subA.Close()
	subB, err := dialGorilla(b.url("/ws?channels=x"))
	if err != nil {
		t.Fatal(err)
	}
	defer subB.Close()
	read := func(c *gorilla.Conn) string {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var m struct{ Data string }
		_ = json.Unmarshal(p, &m)
		return m.Data
	}
	// Local traffic works without the bus, and is held for the others.
	if code := tryPublish(t, b, "x", "held"); code != http.StatusOK {
		t.Fatalf("publish on b without NATS: %d", code)
	}
	if got := read(subB); got != "held" {
		t.Errorf("b's own subscriber got %q, want held", got)
	}
	if held := relayStats(t, b)["buffered_messages"]; held != float64(1) {
		t.Errorf("b holds %v publications, want 1", held)
	}

	ext := startNATSAt(t, addr)
	for _, n := range []*node{a, b} {
		testkit.Eventually(t, 20*time.Second, "the node to join NATS", func() bool { return relayStats(t, n)["connected"] == true })
	}
	testkit.Eventually(t, 10*time.Second, "both nodes' interest on NATS", func() bool { return ext.subscriptions(t) >= 2 })
	if got := read(subA); got != "held" {
		t.Errorf("a's subscriber got %q first, want the publication b held", got)
	}
	if code := tryPublish(t, b, "x", "live"); code != http.StatusOK {
		t.Fatalf("publish on b with NATS: %d", code)
	}
	if got := read(subA); got != "live" {
		t.Errorf("a's subscriber got %q, want live", got)
	}
}

// A node whose bus is down holds publications up to --nats-publish-buffer,
// each charged its real cost. Filled to refusal with publications on
// 255-byte channels (the worst case for per-publication overhead), the
// node's RSS grows by at most twice the configured bound.
func TestBusOutageBufferRSS(t *testing.T) {
	const bound = 8 << 20 // relay.DefaultPublishBuffer, the default
	n := startNode(t, "--nats", "nats://"+testkit.ReserveAddr(t), "--nats-close-grace", "10ms")
	channel := strings.Repeat("c", wire.MaxChannelLength)
	for range 100 { // warm the admin API's buffers and pools
		if code := tryPublish(t, n, "warm", 1); code != http.StatusOK {
			t.Fatalf("publish while NATS is down: %d", code)
		}
	}
	base := rssBytes(t, n.cmd.Process.Pid)
	held := 0
	for ; held < 1<<20; held++ {
		code := tryPublish(t, n, channel, 1)
		if code == http.StatusServiceUnavailable {
			break
		}
		if code != http.StatusOK {
			t.Fatalf("publish #%d: %d", held, code)
		}
	}
	s := relayStats(t, n)
	grew := rssBytes(t, n.cmd.Process.Pid) - base
	t.Logf("%d publications held, charged %v bytes; RSS grew %d bytes: %.2f× the bound", held, s["buffered_bytes"], grew, float64(grew)/bound)
	if held == 1<<20 || s["buffered_messages"] != float64(held+100) {
		t.Fatalf("the buffer did not refuse, or holds %v publications for %d accepted", s["buffered_messages"], held+100)
	}
	if grew > 2*bound {
		t.Errorf("RSS grew %d bytes with the buffer full: more than twice its %d-byte bound", grew, bound)
	}
}
