package e2e

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hook"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// The backend examples of docs/backend.md, each run as its own process
// behind a real node, as a user would run them.

// exampleSecret is the hook secret the node signs with and the examples
// verify with (they read it from WSGATE_HOOK_SECRET).
const exampleSecret = "backend-example-secret-0123456789"

// TestBackendExampleGo: examples/backend/go, built as a user builds it,
// refuses what it should, admits by cookie, echoes and takes the events.
func TestBackendExampleGo(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "backend")
	build := exec.Command("go", "build", "-o", exe, "./examples/backend/go")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/backend/go: %v\n%s", err, out)
	}
	checkBackendExample(t, exec.Command(exe))
}

// TestBackendExampleNode: examples/backend/node/server.mjs under node, the
// same checks: its own signature verification must agree with hook.Sign.
func TestBackendExampleNode(t *testing.T) {
	nodejs := testkit.RequireTool(t, "node")
	checkBackendExample(t, exec.Command(nodejs, "../examples/backend/node/server.mjs"))
}

// checkBackendExample starts the example cmd on a port of its own and
// checks it twice over: directly, that it accepts only requests signed
// with the secret within the replay window (an old key's value beside the
// new one is fine: rotation); then behind a node with the connect and
// message hooks and JWT authentication on, that a client with the cookie
// session=ok is admitted without a token as user demo, gets its send
// echoed as a push before the ack, and is reported when it disconnects,
// while clients without that cookie are refused with 401 "no session".
func checkBackendExample(t *testing.T, cmd *exec.Cmd) {
	addr := testkit.ReserveAddr(t)
	cmd.Env = append(os.Environ(), "ADDR="+addr, "WSGATE_HOOK_SECRET="+exampleSecret)
	backend := startCmd(t, cmd)
	url := "http://" + addr + "/wsgate"
	up := testkit.Poll(30*time.Second, func() bool {
		select {
		case <-backend.done:
			return true
		default:
		}
		resp, err := http.Post(url, "application/json", strings.NewReader("{}"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	select {
	case <-backend.done:
		t.Fatalf("the backend exited: %v", backend.err)
	default:
	}
	if !up {
		t.Fatalf("the backend did not answer on %s within 30s", addr)
	}

	secret := []byte(exampleSecret)
	body := `{"type":"events","events":[]}`
	now := time.Now().Unix()
	for _, c := range []struct {
		name       string
		signature  string
		ts         int64
		body, sent string // signed, sent
		status     int
	}{
		{"signed", hook.Sign(secret, now, []byte(body)), now, body, body, 204},
		{"an old key's value first", hook.Sign([]byte("the-previous-secret-0123456789"), now, []byte(body)) + ", " + hook.Sign(secret, now, []byte(body)), now, body, body, 204},
		{"unsigned", "", now, body, body, 401},
		{"another key", hook.Sign([]byte("not-the-secret-0123456789"), now, []byte(body)), now, body, body, 401},
		{"another body", hook.Sign(secret, now, []byte(body)), now, body, `{"type":"events","events":[{}]}`, 401},
		{"ten minutes old", hook.Sign(secret, now-600, []byte(body)), now - 600, body, body, 401},
		{"ten minutes ahead", hook.Sign(secret, now+600, []byte(body)), now + 600, body, body, 401},
	} {
		req, _ := http.NewRequest("POST", url, strings.NewReader(c.sent))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(hook.HeaderTimestamp, strconv.FormatInt(c.ts, 10))
		if c.signature != "" {
			req.Header.Set(hook.HeaderSignature, c.signature)
		}
		req.Header.Set(hook.HeaderEvent, "events")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.status)
		}
	}

	n := startNode(t, "--hook-url", url, "--hook-secret", exampleSecret, "--hook-connect", "--hook-message",
		"--hook-timeout", "10s", "--jwt-hmac-secret", controlSecret, "--api-key", "e2e-key")
	c, err := wstest.DialOptions(n.url("/ws"), 20*time.Second, wstest.Options{Header: map[string]string{"Cookie": "theme=dark; session=ok"}})
	if err != nil {
		t.Fatalf("a client with session=ok: %v", err)
	}
	defer c.Close()
	id := c.Connected.Client
	if code, body := n.control(t, "GET", "/api/connections/"+id, ""); code != 200 || !strings.Contains(body, `"user":"demo"`) {
		t.Fatalf("the admitted connection: %d %s, want user demo", code, body)
	}
	if err := c.WriteText([]byte(`{"type":"send","data":{"q":[1,"two"]},"id":"s1"}`)); err != nil {
		t.Fatal(err)
	}
	if got := readPushWithin(t, c, 20*time.Second); got != `{"type":"push","data":{"echo":{"q":[1,"two"]}}}` {
		t.Fatalf("the echo: %s", got)
	}
	if got := readPushWithin(t, c, 20*time.Second); got != `{"type":"ack","id":"s1"}` {
		t.Fatalf("the send's ack: %s", got)
	}

	for _, cookie := range []string{"", "session=nope"} {
		o := wstest.Options{}
		if cookie != "" {
			o.Header = map[string]string{"Cookie": cookie}
		}
		_, err := wstest.DialOptions(n.url("/ws"), 20*time.Second, o)
		var he *wstest.HandshakeError
		if !errors.As(err, &he) || he.Status != 401 || !strings.Contains(he.Body, "no session") {
			t.Fatalf("a client with cookie %q: %v, want 401 no session", cookie, err)
		}
	}

	if err := c.CloseHandshake(); err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	output := func() string { // what the backend printed so far, stdout then stderr
		for {
			select {
			case line, ok := <-backend.lines:
				if ok {
					stdout.WriteString(line + "\n")
					continue
				}
			default:
			}
			return stdout.String() + backend.Stderr()
		}
	}
	event := `{"type":"disconnect","conn":"` + id + `","user":"demo"`
	testkit.Eventually(t, 30*time.Second, "the backend to log "+event, func() bool { return strings.Contains(output(), event) })
	testkit.Eventually(t, 30*time.Second, "the node to count the event delivered", func() bool {
		h, _ := n.stats(t)["hooks"].(map[string]any)
		return h != nil && h["events_sent"].(float64) >= 1
	})
	h := n.stats(t)["hooks"].(map[string]any)
	if h["connect_calls"].(float64) != 3 || h["connect_denied"].(float64) != 2 || h["connect_failed"].(float64) != 0 || h["message_failed"].(float64) != 0 {
		t.Fatalf("hook counters %v: want 3 connect calls, 2 denied, no failure", h)
	}
}

// readPushWithin reads c's next message within timeout.
func readPushWithin(t *testing.T, c *wstest.Conn, timeout time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	_, p, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}
