package reactor

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/wire"
)

func TestPubSubEverySubscriberGetsEveryMessageOnceInOrder(t *testing.T) {
	e := gateway(t, Config{})
	var subs []*wstest.Conn
	for range 5 { // subscribed at the handshake
		subs = append(subs, dialWS(t, e, "/ws?channels=news,other"))
	}
	for range 5 { // subscribed with a frame
		c := dialWS(t, e, "/ws")
		if got := send(t, c, `{"type":"subscribe","channel":"news","id":7}`); got["type"] != "ack" || got["id"] != float64(7) {
			t.Fatalf("subscribe reply %v", got)
		}
		subs = append(subs, c)
	}
	testkit.Eventually(t, waitTimeout, "10 subscriptions to news", func() bool { return e.Stats().Subscriptions == 15 })
	const msgs = 200
	for i := range msgs {
		if err := e.Publish("news", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for n, c := range subs {
		for i := range msgs {
			m := readJSON(t, c)
			if m["type"] != "message" || m["channel"] != "news" || m["data"] != float64(i) {
				t.Fatalf("subscriber %d message %d: got %v", n, i, m)
			}
		}
	}
	if got := e.Stats().Deliveries; got != 10*msgs {
		t.Errorf("deliveries = %d, want %d", got, 10*msgs)
	}
}

func TestPubSubDataIsPassedThroughByteForByte(t *testing.T) {
	e := gateway(t, Config{})
	c := dialWS(t, e, "/ws?channels=raw")
	testkit.Eventually(t, waitTimeout, "subscription", func() bool { return e.Stats().Subscriptions == 1 })
	data := `{"b": 1,   "a":[1, 2 ,"é\u00e9"]}`
	if err := e.Publish("raw", []byte(data)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, p, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"message","channel":"raw","data":` + data + `}`
	if string(p) != want {
		t.Fatalf("got %s\nwant %s", p, want)
	}
}

func TestPubSubUnsubscribeStopsDelivery(t *testing.T) {
	e := gateway(t, Config{})
	c := dialWS(t, e, "/ws?channels=a,b")
	if got := send(t, c, `{"type":"unsubscribe","channel":"a","id":"x"}`); got["type"] != "ack" || got["id"] != "x" {
		t.Fatalf("unsubscribe reply %v", got)
	}
	_ = e.Publish("a", []byte(`"lost"`))
	_ = e.Publish("b", []byte(`"kept"`))
	if m := readJSON(t, c); m["channel"] != "b" || m["data"] != "kept" {
		t.Fatalf("got %v, want only the message on b", m)
	}
	if got := send(t, c, `{"type":"unsubscribe","channel":"a","id":1}`); got["code"] != wire.CodeNotSubscribed {
		t.Fatalf("second unsubscribe: %v", got)
	}
	if got := e.Stats(); got.Subscriptions != 1 || got.Channels != 1 {
		t.Fatalf("subscriptions %d channels %d, want 1 and 1", got.Subscriptions, got.Channels)
	}
}

func TestPubSubClientPublishReachesOthersAndAcks(t *testing.T) {
	e := gateway(t, Config{})
	sub := dialWS(t, e, "/ws?channels=chat.room.42")
	pub := dialWS(t, e, "/ws")
	testkit.Eventually(t, waitTimeout, "subscription", func() bool { return e.Stats().Subscriptions == 1 })
	if got := send(t, pub, `{"type":"publish","channel":"chat.room.42","data":{"text":"hi"},"id":3}`); got["type"] != "ack" || got["id"] != float64(3) {
		t.Fatalf("publish reply %v", got)
	}
	m := readJSON(t, sub)
	if m["data"].(map[string]any)["text"] != "hi" {
		t.Fatalf("got %v", m)
	}
	if got := e.Stats().PublishesClient; got != 1 {
		t.Fatalf("client publishes = %d", got)
	}
}

func TestPubSubErrorFrames(t *testing.T) {
	e := gateway(t, Config{MaxSubscriptions: 2, MaxDataSize: 16})
	cases := []struct {
		name, frame, code string
		id                any
	}{
		{name: "not JSON", frame: `hello`, code: wire.CodeBadJSON},
		{name: "JSON array", frame: `[1]`, code: wire.CodeBadJSON},
		{name: "truncated", frame: `{"type":"subscribe"`, code: wire.CodeBadJSON},
		{name: "id object", frame: `{"type":"subscribe","channel":"a","id":{}}`, code: wire.CodeBadRequest},
		{name: "unknown type", frame: `{"type":"shout","channel":"a","id":1}`, code: wire.CodeUnknownType, id: float64(1)},
		{name: "missing type", frame: `{"channel":"a","id":2}`, code: wire.CodeUnknownType, id: float64(2)},
		{name: "empty channel", frame: `{"type":"subscribe","channel":"","id":3}`, code: wire.CodeBadChannel, id: float64(3)},
		{name: "wildcard channel", frame: `{"type":"subscribe","channel":"a.*","id":4}`, code: wire.CodeBadChannel, id: float64(4)},
		{name: "empty level", frame: `{"type":"subscribe","channel":"a..b","id":5}`, code: wire.CodeBadChannel, id: float64(5)},
		{name: "space", frame: `{"type":"publish","channel":"a b","data":1,"id":6}`, code: wire.CodeBadChannel, id: float64(6)},
		{name: "long channel", frame: `{"type":"subscribe","channel":"` + strings.Repeat("x", 256) + `","id":7}`, code: wire.CodeBadChannel, id: float64(7)},
		{name: "publish without data", frame: `{"type":"publish","channel":"a","id":8}`, code: wire.CodeBadRequest, id: float64(8)},
		{name: "data too large", frame: `{"type":"publish","channel":"a","data":"` + strings.Repeat("x", 20) + `","id":9}`, code: wire.CodeTooLarge, id: float64(9)},
		{name: "not subscribed", frame: `{"type":"unsubscribe","channel":"zz","id":10}`, code: wire.CodeNotSubscribed, id: float64(10)},
	}
	c := dialWS(t, e, "/ws")
	for _, tc := range cases {
		got := send(t, c, tc.frame)
		if got["type"] != "error" || got["code"] != tc.code || got["id"] != tc.id {
			t.Errorf("%s: got %v, want error %s with id %v", tc.name, got, tc.code, tc.id)
		}
		if msg, _ := got["message"].(string); msg == "" {
			t.Errorf("%s: error without a message", tc.name)
		}
		send(t, c, `{"type":"subscribe","channel":"ok","id":0}`) // a success resets the abuse counter
	}
	t.Run("binary frame", func(t *testing.T) {
		if err := c.WriteFrame(ws.OpBinary, true, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if got := readJSON(t, c); got["code"] != wire.CodeUnsupported {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("too many subscriptions", func(t *testing.T) {
		send(t, c, `{"type":"subscribe","channel":"two","id":1}`)
		if got := send(t, c, `{"type":"subscribe","channel":"three","id":2}`); got["code"] != wire.CodeTooManySubscriptions {
			t.Fatalf("got %v", got)
		}
	})
}

func TestPubSubRepeatedAbuseClosesWith1008(t *testing.T) {
	e := gateway(t, Config{})
	c := dialWS(t, e, "/ws")
	for range maxConsecutiveErrs - 1 {
		if got := send(t, c, `nope`); got["code"] != wire.CodeBadJSON {
			t.Fatalf("got %v", got)
		}
	}
	if err := c.WriteText([]byte(`nope`)); err != nil {
		t.Fatal(err)
	}
	if got := readJSON(t, c); got["code"] != wire.CodeBadJSON {
		t.Fatalf("got %v", got)
	}
	if ce := expectClose(t, c, 5*time.Second); ce.Code != ws.StatusPolicyViolation || ce.Reason != "too many errors" {
		t.Fatalf("close %d %q, want 1008 too many errors", ce.Code, ce.Reason)
	}
}

func TestPubSubHandshakeChannelsQuery(t *testing.T) {
	e := gateway(t, Config{MaxSubscriptions: 3})
	for _, tc := range []struct {
		query  string
		status int
	}{
		{query: "channels=a,b.c", status: 101},
		{query: "channels=a&channels=b", status: 101},
		{query: "channels=", status: 101},
		{query: "channels=a,,b", status: 101},
		{query: "channels=a..b", status: 400},
		{query: "channels=a%20b", status: 400},
		{query: "channels=a,b,c,d", status: 400},
		{query: "channels=%zz", status: 400},
	} {
		c, err := wstest.Dial("ws://"+e.Addr().String()+"/ws?"+tc.query, 5*time.Second)
		status := 101
		if he, ok := err.(*wstest.HandshakeError); ok {
			status = he.Status
		} else if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		} else {
			c.Close()
		}
		if status != tc.status {
			t.Errorf("?%s: status %d, want %d", tc.query, status, tc.status)
		}
	}
}
