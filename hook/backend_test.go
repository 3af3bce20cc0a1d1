package hook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testSecret signs every request of the tests; backends check it.
var testSecret = []byte("hook-test-secret-0123456789")

// waitLimit bounds every wait for a result: far above any timeout a test
// configures, so only a lost callback reaches it (2 cores, -race, the whole
// suite in parallel).
const waitLimit = 20 * time.Second

// handler answers one verified request: event is X-Wsgate-Event, body the
// request's body.
type handler func(w http.ResponseWriter, r *http.Request, event string, body []byte)

// newBackend starts a backend on 127.0.0.1 that checks every request the
// way a real one should (POST, JSON, a valid signature within
// DefaultTolerance, X-Wsgate-Event equal to the body's "type") before
// handing it to h; a request that fails a check fails the test and gets
// 401. The server closes when the test ends, after the test's clients.
func newBackend(t *testing.T, h handler) *httptest.Server {
	t.Helper()
	return newBackendOn(t, nil, h)
}

// newBackendOn is newBackend on a listener of the test's (nil: a new one).
func newBackendOn(t *testing.T, ln net.Listener, h handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client gave up
		}
		event := r.Header.Get(HeaderEvent)
		if problem := checkRequest(r, event, body); problem != "" {
			t.Errorf("backend: %s", problem)
			http.Error(w, problem, http.StatusUnauthorized)
			return
		}
		h(w, r, event, body)
	}))
	if ln != nil {
		_ = srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// checkRequest says what is wrong with a request, or "".
func checkRequest(r *http.Request, event string, body []byte) string {
	if err := Verify(testSecret, r.Header, body, time.Now(), DefaultTolerance); err != nil {
		return "signature: " + err.Error()
	}
	if r.Method != http.MethodPost {
		return "method " + r.Method
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return "content type " + ct
	}
	var typed struct{ Type string }
	if err := json.Unmarshal(body, &typed); err != nil {
		return "body: " + err.Error()
	}
	if typed.Type != event {
		return "body type " + typed.Type + ", header " + event
	}
	return ""
}

// answer returns a handler that writes status and body to every request.
func answer(status int, body string) handler {
	return func(w http.ResponseWriter, _ *http.Request, _ string, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// hang returns a handler that never answers: it returns when the client
// gives up on the request or when the test ends.
func hang(t *testing.T) handler {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	return func(_ http.ResponseWriter, r *http.Request, _ string, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

// newClient starts a Client on cfg (testSecret unless cfg has a secret)
// and closes it when the test ends.
func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testLog{t}, nil))
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// testLog writes a Client's log lines to the test's log. A Client logs
// nothing once Close has returned, and Close runs in t.Cleanup.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// await returns the value ch delivers, failing the test after waitLimit.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("no %s after %s", what, waitLimit)
		var zero T
		return zero
	}
}

// callConnect makes one Connect call, which must get a slot, and returns
// its result.
func callConnect(t *testing.T, c *Client, req ConnectRequest) ConnectResult {
	t.Helper()
	ch := make(chan ConnectResult, 1)
	if !c.Connect(req, func(r ConnectResult) { ch <- r }) {
		t.Fatal("Connect found no slot")
	}
	return await(t, ch, "connect result")
}
