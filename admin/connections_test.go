package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/control"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

var controlSecret = []byte("admin-control-secret-0123456789abcdef")

// controlNode runs a single node (in-process relay) with JWT auth and the
// control API behind key "k".
func controlNode(t *testing.T) (*reactor.Engine, *httptest.Server) {
	t.Helper()
	v, err := auth.NewVerifier(auth.Config{HMACSecret: controlSecret})
	if err != nil {
		t.Fatal(err)
	}
	rel := relay.NewLocal()
	eng := gatewaytest.Start(t, reactor.Config{NodeID: "n1", Relay: rel, Auth: v, Loops: 2})
	plane, err := control.New(eng, rel, control.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return eng, gatewaytest.Admin(t, eng, admin.Config{NodeID: "n1", APIKey: "k", Control: plane})
}

// dialUser connects as sub, allowed every channel.
func dialUser(t *testing.T, eng *reactor.Engine, sub string) *wstest.Conn {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "subscribe": []string{">"}, "publish": []string{">"},
	}).SignedString(controlSecret)
	if err != nil {
		t.Fatal(err)
	}
	c, err := wstest.Dial("ws://"+eng.Addr().String()+"/ws?token="+tok, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// call sends method path body with the API key and decodes the JSON answer.
func call(t *testing.T, ts *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	req.Header.Set("X-API-Key", "k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestControlOneConnection: by its connection ID the backend pushes to a
// connection alone, subscribes and unsubscribes it, describes it and
// closes it with its own code; unknown, forged and malformed requests get
// 404 and 400; the key is required.
func TestControlOneConnection(t *testing.T) {
	eng, ts := controlNode(t)
	a, b := dialUser(t, eng, "ann"), dialUser(t, eng, "bob")
	id := a.Connected.Client

	if code, out := call(t, ts, "POST", "/api/connections/"+id+"/send", `{"data":{"hello":1}}`); code != 200 || out["id"] != id || out["user"] != "ann" {
		t.Fatalf("send: %d %v", code, out)
	}
	if got := readText(t, a); got != `{"type":"push","data":{"hello":1}}` {
		t.Fatalf("a got %s", got)
	}

	if code, out := call(t, ts, "POST", "/api/connections/"+id+"/subscribe", `{"channel":"orders.7"}`); code != 200 {
		t.Fatalf("subscribe: %d %v", code, out)
	}
	if err := eng.Publish("orders.7", []byte(`"o"`)); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, a); got != `{"type":"message","channel":"orders.7","data":"o"}` {
		t.Fatalf("a got %s", got)
	}
	code, out := call(t, ts, "GET", "/api/connections/"+id, "")
	if code != 200 || out["node"] != "n1" || out["user"] != "ann" || out["protocol"] != "json" ||
		out["messages_out"].(float64) != 2 || out["bytes_out"].(float64) == 0 || len(out["channels"].([]any)) != 1 {
		t.Fatalf("info: %d %v", code, out)
	}
	if since, err := time.Parse(time.RFC3339, out["connected_at"].(string)); err != nil || time.Since(since) > time.Minute {
		t.Fatalf("connected_at %v, %v", out["connected_at"], err)
	}
	if code, _ := call(t, ts, "POST", "/api/connections/"+id+"/unsubscribe", `{"channel":"orders.7"}`); code != 200 {
		t.Fatalf("unsubscribe: %d", code)
	}
	if got := readText(t, a); got != `{"type":"unsubscribed","channel":"orders.7","reason":"server"}` {
		t.Fatalf("a got %s", got)
	}
	if code, out := call(t, ts, "POST", "/api/connections/"+id+"/unsubscribe", `{"channel":"orders.7"}`); code != 409 || out["error"] != "not_subscribed" {
		t.Fatalf("unsubscribe again: %d %v", code, out)
	}

	// Refusals: nothing reaches a connection.
	forged := id[:len(id)-1] + map[bool]string{true: "0", false: "1"}[strings.HasSuffix(id, "1")]
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/api/connections/" + forged, "", 404},
		{"GET", "/api/connections/n1.nothex", "", 404},
		{"GET", "/api/connections/other." + id[3:], "", 404},
		{"POST", "/api/connections/" + id + "/send", `{"data":nope}`, 400},
		{"POST", "/api/connections/" + id + "/send", `{}`, 400},
		{"POST", "/api/connections/" + id + "/send", `{"data":"` + strings.Repeat("x", 70<<10) + `"}`, 400},
		{"POST", "/api/connections/" + id + "/send", `{"data":"` + strings.Repeat("x", admin.MaxControlBody) + `"}`, 413},
		{"POST", "/api/connections/" + id + "/subscribe", `{"channel":"a..b"}`, 400},
		{"DELETE", "/api/connections/" + id, `{"code":1006}`, 400},
		{"DELETE", "/api/connections/" + id, `{"code":4000,"reason":"` + strings.Repeat("r", 124) + `"}`, 400},
		{"POST", "/api/users/ann/send", `{"data":[}`, 400},
	} {
		if code, out := call(t, ts, c.method, c.path, c.body); code != c.status {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.path, code, out, c.status)
		}
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/connections/"+id, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("without the key: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// b heard nothing of it all: a push is for one connection.
	if code, _ := call(t, ts, "POST", "/api/connections/"+b.Connected.Client+"/send", `"x"`); code != 400 {
		t.Fatalf("a body that is not an object: %d", code)
	}
	if code, _ := call(t, ts, "POST", "/api/connections/"+b.Connected.Client+"/send", `{"data":"for b"}`); code != 200 {
		t.Fatal("send to b")
	}
	if got := readText(t, b); got != `{"type":"push","data":"for b"}` {
		t.Fatalf("b got %s", got)
	}

	if code, out := call(t, ts, "DELETE", "/api/connections/"+id, `{"code":4000,"reason":"kicked"}`); code != 200 {
		t.Fatalf("delete: %d %v", code, out)
	}
	_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := a.ReadMessage()
	var ce *wstest.CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "kicked" {
		t.Fatalf("a closed with %v, want 4000 kicked", err)
	}
	if code, _ := call(t, ts, "GET", "/api/connections/"+id, ""); code != 404 {
		t.Fatalf("a closed connection: %d, want 404", code)
	}
}

// TestControlUser: a user's connections all get a push and are all
// closed; a user without connections is 404.
func TestControlUser(t *testing.T) {
	eng, ts := controlNode(t)
	a1, a2, b := dialUser(t, eng, "ann"), dialUser(t, eng, "ann"), dialUser(t, eng, "bob")
	code, out := call(t, ts, "POST", "/api/users/ann/send", `{"data":[1]}`)
	if code != 200 || out["connections"].(float64) != 2 || out["truncated"] != false {
		t.Fatalf("send to ann: %d %v", code, out)
	}
	for _, c := range []*wstest.Conn{a1, a2} {
		if got := readText(t, c); got != `{"type":"push","data":[1]}` {
			t.Fatalf("got %s", got)
		}
	}
	if code, _ := call(t, ts, "POST", "/api/users/nobody/send", `{"data":1}`); code != 404 {
		t.Fatalf("nobody: %d", code)
	}
	if code, out := call(t, ts, "POST", "/api/users/ann/disconnect", `{"code":4001,"reason":"banned"}`); code != 200 || out["connections"].(float64) != 2 {
		t.Fatalf("disconnect ann: %d %v", code, out)
	}
	for _, c := range []*wstest.Conn{a1, a2} {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := c.ReadMessage()
		var ce *wstest.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 {
			t.Fatalf("ann closed with %v", err)
		}
	}
	if code, _ := call(t, ts, "POST", "/api/users/bob/send", `{"data":"still here"}`); code != 200 {
		t.Fatal("bob")
	}
	if got := readText(t, b); !bytes.Contains([]byte(got), []byte("still here")) {
		t.Fatalf("bob got %s", got)
	}
}

// stalledBus is a bus whose nodes never answer: every Ask waits for its
// deadline.
type stalledBus struct{}

func (stalledBus) ServeControl(string, func([]byte) []byte, []byte) error { return nil }
func (stalledBus) Ask(ctx context.Context, _ string, _ []byte) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (stalledBus) AskAll(ctx context.Context, _ []byte) (map[string][]byte, []string, error) {
	<-ctx.Done()
	return nil, []string{"n2"}, nil
}

// TestControlFloodIsBounded: with every node stalled, requests past
// admin.MaxControlInFlight are refused with 503 at once instead of
// piling up; the ones in flight end in 504 at the deadline.
func TestControlFloodIsBounded(t *testing.T) {
	eng := gatewaytest.Start(t, reactor.Config{NodeID: "n1"})
	plane, err := control.New(eng, stalledBus{}, control.Config{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := gatewaytest.Admin(t, eng, admin.Config{NodeID: "n1", APIKey: "k", Control: plane})
	id := "n2." + strings.Repeat("0", 32)
	codes := make(chan int, admin.MaxControlInFlight)
	for range admin.MaxControlInFlight {
		go func() {
			code, _ := call(t, ts, "GET", "/api/connections/"+id, "")
			codes <- code
		}()
	}
	time.Sleep(500 * time.Millisecond) // all in flight, waiting for node n2
	start := time.Now()
	code, out := call(t, ts, "GET", "/api/connections/"+id, "")
	if code != 503 || out["error"] != "busy" || time.Since(start) > time.Second {
		t.Fatalf("a request past the bound: %d %v after %s, want 503 busy at once", code, out, time.Since(start))
	}
	for range admin.MaxControlInFlight {
		if code := <-codes; code != 504 {
			t.Fatalf("a request in flight ended %d, want 504", code)
		}
	}
}
