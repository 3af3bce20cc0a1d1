package admin_test

import (
	"fmt"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/reactor"
)

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

// Clients written by others (gorilla/websocket) subscribe at the handshake
// and with a frame; every publication over the HTTP API reaches each of
// them once and in order; after unsubscribing, one stops getting the
// channel while the others go on.
func TestGorillaSubscribersGetHTTPPublications(t *testing.T) {
	eng, ts := startNode(t, reactor.Config{})
	url := "ws://" + eng.Addr().String() + "/ws"
	var clients []*gorilla.Conn
	for i := range 6 {
		u := url
		if i%2 == 0 {
			u += "?channels=news"
		}
		c, _, err := gorilla.DefaultDialer.Dial(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		gorillaConnected(t, c)
		if i%2 == 1 {
			if err := c.WriteJSON(map[string]any{"type": "subscribe", "channel": "news", "id": i}); err != nil {
				t.Fatal(err)
			}
			var ack map[string]any
			if err := c.ReadJSON(&ack); err != nil || ack["type"] != "ack" || ack["id"] != float64(i) {
				t.Fatalf("subscribe ack: %v %v", ack, err)
			}
		}
		clients = append(clients, c)
	}
	const msgs = 50
	for i := range msgs {
		if r := do(t, "POST", ts.URL+"/api/publish", fmt.Sprintf(`{"channel":"news","data":{"seq":%d}}`, i)); r.status != 200 {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
	}
	for n, c := range clients {
		for i := range msgs {
			var m struct {
				Type, Channel string
				Data          struct{ Seq int }
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if err := c.ReadJSON(&m); err != nil {
				t.Fatalf("client %d: %v", n, err)
			}
			if m.Type != "message" || m.Channel != "news" || m.Data.Seq != i {
				t.Fatalf("client %d message %d: %+v", n, i, m)
			}
		}
	}

	quitter := clients[0]
	if err := quitter.WriteJSON(map[string]any{"type": "unsubscribe", "channel": "news", "id": "bye"}); err != nil {
		t.Fatal(err)
	}
	var ack map[string]any
	if err := quitter.ReadJSON(&ack); err != nil || ack["type"] != "ack" {
		t.Fatalf("unsubscribe ack: %v %v", ack, err)
	}
	do(t, "POST", ts.URL+"/api/publish", `{"channel":"news","data":"after"}`)
	for _, c := range clients[1:] {
		var m map[string]any
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := c.ReadJSON(&m); err != nil || m["data"] != "after" {
			t.Fatalf("still-subscribed client: %v %v", m, err)
		}
	}
	_ = quitter.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var extra map[string]any
	if err := quitter.ReadJSON(&extra); err == nil {
		t.Fatalf("unsubscribed client still got %v", extra)
	}
}
