package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/internal/testkit/natstest"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestMain fails the package when tests leave goroutines or descriptors
// behind (engines, relays, NATS servers or clients not stopped).
func TestMain(m *testing.M) { testkit.Main(m) }

// startNode runs an engine on a loopback port the kernel picks with its
// admin API, node n1, on an httptest server, both stopped when the test
// ends.
func startNode(t *testing.T, cfg reactor.Config) (*reactor.Engine, *httptest.Server) {
	t.Helper()
	eng := gatewaytest.Start(t, cfg)
	return eng, gatewaytest.Admin(t, eng, admin.Config{NodeID: "n1"})
}

// subscribe connects a WebSocket client subscribed to channels at the
// handshake; the subscription is in place when it returns.
func subscribe(t *testing.T, eng *reactor.Engine, channels string) *wstest.Conn {
	t.Helper()
	c, err := wstest.Dial("ws://"+eng.Addr().String()+"/ws?channels="+channels, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readText reads the next message, which must be a text frame.
func readText(t *testing.T, c *wstest.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	op, p, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if op != ws.OpText {
		t.Fatalf("got opcode %v, want text", op)
	}
	return string(p)
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// decode parses a JSON object body.
func decode(t *testing.T, r response) map[string]any {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// publishBody builds a request body of exactly size bytes on channel.
func publishBody(channel string, size int) string {
	head := `{"channel":"` + channel + `","data":"`
	const tail = `"}`
	return head + strings.Repeat("x", size-len(head)-len(tail)) + tail
}

func TestPublish(t *testing.T) {
	eng, ts := startNode(t, reactor.Config{})
	sub := subscribe(t, eng, "news")
	url := ts.URL + "/api/publish"

	publish := func(body, wantID string) {
		t.Helper()
		r := do(t, "POST", url, body)
		if r.status != http.StatusOK {
			t.Fatalf("POST %s: status %d %s, want 200", body[:min(len(body), 80)], r.status, r.body)
		}
		if got := decode(t, r); len(got) != 1 || got["id"] != wantID {
			t.Errorf("POST: body %s, want {\"id\":%q}", r.body, wantID)
		}
	}

	// data is spliced into the frame byte for byte: spacing and key order kept.
	const data1 = `{"b":1,  "a":[1,2]}`
	publish(`{"channel":"news","data":`+data1+`}`, "n1-1")
	if got, want := readText(t, sub), `{"type":"message","channel":"news","data":`+data1+`}`; got != want {
		t.Errorf("subscriber got %s, want %s", got, want)
	}
	const data2 = `[ "é", "\u00e9", 1e3 ]`
	publish(`{"data": `+data2+`, "channel": "news"}`, "n1-2")
	if got, want := readText(t, sub), `{"type":"message","channel":"news","data":`+data2+`}`; got != want {
		t.Errorf("subscriber got %s, want %s", got, want)
	}

	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"truncated JSON", `{"channel":"news","data":`, 400, "bad_json"},
		{"not JSON", `channel=news`, 400, "bad_json"},
		{"empty body", ``, 400, "bad_json"},
		{"array", `[{"channel":"news","data":1}]`, 400, "bad_json"},
		{"channel not a string", `{"channel":1,"data":1}`, 400, "bad_json"},
		{"invalid channel", `{"channel":"a..b","data":1}`, 400, "bad_channel"},
		{"wildcard channel", `{"channel":"news.*","data":1}`, 400, "bad_channel"},
		{"empty channel", `{"channel":"","data":1}`, 400, "bad_channel"},
		{"no channel", `{"data":1}`, 400, "bad_channel"},
		{"no data", `{"channel":"news"}`, 400, "bad_request"},
		{"body over 1 MiB", publishBody("news", admin.MaxPublishBody+1), 413, "too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", url, tc.body)
			if r.status != tc.status {
				t.Errorf("status %d, want %d (body %s)", r.status, tc.status, r.body)
			}
			got := decode(t, r)
			if got["error"] != tc.code {
				t.Errorf("error %v, want %q (body %s)", got["error"], tc.code, r.body)
			}
			if msg, _ := got["message"].(string); msg == "" {
				t.Errorf("no message in %s", r.body)
			}
		})
	}

	// Exactly 1 MiB is accepted (on a channel nobody reads).
	publish(publishBody("big", admin.MaxPublishBody), "n1-3")
	// Refused requests used no id and delivered nothing: the next frame
	// is the next accepted publication.
	publish(`{"channel":"news","data":"last"}`, "n1-4")
	if got, want := readText(t, sub), `{"type":"message","channel":"news","data":"last"}`; got != want {
		t.Errorf("subscriber got %s, want %s", got, want)
	}
	if s := eng.Stats(); s.PublishesAPI != 4 || s.PublishErrors != 0 {
		t.Errorf("engine counted %d API publishes and %d errors, want 4 and 0", s.PublishesAPI, s.PublishErrors)
	}
}

func TestMethodsAndPaths(t *testing.T) {
	_, ts := startNode(t, reactor.Config{})
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/publish", 405, "POST"},
		{"PUT", "/api/publish", 405, "POST"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"GET", "/nope", 404, ""},
	} {
		r := do(t, tc.method, ts.URL+tc.path, "")
		if r.status != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, r.status, tc.status)
		}
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	eng, ts := startNode(t, reactor.Config{DrainWindow: 100 * time.Millisecond})
	for _, tc := range []struct {
		path string
		want map[string]any
	}{
		{"/healthz", map[string]any{"status": "ok"}},
		{"/readyz", map[string]any{"status": "ready"}},
	} {
		r := do(t, "GET", ts.URL+tc.path, "")
		if r.status != 200 {
			t.Errorf("GET %s: status %d, want 200", tc.path, r.status)
		}
		if got := decode(t, r); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("GET %s: %v, want %v", tc.path, got, tc.want)
		}
	}

	// A connection keeps the drain going until its close, some time in the
	// window: readiness must already be down meanwhile.
	sub := subscribe(t, eng, "news")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	drained := make(chan error, 1)
	go func() { drained <- eng.Drain(ctx) }()

	var r response
	testkit.Poll(5*time.Second, func() bool { // the checks below say what was wrong
		r = do(t, "GET", ts.URL+"/readyz", "")
		return r.status == http.StatusServiceUnavailable
	})
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz while draining: status %d %s, want 503", r.status, r.body)
	}
	if got := decode(t, r); got["status"] != "not ready" || got["reason"] != "draining" {
		t.Errorf("GET /readyz while draining: %s, want status \"not ready\", reason \"draining\"", r.body)
	}
	if r := do(t, "GET", ts.URL+"/healthz", ""); r.status != 200 {
		t.Errorf("GET /healthz while draining: status %d, want 200", r.status)
	}

	_ = sub.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := sub.ReadMessage()
	var ce *wstest.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.StatusGoingAway || !strings.HasPrefix(ce.Reason, "draining; retry-after-ms=") {
		t.Errorf("subscriber got %v, want close 1001 \"draining; retry-after-ms=N\"", err)
	}
	_ = sub.Close()
	select {
	case err := <-drained:
		if err != nil {
			t.Errorf("Drain: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not return after the last connection closed")
	}
	if r := do(t, "GET", ts.URL+"/readyz", ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz after the drain: status %d, want 503", r.status)
	}
}

// metrics returns the unlabelled samples of a Prometheus text exposition.
func metrics(t *testing.T, ts *httptest.Server) map[string]string {
	t.Helper()
	r := do(t, "GET", ts.URL+"/metrics", "")
	if r.status != 200 {
		t.Fatalf("GET /metrics: status %d", r.status)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(r.body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			m[line[:i]] = line[i+1:] // a labelled series keeps its labels in its key
		}
	}
	return m
}

func TestMetricsAndStats(t *testing.T) {
	eng, ts := startNode(t, reactor.Config{})
	sub := subscribe(t, eng, "news")
	if r := do(t, "POST", ts.URL+"/api/publish", `{"channel":"news","data":1}`); r.status != 200 {
		t.Fatalf("publish: status %d %s", r.status, r.body)
	}
	if got, want := readText(t, sub), `{"type":"message","channel":"news","data":1}`; got != want {
		t.Fatalf("subscriber got %s, want %s", got, want)
	}

	// The delivery counter moves right after the write; poll for it.
	var m map[string]string
	testkit.Poll(5*time.Second, func() bool { // the checks below say what was wrong
		m = metrics(t, ts)
		return m["wsgate_deliveries_total"] == "1"
	})
	for name, want := range map[string]string{
		"wsgate_connections":                            "1",
		"wsgate_websocket_connections":                  "1",
		"wsgate_handshakes_total":                       "1",
		"wsgate_deliveries_total":                       "1",
		"wsgate_publishes_api_total":                    "1",
		"wsgate_publish_errors_total":                   "0",
		"wsgate_subscriptions":                          "1",
		"wsgate_channels":                               "1",
		"wsgate_relay_connected":                        "1",
		"wsgate_relay_interests":                        "0",
		"wsgate_relay_buffered_bytes":                   "0",
		"wsgate_relay_messages_in_total":                "0",
		"wsgate_relay_lost_total":                       "0",
		"wsgate_relay_buffered_messages":                "0",
		"wsgate_relay_interests_pending":                "0",
		"wsgate_handshaking":                            "0",
		"wsgate_channels_refused_total":                 "0",
		`wsgate_sockets_refused_total{limit="sockets"}`: "0",
		`wsgate_accept_errors_total{errno="EMFILE"}`:    "0",
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("/metrics %s = %q (present %v), want %q", name, got, ok, want)
		}
	}
	if g, ok := m["go_goroutines"]; !ok || g == "0" {
		t.Errorf("/metrics go_goroutines = %q (present %v), want the Go collector's gauge", g, ok)
	}

	r := do(t, "GET", ts.URL+"/api/stats", "")
	if r.status != 200 {
		t.Fatalf("GET /api/stats: status %d", r.status)
	}
	decode(t, r)
	var st struct {
		Node  string `json:"node"`
		Stats struct {
			Handshakes   *int64 `json:"handshakes"`
			Upgraded     int64  `json:"upgraded"`
			PublishesAPI int64  `json:"publishes_api"`
		} `json:"stats"`
		Relay struct {
			Kind      string `json:"kind"`
			Connected bool   `json:"connected"`
		} `json:"relay"`
		Limits struct {
			MaxConns         *int    `json:"max_conns"`
			MaxSubscriptions int     `json:"max_subscriptions"`
			SlowPolicy       string  `json:"slow_policy"`
			PingInterval     float64 `json:"ping_interval_seconds"`
			DrainWindow      float64 `json:"drain_window_seconds"`
		} `json:"limits"`
	}
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatalf("/api/stats: %v\n%s", err, r.body)
	}
	if st.Node != "n1" {
		t.Errorf("node %q, want n1", st.Node)
	}
	if st.Stats.Handshakes == nil || *st.Stats.Handshakes != 1 || st.Stats.Upgraded != 1 || st.Stats.PublishesAPI != 1 {
		t.Errorf("stats: %s, want handshakes 1, upgraded 1, publishes_api 1", r.body)
	}
	if st.Relay.Kind != "local" || !st.Relay.Connected {
		t.Errorf("relay: %+v, want kind local, connected", st.Relay)
	}
	if st.Limits.MaxConns == nil || *st.Limits.MaxConns != 1_000_000 || st.Limits.SlowPolicy != "close" ||
		st.Limits.MaxSubscriptions != 128 || st.Limits.PingInterval != 25 || st.Limits.DrainWindow != 10 {
		t.Errorf("limits: %s, want max_conns 1000000, slow_policy close, max_subscriptions 128, ping 25s, drain 10s", r.body)
	}
}

// TestRelayDown: a bus outage degrades the node but keeps it ready (local
// delivery still works, and failing every node's readiness at once would
// empty the load balancer); a publication the relay refuses is a 503.
func TestRelayDown(t *testing.T) {
	srv := natstest.Start(t)
	// Room for one held publication.
	rel, err := relay.DialNATS(relay.NATSConfig{URLs: []string{srv.ClientURL()}, PublishBufferMsgs: 1, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rel.Close() })
	eng, ts := startNode(t, reactor.Config{Relay: rel})
	sub := subscribe(t, eng, "news")

	if r := do(t, "GET", ts.URL+"/readyz", ""); r.status != 200 || decode(t, r)["status"] != "ready" {
		t.Fatalf("GET /readyz with NATS up: %d %s, want 200 ready", r.status, r.body)
	}
	srv.Shutdown()
	srv.WaitForShutdown()

	var r response
	testkit.Poll(5*time.Second, func() bool { // the checks below say what was wrong
		r = do(t, "GET", ts.URL+"/readyz", "")
		return strings.Contains(r.body, "degraded")
	})
	if got := decode(t, r); r.status != 200 || got["status"] != "degraded" || got["relay"] != "NATS reconnecting" {
		t.Errorf("GET /readyz with NATS down: %d %s, want 200 {\"status\":\"degraded\",\"relay\":\"NATS reconnecting\"}", r.status, r.body)
	}
	if got := metrics(t, ts)["wsgate_relay_connected"]; got != "0" {
		t.Errorf("wsgate_relay_connected = %q with NATS down, want 0", got)
	}

	// Within the relay's buffer: accepted and delivered locally at once.
	if r := do(t, "POST", ts.URL+"/api/publish", `{"channel":"news","data":"held"}`); r.status != 200 || decode(t, r)["id"] != "n1-1" {
		t.Errorf("publish within the buffer: %d %s, want 200 n1-1", r.status, r.body)
	}
	if got, want := readText(t, sub), `{"type":"message","channel":"news","data":"held"}`; got != want {
		t.Errorf("subscriber got %s, want %s", got, want)
	}
	// Beyond it: refused, no id used.
	r = do(t, "POST", ts.URL+"/api/publish", `{"channel":"news","data":"over"}`)
	if got := decode(t, r); r.status != http.StatusServiceUnavailable || got["error"] != "publish_failed" {
		t.Errorf("publish beyond the buffer: %d %s, want 503 publish_failed", r.status, r.body)
	}
	if s := eng.Stats(); s.PublishesAPI != 1 || s.PublishErrors != 1 {
		t.Errorf("engine counted %d API publishes and %d errors, want 1 and 1", s.PublishesAPI, s.PublishErrors)
	}
}
