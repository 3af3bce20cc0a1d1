package reactor

import (
	"errors"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/wire"
)

// TestHeartbeat: a /ws client that asks for the heartbeat (heartbeat=1) is
// pinged with {"type":"ping"} text frames, which a browser can see; its
// {"type":"pong"} keeps it open, with no reply; silence closes it at the
// pong timeout like a missing control pong. Other clients get control
// pings only.
func TestHeartbeat(t *testing.T) {
	e := gateway(t, Config{PingInterval: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond})
	c := dialWS(t, e, "/ws?heartbeat=1&channels=news")
	for range 3 {
		if m := readJSON(t, c); m["type"] != "ping" || len(m) != 1 {
			t.Fatalf("heartbeat: %v, want {\"type\":\"ping\"}", m)
		}
		if err := c.WriteText([]byte(`{"type":"pong","id":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Pings != 0 {
		t.Fatalf("%d control pings to a heartbeat client", c.Pings)
	}
	if err := e.Publish("news", []byte(`"after pongs"`)); err != nil {
		t.Fatal(err)
	}
	if m := readJSON(t, c); m["type"] == "ping" {
		m = readJSON(t, c) // a ping may come first; no ack for the pong
		if m["data"] != "after pongs" {
			t.Fatalf("after the pongs: %v", m)
		}
	} else if m["data"] != "after pongs" {
		t.Fatalf("after the pongs (a pong got a reply?): %v", m)
	}

	silent := dialWS(t, e, "/ws?heartbeat=1")
	var closed *wstest.CloseError
	for {
		_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := silent.ReadMessage()
		if errors.As(err, &closed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if closed.Code != wire.ClosePolicyViolation || closed.Reason != wire.ReasonPongTimeout {
		t.Fatalf("silent heartbeat client closed with %d %q", closed.Code, closed.Reason)
	}

	plain := dialWS(t, e, "/ws")
	testkit.Eventually(t, 5*time.Second, "a control ping", func() bool {
		_ = plain.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, p, err := plain.ReadMessage()
		if err == nil {
			t.Fatalf("a plain client got %s", p)
		}
		return plain.Pings > 0
	})
}
