package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/wstest"
)

const controlSecret = "control-e2e-secret-0123456789abcdef"

// dialAs connects to n as user sub (allowed every channel).
func dialAs(t *testing.T, n *node, sub string) *wstest.Conn {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "subscribe": []string{">"},
	}).SignedString([]byte(controlSecret))
	if err != nil {
		t.Fatal(err)
	}
	c, err := wstest.Dial(n.url("/ws?token="+tok), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// control calls n's control API with the key and returns status and body.
func (n *node) control(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+n.admin+path, strings.NewReader(body))
	req.Header.Set("X-API-Key", "e2e-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func readPush(t *testing.T, c *wstest.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, p, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}

// TestControlAcrossNodes: two nodes on NATS. A connection on node b gets a
// push sent through node a's API by its ID; a user's connections on both
// nodes get /api/users/{user}/send; DELETE through node b closes a
// connection on node a with the given code; an unknown ID is 404; and a
// node that does not answer (stopped with SIGSTOP) is named in a 504.
func TestControlAcrossNodes(t *testing.T) {
	nats := startNATS(t)
	flags := []string{"--nats", "nats://" + nats.addr, "--jwt-hmac-secret", controlSecret, "--api-key", "e2e-key"}
	a := startNode(t, append([]string{"--node-id", "a"}, flags...)...)
	b := startNode(t, append([]string{"--node-id", "b"}, flags...)...)

	onA, onB := dialAs(t, a, "ann"), dialAs(t, b, "ann")
	bob := dialAs(t, b, "bob")
	if !strings.HasPrefix(onB.Connected.Client, "b.") || !strings.HasPrefix(onA.Connected.Client, "a.") {
		t.Fatalf("IDs %q, %q do not name their nodes", onA.Connected.Client, onB.Connected.Client)
	}

	if code, body := a.control(t, "POST", "/api/connections/"+onB.Connected.Client+"/send", `{"data":{"to":"b"}}`); code != 200 {
		t.Fatalf("send through a to b's connection: %d %s", code, body)
	}
	if got := readPush(t, onB); got != `{"type":"push","data":{"to":"b"}}` {
		t.Fatalf("b's connection got %s", got)
	}
	code, body := b.control(t, "GET", "/api/connections/"+onA.Connected.Client, "")
	var info struct{ Node, User string }
	if code != 200 || json.Unmarshal([]byte(body), &info) != nil || info.Node != "a" || info.User != "ann" {
		t.Fatalf("info through b of a's connection: %d %s", code, body)
	}

	// Each node must have heard the other's heartbeat to wait for it.
	time.Sleep(1500 * time.Millisecond)
	code, body = a.control(t, "POST", "/api/users/ann/send", `{"data":"both"}`)
	var res struct {
		Connections int
		Nodes       []string
	}
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || res.Connections != 2 || len(res.Nodes) != 2 {
		t.Fatalf("send to ann: %d %s", code, body)
	}
	for _, c := range []*wstest.Conn{onA, onB} {
		if got := readPush(t, c); got != `{"type":"push","data":"both"}` {
			t.Fatalf("ann got %s", got)
		}
	}

	if code, body := b.control(t, "DELETE", "/api/connections/"+onA.Connected.Client, `{"code":4000,"reason":"bye"}`); code != 200 {
		t.Fatalf("delete through b: %d %s", code, body)
	}
	_ = onA.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := onA.ReadMessage()
	var ce *wstest.CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "bye" {
		t.Fatalf("a's connection closed with %v, want 4000 bye", err)
	}
	for _, id := range []string{onA.Connected.Client, "zz." + strings.Repeat("0", 32), "a.123"} {
		if code, body := b.control(t, "GET", "/api/connections/"+id, ""); code != 404 {
			t.Errorf("GET %s: %d %s, want 404", id, code, body)
		}
	}

	// Node b stops answering: both kinds of request name it in a 504,
	// within the 2 s deadline, and node a still serves its own.
	if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.cmd.Process.Signal(syscall.SIGCONT) }()
	start := time.Now()
	code, body = a.control(t, "POST", "/api/connections/"+bob.Connected.Client+"/send", `{"data":1}`)
	if code != 504 || !strings.Contains(body, "node b") {
		t.Fatalf("send to a stopped node's connection: %d %s, want 504 naming b", code, body)
	}
	code, body = a.control(t, "POST", "/api/users/ann/send", `{"data":1}`)
	if code != 504 || !strings.Contains(body, "node b") {
		t.Fatalf("send to ann with b stopped: %d %s, want 504 naming b", code, body)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the two requests took %s", took)
	}
}
