package reactor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/wire"
)

func dialStatus(e *Engine, path string) (*wstest.Conn, int) {
	c, err := wstest.Dial("ws://"+e.Addr().String()+path, 5*time.Second)
	var he *wstest.HandshakeError
	switch {
	case errors.As(err, &he):
		return nil, he.Status
	case err != nil:
		return nil, -1
	}
	return c, 101
}

func TestMaxConnsPerIPRefusesWith503(t *testing.T) {
	e := gateway(t, Config{MaxConnsPerIP: 2})
	a, s1 := dialStatus(e, "/ws")
	b, s2 := dialStatus(e, "/echo")
	_, s3 := dialStatus(e, "/ws")
	if s1 != 101 || s2 != 101 || s3 != 503 {
		t.Fatalf("statuses %d %d %d, want 101 101 503", s1, s2, s3)
	}
	a.Close()
	testkit.Eventually(t, waitTimeout, "the slot to free", func() bool { return e.Stats().Upgraded == 1 })
	c, s4 := dialStatus(e, "/ws")
	if s4 != 101 {
		t.Fatalf("after a close: status %d, want 101", s4)
	}
	b.Close()
	c.Close()
}

func TestMaxConnsRefusesWith503(t *testing.T) {
	e := gateway(t, Config{MaxConns: 3})
	for i := range 3 {
		if c, s := dialStatus(e, "/ws"); s != 101 {
			t.Fatalf("connection %d: status %d", i, s)
		} else {
			t.Cleanup(func() { c.Close() })
		}
	}
	if _, s := dialStatus(e, "/ws"); s != 503 {
		t.Fatalf("fourth connection: status %d, want 503", s)
	}
	if got := e.Stats().HandshakeRejects; got != 1 {
		t.Fatalf("handshake rejects = %d, want 1", got)
	}
}

// A subscriber that stops reading loses messages under SlowDrop, and is
// told how many once it reads again; the others lose nothing.
func TestSlowConsumerDropPolicyTellsHowManyWereDropped(t *testing.T) {
	e := gateway(t, Config{MaxOutboundBytes: 32 << 10, SlowPolicy: SlowDrop})
	slow := dialWS(t, e, "/ws?channels=firehose")
	fast := dialWS(t, e, "/ws?channels=firehose")
	testkit.Eventually(t, waitTimeout, "subscriptions", func() bool { return e.Stats().Subscriptions == 2 })

	const msgs = 3000
	publishPaced(t, e, fast, msgs)
	testkit.Eventually(t, waitTimeout, "drops", func() bool { return e.Stats().Drops > 0 })

	// The slow one now reads its backlog, then gets the notice, naming the
	// channel, before the next message: at once when it has caught up, or
	// before that message.
	received := 0
	var notice map[string]any
	for notice == nil {
		_ = slow.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, p, err := slow.ReadMessage()
		if err != nil {
			break
		}
		var m map[string]any
		if err := json.Unmarshal(p, &m); err != nil {
			t.Fatal(err)
		}
		if m["type"] == "message" {
			received++
		} else {
			notice = m
		}
	}
	if err := e.Publish("firehose", []byte(`"after"`)); err != nil {
		t.Fatal(err)
	}
	if notice == nil {
		notice = readJSON(t, slow)
	}
	var dropped int
	if notice["code"] != wire.CodeDropped || notice["channel"] != "firehose" {
		t.Fatalf("want a dropped notice naming firehose, got %v", notice)
	}
	fmt.Sscanf(notice["message"].(string), "%d", &dropped)
	if received+dropped != msgs {
		t.Fatalf("received %d + dropped %d != published %d", received, dropped, msgs)
	}
	if int64(dropped) != e.Stats().Drops {
		t.Fatalf("notice says %d dropped, stats say %d", dropped, e.Stats().Drops)
	}
	if m := readJSON(t, slow); m["data"] != "after" {
		t.Fatalf("after the notice: %v", m)
	}
}

// Under SlowClose the subscriber that stops reading is closed with 1008
// "slow consumer", its close frame after the messages it had not read;
// the others lose nothing.
func TestSlowConsumerClosePolicyClosesWith1008(t *testing.T) {
	// A long CloseTimeout leaves the slow one time to read up to the frame.
	e := gateway(t, Config{MaxOutboundBytes: 32 << 10, CloseTimeout: time.Minute})
	slow := dialWS(t, e, "/ws?channels=firehose")
	fast := dialWS(t, e, "/ws?channels=firehose")
	testkit.Eventually(t, waitTimeout, "subscriptions", func() bool { return e.Stats().Subscriptions == 2 })
	publishPaced(t, e, fast, 3000)
	testkit.Eventually(t, waitTimeout, "a slow-consumer close", func() bool { return e.Stats().SlowConsumerCloses == 1 })
	if ce := expectClose(t, slow, 30*time.Second); ce.Code != ws.StatusPolicyViolation || ce.Reason != wire.ReasonSlowConsumer {
		t.Fatalf("close %d %q, want 1008 %q", ce.Code, ce.Reason, wire.ReasonSlowConsumer)
	}
	slow.Close() // the client's side of the closing handshake
	testkit.Eventually(t, waitTimeout, "the slow connection to be gone", func() bool { return e.Stats().Upgraded == 1 })
}

// publishPaced publishes n 4 KB messages on "firehose" in rounds of 10,
// letting the fast subscriber read each round before the next: the fast one
// reads promptly, so only the one that stops reading falls behind.
func publishPaced(t *testing.T, e *Engine, fast *wstest.Conn, n int) {
	t.Helper()
	payload := []byte(`"` + strings.Repeat("x", 4000) + `"`)
	for i := 0; i < n; i += 10 {
		for range 10 {
			if err := e.Publish("firehose", payload); err != nil {
				t.Fatal(err)
			}
		}
		for range 10 {
			if m := readJSON(t, fast); m["type"] != "message" {
				t.Fatalf("fast subscriber got %v", m)
			}
		}
	}
}
