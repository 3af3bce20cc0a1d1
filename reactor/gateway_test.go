package reactor

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/wstest"
)

// waitTimeout bounds the internal tests' waits for the engine's counters
// (testkit.Eventually).
const waitTimeout = 5 * time.Second

// gateway starts an engine on a loopback port the kernel picks, shut down
// with the test. The external tests use gatewaytest.Start; these cannot
// (gatewaytest imports reactor: an import cycle).
func gateway(t *testing.T, cfg Config) *Engine {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return e
}

func dialWS(t *testing.T, e *Engine, path string) *wstest.Conn {
	t.Helper()
	c, err := wstest.Dial("ws://"+e.Addr().String()+path, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// gorillaConnected reads and checks the connected frame a third-party
// client gets first on /ws (wstest.Dial does this itself).
func gorillaConnected(t *testing.T, c *gorilla.Conn) wstest.Connected {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	op, p, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("reading the connected frame: %v", err)
	}
	if op != gorilla.TextMessage {
		t.Fatalf("first frame is a type %d message %q, want a text connected frame", op, p)
	}
	hello, err := wstest.ParseConnected(p)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Time{})
	return hello
}

// readJSON reads the next message as a JSON object within 5 seconds.
func readJSON(t *testing.T, c *wstest.Conn) map[string]any {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	op, p, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if op != ws.OpText {
		t.Fatalf("got opcode %v, want text", op)
	}
	var v map[string]any
	if err := json.Unmarshal(p, &v); err != nil {
		t.Fatalf("not JSON: %q", p)
	}
	return v
}

// send writes a command and, when it carries an id, returns the reply.
func send(t *testing.T, c *wstest.Conn, frame string) map[string]any {
	t.Helper()
	if err := c.WriteText([]byte(frame)); err != nil {
		t.Fatal(err)
	}
	return readJSON(t, c)
}

// expectClose reads until the server's close frame and returns it.
func expectClose(t *testing.T, c *wstest.Conn, within time.Duration) *wstest.CloseError {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	for {
		_, _, err := c.ReadMessage()
		var ce *wstest.CloseError
		if errors.As(err, &ce) {
			return ce
		}
		if err != nil {
			t.Fatalf("want a close frame, got %v", err)
		}
	}
}
