package reactor_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
)

// protoClient is a wsgate.v1.proto client: gorilla with the subprotocol,
// the generated types both ways.
type protoClient struct {
	t  *testing.T
	c  *gorilla.Conn
	id uint64 // the last command id sent
}

// dialProto connects to path offering protocols and checks that the
// server chose wsgate.v1.proto and greeted in Protobuf.
func dialProto(t *testing.T, e *reactor.Engine, path string, protocols ...string) *protoClient {
	t.Helper()
	if len(protocols) == 0 {
		protocols = []string{wireproto.Protocol}
	}
	d := gorilla.Dialer{HandshakeTimeout: ioTimeout, Subprotocols: protocols}
	c, resp, err := d.Dial(wsURL(e, path), nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != wireproto.Protocol {
		t.Fatalf("subprotocol %q, want %q", got, wireproto.Protocol)
	}
	p := &protoClient{t: t, c: c}
	if hello := p.read().GetConnected(); hello == nil || hello.GetClient() == "" || hello.GetPingIntervalMs() <= 0 {
		t.Fatalf("first frame is not a Connected")
	}
	return p
}

func (p *protoClient) send(f *wireproto.ClientFrame) {
	p.t.Helper()
	b, err := proto.Marshal(f)
	if err != nil {
		p.t.Fatal(err)
	}
	_ = p.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := p.c.WriteMessage(gorilla.BinaryMessage, b); err != nil {
		p.t.Fatal(err)
	}
}

// read returns the next ServerFrame, which must come in a binary frame.
func (p *protoClient) read() *wireproto.ServerFrame {
	p.t.Helper()
	_ = p.c.SetReadDeadline(time.Now().Add(ioTimeout))
	op, b, err := p.c.ReadMessage()
	if err != nil {
		p.t.Fatal(err)
	}
	if op != gorilla.BinaryMessage {
		p.t.Fatalf("a %d frame %q on a Protobuf connection", op, b)
	}
	var f wireproto.ServerFrame
	if err := proto.Unmarshal(b, &f); err != nil {
		p.t.Fatalf("not a ServerFrame: %x: %v", b, err)
	}
	return &f
}

func (p *protoClient) subscribe(channel string, since *wireproto.Since) *wireproto.Ack {
	p.t.Helper()
	p.id++
	p.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Subscribe{Subscribe: &wireproto.Subscribe{Channel: channel, Id: p.id, Since: since}}})
	ack := p.read().GetAck()
	if ack == nil || ack.GetId() != p.id {
		p.t.Fatalf("subscribe %s: no ack %d", channel, p.id)
	}
	return ack
}

// publish sends data with an id; its ack comes among the messages
// (nextMessage skips it).
func (p *protoClient) publish(channel string, data []byte) {
	p.t.Helper()
	p.id++
	p.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Publish{Publish: &wireproto.Publish{Channel: channel, Data: data, Id: p.id}}})
}

// nextMessage reads frames up to the next Message, skipping acks.
func (p *protoClient) nextMessage() *wireproto.Message {
	p.t.Helper()
	for {
		f := p.read()
		if m := f.GetMessage(); m != nil {
			return m
		}
		if f.GetAck() == nil {
			p.t.Fatalf("waiting for a message: %v", f)
		}
	}
}

// jsonMessage reads frames of a JSON client up to the next message.
func jsonMessage(t *testing.T, c *gorilla.Conn) map[string]json.RawMessage {
	t.Helper()
	for {
		_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
		op, b, err := c.ReadMessage()
		if err != nil || op != gorilla.TextMessage {
			t.Fatalf("JSON client: op %d %q, %v", op, b, err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("JSON client: %q: %v", b, err)
		}
		if string(m["type"]) == `"message"` {
			return m
		}
	}
}

// expectJSONConnected reads a JSON client's connected frame.
func expectJSONConnected(t *testing.T, c *gorilla.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	op, b, err := c.ReadMessage()
	if err != nil || op != gorilla.TextMessage {
		t.Fatalf("first frame: op %d %q, %v", op, b, err)
	}
	if _, err := wstest.ParseConnected(b); err != nil {
		t.Fatal(err)
	}
}

// TestProtobufNegotiation: wsgate.v1.proto is chosen when the client lists
// it before wsgate.v1 (or alone), JSON otherwise.
func TestProtobufNegotiation(t *testing.T) {
	e := gatewaytest.Start(t, reactor.Config{})
	dialProto(t, e, "/ws")
	dialProto(t, e, "/ws", wireproto.Protocol, "wsgate.v1")
	dialProto(t, e, "/ws?channels=news", "x-other", wireproto.Protocol)
	for _, offer := range [][]string{{"wsgate.v1", wireproto.Protocol}, {"wsgate.v1"}, nil} {
		d := gorilla.Dialer{HandshakeTimeout: ioTimeout, Subprotocols: offer}
		c, resp, err := d.Dial(wsURL(e, "/ws"), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := ""
		if len(offer) > 0 {
			want = "wsgate.v1"
		}
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != want {
			t.Errorf("offer %q: protocol %q, want %q", offer, got, want)
		}
		expectJSONConnected(t, c)
		c.Close()
	}
}

// TestProtobufAndJSONShareAChannel: Protobuf and JSON subscribers of one
// channel with history get every publication, whoever made it, with its
// offset and prev: a JSON publication's data as its JSON text, a Protobuf
// publication's bytes as they were sent (JSON ones as data to JSON
// clients, others as {"$binary":...}). Each publication is framed in
// Protobuf once, however many Protobuf subscribers get it.
func TestProtobufAndJSONShareAChannel(t *testing.T) {
	e := gatewaytest.Start(t, reactor.Config{Relay: relay.NewLocalHistory(relay.HistoryConfig{Size: 100}), MessageRate: -1, ByteRate: -1})
	var (
		protos []*protoClient
		epoch  string
	)
	for range 4 { // across the loops
		p := dialProto(t, e, "/ws")
		ack := p.subscribe("news", nil)
		if ack.GetChannel() != "news" || ack.GetEpoch() == "" || ack.Recovered != nil {
			t.Fatalf("subscribe ack on a channel with history: %v", ack)
		}
		protos, epoch = append(protos, p), ack.GetEpoch()
	}
	jc, _, err := (&gorilla.Dialer{HandshakeTimeout: ioTimeout}).Dial(wsURL(e, "/ws?channels=news"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer jc.Close()
	expectJSONConnected(t, jc)
	_ = jc.SetReadDeadline(time.Now().Add(ioTimeout))
	if _, b, err := jc.ReadMessage(); err != nil || !bytes.Contains(b, []byte(`"ack"`)) { // the position of ?channels=
		t.Fatalf("JSON subscriber's ack: %q %v", b, err)
	}

	publishJSON := func(data string) {
		_ = jc.SetWriteDeadline(time.Now().Add(ioTimeout))
		if err := jc.WriteMessage(gorilla.TextMessage, fmt.Appendf(nil, `{"type":"publish","channel":"news","data":%s}`, data)); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name     string
		publish  func()
		toProto  []byte // Message.data
		toJSON   string // "data"
		fromJSON bool
	}{
		{"JSON client", func() { publishJSON(`{"a":[1, 2]}`) }, []byte(`{"a":[1, 2]}`), `{"a":[1, 2]}`, true},
		{"HTTP API", func() { _ = e.Publish("news", []byte(`"api"`)) }, []byte(`"api"`), `"api"`, false},
		{"Protobuf client, JSON bytes", func() { protos[0].publish("news", []byte(`[1,2]`)) }, []byte(`[1,2]`), `[1,2]`, false},
		{"Protobuf client, other bytes", func() { protos[0].publish("news", []byte{0, 0xff, '"'}) }, []byte{0, 0xff, '"'}, `{"$binary":"AP8i"}`, false},
		{"Protobuf client, nothing", func() { protos[0].publish("news", nil) }, nil, `{"$binary":""}`, false},
		{"JSON client, binary data", func() { publishJSON(`{"$binary":"AQID"}`) }, []byte{1, 2, 3}, `{"$binary":"AQID"}`, true},
	}
	var last uint64
	offsets := make([]uint64, len(cases))
	for i, tc := range cases {
		tc.publish()
		var offset uint64
		for n, p := range protos {
			m := p.nextMessage()
			if m.GetChannel() != "news" || !bytes.Equal(m.GetData(), tc.toProto) {
				t.Fatalf("%s: Protobuf subscriber %d got %q, want %q", tc.name, n, m.GetData(), tc.toProto)
			}
			if m.GetOffset() == 0 || m.GetPrev() != last {
				t.Fatalf("%s: offset %d prev %d, want prev %d", tc.name, m.GetOffset(), m.GetPrev(), last)
			}
			offset = m.GetOffset()
		}
		m := jsonMessage(t, jc)
		if string(m["data"]) != tc.toJSON || string(m["offset"]) != fmt.Sprint(offset) || string(m["prev"]) != fmt.Sprint(last) {
			t.Fatalf("%s: JSON subscriber got %s %s %s, want %s at %d", tc.name, m["data"], m["offset"], m["prev"], tc.toJSON, offset)
		}
		last, offsets[i] = offset, offset
		if got := e.Stats().ProtobufEncodes; got != int64(i+1) {
			t.Fatalf("%s: %d Protobuf encodes after %d publications, want one each", tc.name, got, i+1)
		}
	}

	// The same publications, from history, to a Protobuf client: a
	// resume after the first, then a history command.
	late := dialProto(t, e, "/ws")
	ack := late.subscribe("news", &wireproto.Since{Offset: offsets[0], Epoch: epoch})
	if !ack.GetRecovered() || ack.GetOffset() != last {
		t.Fatalf("resume: %v", ack)
	}
	for _, tc := range cases[1:] {
		if m := late.nextMessage(); !bytes.Equal(m.GetData(), tc.toProto) {
			t.Fatalf("replayed %s: %q, want %q", tc.name, m.GetData(), tc.toProto)
		}
	}
	late.id++
	late.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_History{History: &wireproto.History{Channel: "news", Id: late.id}}})
	h := late.read().GetHistory()
	if h == nil || h.GetId() != late.id || len(h.GetPublications()) != len(cases) || h.GetOffset() != last {
		t.Fatalf("history reply %v", h)
	}
	for i, pub := range h.GetPublications() {
		if !bytes.Equal(pub.GetData(), cases[i].toProto) {
			t.Fatalf("history %d: %q, want %q", i, pub.GetData(), cases[i].toProto)
		}
	}
}

// TestProtobufRefusals: a Protobuf connection's errors come in Protobuf,
// with the JSON protocol's codes and the command's id; a text frame is
// unsupported there, as a binary one is on JSON.
func TestProtobufRefusals(t *testing.T) {
	e := gatewaytest.Start(t, reactor.Config{})
	p := dialProto(t, e, "/ws")
	expect := func(what string, id uint64, code string) {
		t.Helper()
		f := p.read().GetError()
		if f == nil || f.GetId() != id || f.GetCode() != code || f.GetMessage() == "" {
			t.Fatalf("%s: %v, want error %s with id %d", what, f, code, id)
		}
	}
	_ = p.c.WriteMessage(gorilla.TextMessage, []byte(`{"type":"subscribe","channel":"news"}`))
	expect("text frame", 0, wire.CodeUnsupported)
	_ = p.c.WriteMessage(gorilla.BinaryMessage, []byte{0xff, 0xff, 0xff})
	expect("not a ClientFrame", 0, wire.CodeBadProtobuf)
	_ = p.c.WriteMessage(gorilla.BinaryMessage, nil)
	expect("no command", 0, wire.CodeUnknownType)
	p.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Subscribe{Subscribe: &wireproto.Subscribe{Channel: "a..b", Id: 7}}})
	expect("bad channel", 7, wire.CodeBadChannel)
	p.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Unsubscribe{Unsubscribe: &wireproto.Unsubscribe{Channel: "news", Id: 1<<64 - 1}}})
	expect("not subscribed", 1<<64-1, wire.CodeNotSubscribed)
	p.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Subscribe{Subscribe: &wireproto.Subscribe{Channel: "news", Since: &wireproto.Since{Epoch: "e"}, Id: 8}}})
	expect("since without history", 8, wire.CodeNoHistory)
	p.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Publish{Publish: &wireproto.Publish{Channel: "news", Data: make([]byte, 64<<10+1), Id: 9}}})
	expect("too large", 9, wire.CodeTooLarge)
	// A command without id succeeds silently; the next one's ack follows.
	p.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Subscribe{Subscribe: &wireproto.Subscribe{Channel: "news"}}})
	p.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Pong{Pong: &wireproto.Pong{}}})
	p.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Unsubscribe{Unsubscribe: &wireproto.Unsubscribe{Channel: "news", Id: 10}}})
	if ack := p.read().GetAck(); ack == nil || ack.GetId() != 10 || ack.GetChannel() != "" {
		t.Fatalf("unsubscribe: %v", ack)
	}
}

// TestProtobufHeartbeat: a Protobuf client asking for the heartbeat gets
// Ping frames and answers with Pong, with no reply.
func TestProtobufHeartbeat(t *testing.T) {
	e := gatewaytest.Start(t, reactor.Config{PingInterval: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond})
	p := dialProto(t, e, "/ws?heartbeat=1&channels=news")
	for range 3 {
		if p.read().GetPing() == nil {
			t.Fatal("not a Ping")
		}
		p.send(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Pong{Pong: &wireproto.Pong{}}})
	}
	if err := e.Publish("news", []byte(`"after pongs"`)); err != nil {
		t.Fatal(err)
	}
	for {
		f := p.read()
		if f.GetPing() != nil {
			continue
		}
		if string(f.GetMessage().GetData()) != `"after pongs"` {
			t.Fatalf("after the pongs: %v", f)
		}
		break
	}
	testkit.Eventually(t, 5*time.Second, "still open", func() bool { return e.Stats().Upgraded == 1 })
}
