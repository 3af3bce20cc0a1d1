package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"google.golang.org/protobuf/proto"

	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
	"github.com/wsgate/wsgate/wsproto"
)

// TestProtobufAndJSONShareAChannel: a JSON client and a Protobuf client
// subscribe to one channel and both publish to it. Each gets every
// publication, with the data docs/protocol.md ("Data: bytes, and JSON
// subscribers") promises: the Protobuf subscriber the publisher's bytes
// (a JSON publisher's JSON text, the bytes a $binary object encodes), the
// JSON subscriber the JSON value ({"$binary":...} for bytes that are not
// JSON, empty ones included). History reads give the same.
func TestProtobufAndJSONShareAChannel(t *testing.T) {
	eng := gatewaytest.Start(t, reactor.Config{Relay: relay.NewLocalHistory(relay.HistoryConfig{Size: 100})})
	ctx := testContext(t)
	jc := newClient(t, []string{wsURL(eng)}, fast(client.Options{}))
	pc := newClient(t, []string{wsURL(eng)}, fast(client.Options{Format: client.FormatProtobuf}))
	connect(t, jc)
	connect(t, pc)
	var jcol, pcol collector
	if _, err := jc.Subscribe(ctx, "mixed", jcol.message); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Subscribe(ctx, "mixed", pcol.message); err != nil {
		t.Fatal(err)
	}
	type pub struct {
		by         *client.Client
		data       any
		json, prot string // what each subscriber gets
	}
	pubs := []pub{
		{pc, []byte{0xff, 0x00, 0x01}, `{"$binary":"/wAB"}`, "\xff\x00\x01"},
		{pc, []byte(`{"a": 1}`), `{"a": 1}`, `{"a": 1}`},
		{pc, []byte{}, `{"$binary":""}`, ""},
		{pc, []byte("not json"), `{"$binary":"bm90IGpzb24="}`, "not json"},
		{pc, map[string]int{"n": 2}, `{"n":2}`, `{"n":2}`},
		{jc, map[string]int{"b": 2}, `{"b":2}`, `{"b":2}`},
		{jc, json.RawMessage(`{"$binary":"AQID"}`), `{"$binary":"AQID"}`, "\x01\x02\x03"},
		{jc, []byte{1, 2, 3}, `"AQID"`, `"AQID"`}, // JSON: encoding/json's base64 string
	}
	for i, p := range pubs {
		if err := p.by.Publish(ctx, "mixed", p.data); err != nil {
			t.Fatalf("publication %d: %v", i, err)
		}
	}
	testkit.Eventually(t, 5*time.Second, "every publication, both sides", func() bool {
		return len(jcol.offsets()) == len(pubs) && len(pcol.offsets()) == len(pubs)
	})
	jcol.mu.Lock()
	pcol.mu.Lock()
	for i, p := range pubs {
		if j := jcol.msgs[i]; string(j.Data) != p.json {
			t.Errorf("publication %d: the JSON subscriber got %s, want %s", i, j.Data, p.json)
		}
		if m := pcol.msgs[i]; string(m.Data) != p.prot || m.Data == nil || m.Offset != jcol.msgs[i].Offset || m.Offset == 0 {
			t.Errorf("publication %d: the Protobuf subscriber got %q (offset %d), want %q (offset %d)", i, m.Data, m.Offset, p.prot, jcol.msgs[i].Offset)
		}
	}
	pcol.mu.Unlock()
	jcol.mu.Unlock()

	jpage, err := jc.History(ctx, "mixed", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ppage, err := pc.History(ctx, "mixed", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(jpage.Publications) != len(pubs) || len(ppage.Publications) != len(pubs) || jpage.Position != ppage.Position {
		t.Fatalf("history: JSON %+v, Protobuf %+v", jpage, ppage)
	}
	for i, p := range pubs {
		if got := string(jpage.Publications[i].Data); got != p.json {
			t.Errorf("history %d, JSON: %s, want %s", i, got, p.json)
		}
		if got := string(ppage.Publications[i].Data); got != p.prot {
			t.Errorf("history %d, Protobuf: %q, want %q", i, got, p.prot)
		}
	}
}

// TestHeartbeatAnswered: on /ws?heartbeat=1 the server pings in the
// protocol's own frames ({"type":"ping"}, a Ping ServerFrame) every 100 ms
// and closes a connection that does not answer within 300 ms: the client
// answers, in either format, so a second later it is still on its first
// connection and no pong timed out.
func TestHeartbeatAnswered(t *testing.T) {
	eachFormat(t, func(t *testing.T, format client.Format) {
		eng := gatewaytest.Start(t, reactor.Config{PingInterval: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond})
		var st states
		c := newClient(t, []string{wsURL(eng) + "?heartbeat=1"}, fast(client.Options{Format: format, OnState: st.record}))
		connect(t, c)
		ctx := testContext(t)
		got := make(chan client.Message, 1)
		if _, err := c.Subscribe(ctx, "news", func(m client.Message) { got <- m }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if n, timeouts := st.count(client.StateConnected), eng.Stats().PongTimeouts; n != 1 || timeouts != 0 {
			t.Fatalf("connected %d times, %d pong timeouts: the heartbeat went unanswered", n, timeouts)
		}
		if err := c.Publish(ctx, "news", "after pings"); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if string(m.Data) != `"after pings"` {
				t.Fatalf("message %s", m.Data)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no message after the pings")
		}
	})
}

// TestProtobufRefusedByAJSONServer: a server that accepts the handshake
// without echoing wsgate.v1.proto speaks JSON: before the first
// connection that is final. Connect returns it, the client closes itself
// after one attempt, having offered the subprotocol (its own: the one in
// Options.Header is dropped) and failed the connection with a close 1002.
func TestProtobufRefusedByAJSONServer(t *testing.T) {
	srv := startFake(t, "json-only", nil)
	c := newClient(t, []string{srv.url}, fast(client.Options{
		Format: client.FormatProtobuf,
		Header: http.Header{"Sec-Websocket-Protocol": {"wsgate.v1"}},
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Connect(ctx)
	if !errors.Is(err, client.ErrSubprotocolRefused) {
		t.Fatalf("Connect: %v, want ErrSubprotocolRefused", err)
	}
	if c.State() != client.StateClosed || !errors.Is(c.Err(), client.ErrSubprotocolRefused) {
		t.Fatalf("state %v, Err %v", c.State(), c.Err())
	}
	if _, err := c.Subscribe(ctx, "news", func(client.Message) {}); !errors.Is(err, client.ErrClosed) || !errors.Is(err, client.ErrSubprotocolRefused) {
		t.Fatalf("Subscribe after the refusal: %v", err)
	}
	fc := srv.next(t)
	if !slices.Equal(fc.protocols, []string{wireproto.Protocol}) {
		t.Fatalf("offered %q, want %q alone", fc.protocols, wireproto.Protocol)
	}
	p, err := fc.read()
	if !errors.Is(err, errClientClosed) || len(p) < 2 || ws.StatusCode(int(p[0])<<8|int(p[1])) != ws.StatusProtocolError {
		t.Fatalf("the client's last frame %q (%v), want a close 1002", p, err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(srv.handshakes()); n != 1 {
		t.Fatalf("%d handshakes, want 1", n)
	}
}

// protoFake answers the n-th handshake in Protobuf unless refuse(n).
func protoFake(t *testing.T, node string, refuse func(n int) bool) *fakeServer {
	return startFake(t, node, func(s *fakeServer) {
		s.subprotocol = func(n int) string {
			if refuse != nil && refuse(n) {
				return ""
			}
			return wireproto.Protocol
		}
	})
}

// expectProto reads the client's next command, which must be a binary
// ClientFrame.
func (fc *fakeConn) expectProto() *wireproto.ClientFrame {
	fc.t.Helper()
	for {
		op, p, err := fc.readFrame()
		if err != nil {
			fc.t.Fatalf("reading a command: %v", err)
		}
		switch op {
		case ws.OpBinary:
			var f wireproto.ClientFrame
			if err := proto.Unmarshal(p, &f); err != nil {
				fc.t.Fatalf("%x is not a ClientFrame: %v", p, err)
			}
			return &f
		case ws.OpText:
			fc.t.Fatalf("a text frame %q from a Protobuf client", p)
		case ws.OpClose:
			fc.t.Fatalf("the client closed: %q", p)
		}
	}
}

// sendProto writes one binary frame.
func (fc *fakeConn) sendProto(frame []byte) {
	fc.t.Helper()
	if _, err := fc.nc.Write(wsproto.AppendFrame(nil, ws.OpBinary, true, frame)); err != nil {
		fc.t.Fatalf("send: %v", err)
	}
}

func idOf(id uint64) json.RawMessage { return fmt.Appendf(nil, "%d", id) }

func protoMsg(channel string, offset, prev uint64) []byte {
	return wireproto.AppendMessage(nil, channel, offset, prev, fmt.Appendf(nil, "%d", offset))
}

// TestProtobufGapRepairAndRefusalAfterConnecting: TestGapRepairOnTheSame
// Connection's script in Protobuf frames (a gap, a duplicate, an unasked
// ack, a dropped notice), then a reconnection on which the server does
// not accept the subprotocol: once connected that is not final, the
// client backs off and comes back, resuming where it left off.
func TestProtobufGapRepairAndRefusalAfterConnecting(t *testing.T) {
	srv := protoFake(t, "f1", func(n int) bool { return n == 2 })
	var st states
	c := newClient(t, []string{srv.url}, fast(client.Options{Format: client.FormatProtobuf, OnState: st.record}))
	connect(t, c)
	if c.Node() != "f1" || c.ClientID() != "f1.0.1" {
		t.Fatalf("node %q client %q from the Protobuf Connected", c.Node(), c.ClientID())
	}
	fc := srv.next(t)
	var col collector
	done := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(context.Background(), "orders", col.message, client.WithEvents(col.event))
		done <- err
	}()
	sub := fc.expectProto().GetSubscribe()
	if sub == nil || sub.GetChannel() != "orders" || sub.GetSince() != nil || sub.GetId() == 0 {
		t.Fatalf("first subscribe %v", sub)
	}
	fc.sendProto(wireproto.AppendPosition(nil, idOf(sub.GetId()), "orders", 10, "E1", nil))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fc.sendProto(protoMsg("orders", 11, 10))
	fc.sendProto(protoMsg("orders", 13, 11))
	fc.sendProto(protoMsg("orders", 17, 15)) // 15 was lost: a gap
	fc.sendProto(protoMsg("orders", 18, 17)) // before the ack: ignored
	re := fc.expectProto().GetSubscribe()
	if re.GetSince() == nil || re.GetSince().GetOffset() != 13 || re.GetSince().GetEpoch() != "E1" {
		t.Fatalf("resubscribe %v, want since {13 E1}", re)
	}
	yes, no := true, false
	fc.sendProto(wireproto.AppendPosition(nil, idOf(re.GetId()), "orders", 18, "E1", &yes))
	for _, m := range [][2]uint64{{15, 13}, {17, 15}, {18, 17}} {
		fc.sendProto(protoMsg("orders", m[0], m[1]))
	}
	fc.sendProto(protoMsg("orders", 17, 15)) // a duplicate: not delivered, resume from 18
	re2 := fc.expectProto().GetSubscribe()
	if re2.GetSince().GetOffset() != 18 {
		t.Fatalf("after a duplicate: %v, want since 18", re2)
	}
	fc.sendProto(wireproto.AppendPosition(nil, idOf(re2.GetId()), "orders", 18, "E1", &yes))
	fc.sendProto(protoMsg("orders", 20, 18))
	// Mid-replay loss (an ack without id): the position jumps to the ack's.
	fc.sendProto(wireproto.AppendPosition(nil, nil, "orders", 40, "E2", &no))
	fc.sendProto(protoMsg("orders", 41, 40))
	// A dropped notice from 41 on: passed on, and the client resumes at once.
	fc.sendProto(wireproto.AppendDroppedOn(nil, "orders", 3, 41))
	re3 := fc.expectProto().GetSubscribe()
	if re3.GetSince().GetOffset() != 41 || re3.GetSince().GetEpoch() != "E2" {
		t.Fatalf("after dropped: %v, want since {41 E2}", re3)
	}
	fc.sendProto(wireproto.AppendPosition(nil, idOf(re3.GetId()), "orders", 44, "E2", &yes))
	for _, o := range []uint64{42, 43, 44} {
		fc.sendProto(protoMsg("orders", o, o-1))
	}
	want := []uint64{11, 13, 15, 17, 18, 20, 41, 42, 43, 44}
	testkit.Eventually(t, 5*time.Second, "the publications", func() bool { return len(col.offsets()) == len(want) })
	if got := col.offsets(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	col.mu.Lock()
	if d := col.msgs[0].Data; string(d) != "11" {
		t.Errorf("data %q, want the bytes sent", d)
	}
	col.mu.Unlock()
	wantEvents := []client.EventKind{client.EventResumed, client.EventResumed, client.EventNotRecovered, client.EventDropped, client.EventResumed}
	testkit.Eventually(t, 5*time.Second, "the events", func() bool { return len(col.kinds()) == len(wantEvents) })
	if got := col.kinds(); !slices.Equal(got, wantEvents) {
		t.Fatalf("events %v, want %v", got, wantEvents)
	}
	col.mu.Lock()
	if e := col.events[3]; e.Position.Offset != 41 || e.Message != "3 messages dropped: the connection was not reading fast enough" {
		t.Errorf("dropped event %+v", e)
	}
	col.mu.Unlock()

	// A publish is answered by its id; an error frame comes back as *Error.
	pubErr := make(chan error, 2)
	go func() { pubErr <- c.Publish(context.Background(), "orders", []byte{0, 1}) }()
	p := fc.expectProto().GetPublish()
	if p == nil || !bytes.Equal(p.GetData(), []byte{0, 1}) || p.GetIdempotencyKey() == "" || p.GetId() == 0 {
		t.Fatalf("publish %v", p)
	}
	fc.sendProto(wireproto.AppendAck(nil, idOf(p.GetId())))
	if err := <-pubErr; err != nil {
		t.Fatalf("Publish: %v", err)
	}
	go func() { pubErr <- c.Publish(context.Background(), "orders", 1) }()
	p = fc.expectProto().GetPublish()
	fc.sendProto(wireproto.AppendError(nil, idOf(p.GetId()), wire.CodeForbidden, "no"))
	var e *client.Error
	if err := <-pubErr; !errors.As(err, &e) || e.Code != wire.CodeForbidden || string(p.GetData()) != "1" {
		t.Fatalf("Publish refused: %v (data %q)", err, p.GetData())
	}

	// Reconnecting: the second handshake is answered without the
	// subprotocol; the third in Protobuf, and the subscription resumes.
	fc.close(ws.StatusGoingAway, "server shutting down")
	fc = srv.next(t) // the refused one
	if _, err := fc.read(); !errors.Is(err, errClientClosed) {
		t.Fatalf("the refused connection: %v", err)
	}
	fc = srv.next(t)
	re4 := fc.expectProto().GetSubscribe()
	if re4.GetSince().GetOffset() != 44 || re4.GetSince().GetEpoch() != "E2" {
		t.Fatalf("after reconnecting: %v, want since {44 E2}", re4)
	}
	if c.Err() != nil || st.count(client.StateClosed) != 0 || st.count(client.StateConnected) != 2 {
		t.Fatalf("Err %v, %d closed, %d connected: a refused subprotocol after connecting must not be final", c.Err(), st.count(client.StateClosed), st.count(client.StateConnected))
	}
}
