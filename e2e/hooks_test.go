package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/hook"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

const hookSecret = "hook-e2e-secret-0123456789abcdef"

// backend is a test backend behind --hook-url: it checks every request's
// signature, decides connects by the handshake's ?who=, and records events.
type backend struct {
	url string
	mu  sync.Mutex
	ev  []hook.Event
	bad int // requests with a bad signature
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if hook.Verify([]byte(hookSecret), r.Header, body, time.Now(), time.Minute) != nil {
			b.mu.Lock()
			b.bad++
			b.mu.Unlock()
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var req struct {
			Type   string
			Query  string
			Events []hook.Event
			Data   json.RawMessage
		}
		_ = json.Unmarshal(body, &req)
		switch req.Type {
		case "connect":
			switch {
			case strings.Contains(req.Query, "who=ann"):
				_, _ = io.WriteString(w, `{"allow":true,"user":"ann","subscribe":["vip.*"]}`)
			case strings.Contains(req.Query, "who=slow"):
				select {
				case <-release:
				case <-r.Context().Done():
				}
			default:
				_, _ = io.WriteString(w, `{"allow":false,"status":401,"reason":"bad session"}`)
			}
		case "events":
			b.mu.Lock()
			b.ev = append(b.ev, req.Events...)
			b.mu.Unlock()
		case "message":
			_, _ = io.WriteString(w, `{"reply":{"echo":`+string(req.Data)+`}}`)
		case "publish":
			if strings.Contains(string(req.Data), "spam") {
				_, _ = io.WriteString(w, `{"allow":false,"reason":"no spam"}`)
				return
			}
			_, _ = io.WriteString(w, `{"allow":true,"data":{"rewritten":`+string(req.Data)+`}}`)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { close(release); _ = srv.Close() })
	b.url = "http://" + ln.Addr().String() + "/hooks"
	return b
}

// events returns the recorded events of kind.
func (b *backend) events(kind string) []hook.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []hook.Event
	for _, e := range b.ev {
		if e.Type == kind {
			out = append(out, e)
		}
	}
	return out
}

func hookFlags(b *backend, extra ...string) []string {
	return append([]string{"--hook-url", b.url, "--hook-secret", hookSecret}, extra...)
}

// TestHookConnect: with a token required, the connect hook admits a
// client by its own session (no token), naming its user and granting it
// channels; denies with the status and reason it chose; and a hook that
// never answers refuses with 503 after --hook-timeout while the node's
// loops keep serving the connections they have within 100 ms; past
// --hook-max-concurrent a flood is refused at once (busy); and a client
// that keeps sending while its hook decides is refused with 400.
func TestHookConnect(t *testing.T) {
	b := startBackend(t)
	n := startNode(t, hookFlags(b, "--hook-connect", "--hook-timeout", "700ms", "--jwt-hmac-secret", controlSecret, "--api-key", "e2e-key",
		"--hook-max-concurrent", "8")...)

	ann, err := wstest.Dial(n.url("/ws?who=ann"), 5*time.Second)
	if err != nil {
		t.Fatalf("ann: %v", err)
	}
	defer ann.Close()
	if code, body := n.control(t, "GET", "/api/connections/"+ann.Connected.Client, ""); code != 200 || !strings.Contains(body, `"user":"ann"`) {
		t.Fatalf("ann's connection: %d %s", code, body)
	}
	for frame, want := range map[string]string{
		`{"type":"subscribe","channel":"vip.lounge","id":1}`: `{"type":"ack","id":1}`,
		`{"type":"subscribe","channel":"staff.room","id":2}`: `"code":"forbidden"`,
	} {
		if err := ann.WriteText([]byte(frame)); err != nil {
			t.Fatal(err)
		}
		if got := readPush(t, ann); !strings.Contains(got, want) {
			t.Fatalf("%s: %s, want %s", frame, got, want)
		}
	}

	// A token's holder the hook renames keeps its name and grants across
	// a refresh, which must repeat the token's own subject.
	tokenFor := func(sub string) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "subscribe": []string{"public.*"},
		}).SignedString([]byte(controlSecret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	renamed, err := wstest.Dial(n.url("/ws?who=ann&token="+tokenFor("auth0|abc")), 5*time.Second)
	if err != nil {
		t.Fatalf("a token holder the hook admits: %v", err)
	}
	defer renamed.Close()
	for frame, want := range map[string]string{
		`{"type":"refresh","token":"` + tokenFor("auth0|abc") + `","id":1}`: `{"type":"ack","id":1}`,
		`{"type":"subscribe","channel":"vip.lounge","id":2}`:                `{"type":"ack","id":2}`,
		`{"type":"subscribe","channel":"public.news","id":3}`:               `{"type":"ack","id":3}`,
		`{"type":"refresh","token":"` + tokenFor("ann") + `","id":4}`:       `"code":"unauthorized"`,
	} {
		if err := renamed.WriteText([]byte(frame)); err != nil {
			t.Fatal(err)
		}
		if got := readPush(t, renamed); !strings.Contains(got, want) {
			t.Fatalf("%.60s: %s, want %s", frame, got, want)
		}
	}
	if code, body := n.control(t, "GET", "/api/connections/"+renamed.Connected.Client, ""); code != 200 || !strings.Contains(body, `"user":"ann"`) {
		t.Fatalf("the renamed connection after its refresh: %d %s", code, body)
	}

	_, err = wstest.Dial(n.url("/ws?who=mallory"), 5*time.Second)
	var he *wstest.HandshakeError
	if !errors.As(err, &he) || he.Status != 401 || !strings.Contains(he.Body, "bad session") {
		t.Fatalf("mallory: %v, want 401 bad session", err)
	}

	// Twenty handshakes wait on a hook that never answers; ann's round
	// trips stay quick meanwhile.
	var wg sync.WaitGroup
	refused := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := wstest.Dial(n.url("/ws?who=slow"), 10*time.Second)
			refused <- err
		}()
	}
	time.Sleep(200 * time.Millisecond)
	for i := range 5 {
		start := time.Now()
		if err := ann.WriteText([]byte(`{"type":"unsubscribe","channel":"vip.lounge","id":9}`)); err != nil {
			t.Fatal(err)
		}
		got := readPush(t, ann)
		if took := time.Since(start); took > 100*time.Millisecond {
			t.Fatalf("round trip %d took %s while hooks were pending", i, took)
		}
		_ = got
		_ = ann.WriteText([]byte(`{"type":"subscribe","channel":"vip.lounge"}`))
	}
	wg.Wait()
	close(refused)
	for err := range refused {
		if !errors.As(err, &he) || he.Status != 503 || !strings.Contains(he.Body, "connect hook unavailable") {
			t.Fatalf("a slow hook: %v, want 503 connect hook unavailable", err)
		}
	}
	st := n.stats(t)
	if s := st["stats"].(map[string]any); s["hook_failures"].(float64) < 20 || s["hook_denied"].(float64) < 21 {
		t.Fatalf("hook counters %v %v", s["hook_failures"], s["hook_denied"])
	}
	if busy := st["hooks"].(map[string]any)["busy"].(float64); busy < 12 {
		t.Fatalf("%v handshakes found no slot, want at least 12 of 20 with 8 slots", busy)
	}

	// A client that sends more than a handshake's worth while it waits.
	raw, err := net.Dial("tcp", n.ws)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_, _ = io.WriteString(raw, "GET /ws?who=slow HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	_, _ = raw.Write(make([]byte, 64<<10))
	_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	status, _ := bufio.NewReader(raw).ReadString('\n')
	if !strings.HasPrefix(status, "HTTP/1.1 400") {
		t.Fatalf("a client flooding its pending handshake got %q, want 400", status)
	}
}

// TestHookEventsAndDrain: a disconnect event for every closed connection,
// by the client, by the control API and by a drain, with its code; the
// subscribe events of handshake channels; the message hook's reply comes
// back as a push before the send's ack; the publish hook rewrites and
// denies.
func TestHookEventsAndDrain(t *testing.T) {
	b := startBackend(t)
	n := startNode(t, hookFlags(b, "--hook-message", "--hook-publish", "--api-key", "e2e-key", "--drain-window", "500ms")...)
	c1, err := wstest.Dial(n.url("/ws?channels=news"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := wstest.Dial(n.url("/ws"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c3, err := wstest.Dial(n.url("/ws?channels=news"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()

	if err := c2.WriteText([]byte(`{"type":"send","data":{"q":1},"id":"s1"}`)); err != nil {
		t.Fatal(err)
	}
	if got := readPush(t, c2); got != `{"type":"push","data":{"echo":{"q":1}}}` {
		t.Fatalf("message hook reply: %s", got)
	}
	if got := readPush(t, c2); got != `{"type":"ack","id":"s1"}` {
		t.Fatalf("send ack: %s", got)
	}
	if err := c2.WriteText([]byte(`{"type":"publish","channel":"news","data":{"raw":1}}`)); err != nil {
		t.Fatal(err)
	}
	if got := readPush(t, c3); got != `{"type":"message","channel":"news","data":{"rewritten":{"raw":1}}}` {
		t.Fatalf("the publish hook's rewrite: %s", got)
	}
	// A denial reaches the publisher with the backend's reason, and
	// nothing reaches the subscribers.
	if err := c2.WriteText([]byte(`{"type":"publish","channel":"news","data":{"spam":1},"id":"p2"}`)); err != nil {
		t.Fatal(err)
	}
	if got := readPush(t, c2); got != `{"type":"error","id":"p2","code":"forbidden","message":"no spam"}` {
		t.Fatalf("the publish hook's denial: %s", got)
	}
	if err := c2.WriteText([]byte(`{"type":"publish","channel":"news","data":{"n":2}}`)); err != nil {
		t.Fatal(err)
	}
	if got := readPush(t, c3); got != `{"type":"message","channel":"news","data":{"rewritten":{"n":2}}}` {
		t.Fatalf("after the denial, c3 got %s", got)
	}

	_ = c1.CloseHandshake()
	if code, body := n.control(t, "DELETE", "/api/connections/"+c2.Connected.Client, `{"code":4003,"reason":"kicked"}`); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	testkit.Eventually(t, 10*time.Second, "two disconnect events", func() bool { return len(b.events("disconnect")) == 2 })
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := n.wait(t, 20*time.Second); err != nil {
		t.Fatalf("node exit: %v", err)
	}
	codes := map[string]int{}
	for _, e := range b.events("disconnect") {
		if e.Node == "" || e.At.IsZero() {
			t.Errorf("event %+v lacks its node or time", e)
		}
		codes[e.Conn] = e.Code
	}
	if len(codes) != 3 || codes[c1.Connected.Client] != 1000 || codes[c2.Connected.Client] != 4003 || codes[c3.Connected.Client] != 1001 {
		t.Fatalf("disconnect codes %v, want c1 1000, c2 4003, c3 1001", codes)
	}
	subs := b.events("subscribe")
	if len(subs) != 2 || subs[0].Channel != "news" {
		t.Fatalf("subscribe events %+v, want the two handshake subscriptions to news", subs)
	}
	if b.bad != 0 {
		t.Fatalf("%d requests with a bad signature", b.bad)
	}
}

// TestHookBackendDownLosesNoDelivery: with the backend unreachable, every
// publication still reaches every subscriber; the events are dropped past
// the queue, counted, never in delivery's way.
func TestHookBackendDownLosesNoDelivery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/hooks"
	_ = ln.Close()
	n := startNode(t, "--hook-url", dead, "--hook-secret", hookSecret, "--hook-queue", "10")
	const subs, pubs = 50, 200
	conns := make([]*wstest.Conn, subs)
	for i := range conns {
		c, err := wstest.Dial(n.url("/ws?channels=feed"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i := range pubs {
		n.publish(t, "feed", i)
	}
	for i, c := range conns {
		for j := range pubs {
			want := `{"type":"message","channel":"feed","data":` + itoa(j) + `}`
			if got := readPush(t, c); got != want {
				t.Fatalf("subscriber %d, publication %d: %s", i, j, got)
			}
		}
	}
	// The 50 subscribe events met a queue of 10 and a dead backend.
	testkit.Eventually(t, 10*time.Second, "dropped events counted", func() bool {
		h, _ := n.stats(t)["hooks"].(map[string]any)
		return h != nil && h["events_dropped"].(float64) >= subs-10 && h["batch_retries"].(float64) >= 1
	})
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestHookConnectFailOpen: with --hook-fail-open a handshake whose connect
// hook cannot be reached is admitted, and counted as a hook failure.
func TestHookConnectFailOpen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/hooks"
	_ = ln.Close()
	n := startNode(t, "--hook-url", dead, "--hook-secret", hookSecret, "--hook-connect", "--hook-fail-open")
	c, err := wstest.Dial(n.url("/ws?channels=news"), 5*time.Second)
	if err != nil {
		t.Fatalf("a fail-open node refused: %v", err)
	}
	defer c.Close()
	if st := n.stats(t)["stats"].(map[string]any); st["hook_failures"].(float64) != 1 || st["hook_denied"].(float64) != 0 {
		t.Fatalf("hook counters: failures %v, denied %v", st["hook_failures"], st["hook_denied"])
	}
}
