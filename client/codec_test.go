package client

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
)

// TestCodecCommandsAgree: every command, written by each codec, is what
// the server reads (wire.ParseCommand for JSON, wireproto.ParseCommand for
// Protobuf), and the two read alike: the same Command, id included. So the
// client asks the same of the server in both formats.
func TestCodecCommandsAgree(t *testing.T) {
	since := &Position{Offset: 7, Epoch: "E1.x"}
	data, err := marshalData(map[string]any{"k": "<v>"})
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []command{
		{kind: cmdSubscribe, channel: "news", id: 1},
		{kind: cmdSubscribe, channel: "news", since: since, id: 2},
		{kind: cmdSubscribe, channel: "news", since: &Position{Epoch: "E"}, id: 3}, // offset 0 is a position
		{kind: cmdUnsubscribe, channel: "chat.room.42", id: 4},
		{kind: cmdPublish, channel: "news", data: data, key: "k-1", id: 5},
		{kind: cmdPublish, channel: "news", data: []byte(`"x"`), key: "0123456789abcdef0123456789abcdef", id: 1 << 62},
		{kind: cmdHistory, channel: "news", id: 6},
		{kind: cmdHistory, channel: "news", since: since, limit: 50, id: 7},
		{kind: cmdHistory, channel: "news", limit: 5000, id: 8}, // lowered to 1000 by both
		{kind: cmdRefresh, token: "a.b.c", id: 9},
		{kind: cmdSubscribe, channel: "room.1", presence: true, id: 10},
		{kind: cmdSubscribe, channel: "room.1", since: since, presence: true, id: 11},
		{kind: cmdSend, data: data, id: 12},
		{kind: cmdSend, data: []byte(`null`), id: 13},
		{kind: cmdPong},
	} {
		name := map[cmdKind]string{cmdSubscribe: "subscribe", cmdUnsubscribe: "unsubscribe", cmdPublish: "publish", cmdHistory: "history", cmdRefresh: "refresh", cmdSend: "send", cmdPong: "pong"}[cmd.kind]
		t.Run(fmt.Sprintf("%s/%d", name, cmd.id), func(t *testing.T) {
			j, jerr := wire.ParseCommand(jsonCodec{}.encode(cmd), 1<<16)
			p, perr := wireproto.ParseCommand(protoCodec{}.encode(cmd), 1<<16)
			if jerr != nil || perr != nil {
				t.Fatalf("refused: JSON %v, Protobuf %v", jerr, perr)
			}
			if !reflect.DeepEqual(j, p) {
				t.Fatalf("JSON reads %+v, Protobuf %+v", j, p)
			}
			if cmd.id != 0 && string(j.ID) != fmt.Sprint(cmd.id) {
				t.Fatalf("id %s, want %d", j.ID, cmd.id)
			}
			if j.Presence != cmd.presence || (cmd.kind == cmdSend && (j.Kind != wire.Send || string(j.Data) != string(cmd.data))) {
				t.Fatalf("read as %+v", j)
			}
		})
	}
}

// TestProtoPublishData: Publish's (and Send's) data in Protobuf: a
// []byte as it is, any bytes (the server wraps those that are not JSON
// for JSON subscribers and the backend); a json.RawMessage and other
// values as in JSON.
func TestProtoPublishData(t *testing.T) {
	for _, c := range []struct {
		in         any
		sent, json string // the Publish's data, and what JSON subscribers get
	}{
		{[]byte{0xff, 0, 1}, "\xff\x00\x01", `{"$binary":"/wAB"}`},
		{[]byte(nil), "", `{"$binary":""}`},
		{[]byte(`{"a":1}`), `{"a":1}`, `{"a":1}`},
		{json.RawMessage(` [1, 2] `), `[1, 2]`, `[1, 2]`},
		{"s", `"s"`, `"s"`},
		{map[string]int{"n": 1}, `{"n":1}`, `{"n":1}`},
	} {
		d, err := protoCodec{}.data(c.in)
		if err != nil {
			t.Fatalf("%#v: %v", c.in, err)
		}
		cmd, werr := wireproto.ParseCommand(protoCodec{}.encode(command{kind: cmdPublish, channel: "c", data: d, id: 1}), 1<<16)
		if string(d) != c.sent || werr != nil || string(cmd.Data) != c.json {
			t.Errorf("%#v: sent %q, JSON subscribers get %s (%v); want %q, %s", c.in, d, cmd.Data, werr, c.sent, c.json)
		}
		// Send's data goes alike: the backend gets the JSON value.
		cmd, werr = wireproto.ParseCommand(protoCodec{}.encode(command{kind: cmdSend, data: d, id: 2}), 1<<16)
		if werr != nil || cmd.Kind != wire.Send || string(cmd.Data) != c.json {
			t.Errorf("%#v: send read as %+v (%v), data want %s", c.in, cmd, werr, c.json)
		}
	}
	if _, err := (protoCodec{}).data(json.RawMessage(`{`)); err == nil {
		t.Error("invalid json.RawMessage accepted")
	}
	// JSON keeps encoding/json's rule: a []byte is a base64 string.
	if d, err := (jsonCodec{}).data([]byte{1, 2, 3}); err != nil || string(d) != `"AQID"` {
		t.Errorf("JSON []byte: %s, %v", d, err)
	}
}

// TestCodecFramesAgree: every frame the server sends, built by wire's and
// wireproto's twin functions from the same arguments, decodes to the same
// frame in both codecs: the client acts alike on both formats. Only what
// the formats say differently differs: a dropped notice's count (a number
// in Protobuf, in the message's text in JSON).
func TestCodecFramesAgree(t *testing.T) {
	yes, no := true, false
	const hex32 = "5f0c3d9e8a7b6c5d4e3f2a1b0c9d8e7f"
	const joined = 1765100000123
	id := json.RawMessage("42")
	entries := []wire.HistoryEntry{{Offset: 3, Prev: 1, Data: []byte(`{"a":1}`)}, {Offset: 5, Prev: 3, Data: []byte(`"x"`)}}
	for _, c := range []struct {
		name         string
		json, proto  []byte
		kind         frameKind
		check        func(f *frame) bool
		protoOnlyCnt uint64
	}{
		{"connected", wire.AppendConnected(nil, "n1.0.1", "n1", "v1", 25000), wireproto.AppendConnected(nil, "n1.0.1", "n1", "v1", 25000), frameConnected,
			func(f *frame) bool {
				return f.hello == connected{Client: "n1.0.1", Node: "n1", Version: "v1", PingIntervalMS: 25000}
			}, 0},
		{"ack", wire.AppendAck(nil, id), wireproto.AppendAck(nil, id), frameAck,
			func(f *frame) bool { return f.id == 42 && f.epoch == "" && !f.hasOffset && f.recovered == nil }, 0},
		{"ack with position", wire.AppendPosition(nil, id, "news", 0, "E1", nil), wireproto.AppendPosition(nil, id, "news", 0, "E1", nil), frameAck,
			func(f *frame) bool {
				return f.id == 42 && f.channel == "news" && f.hasOffset && f.offset == 0 && f.epoch == "E1" && f.recovered == nil
			}, 0},
		{"ack recovered", wire.AppendPosition(nil, id, "news", 9, "E1", &yes), wireproto.AppendPosition(nil, id, "news", 9, "E1", &yes), frameAck,
			func(f *frame) bool { return f.offset == 9 && f.recovered != nil && *f.recovered }, 0},
		{"ack not recovered", wire.AppendPosition(nil, id, "news", 9, "E1", &no), wireproto.AppendPosition(nil, id, "news", 9, "E1", &no), frameAck,
			func(f *frame) bool { return f.recovered != nil && !*f.recovered }, 0},
		{"unasked ack", wire.AppendPosition(nil, nil, "news", 9, "E2", &no), wireproto.AppendPosition(nil, nil, "news", 9, "E2", &no), frameAck,
			func(f *frame) bool { return f.id == 0 && f.epoch == "E2" }, 0},
		{"error", wire.AppendError(nil, id, wire.CodeForbidden, "not allowed"), wireproto.AppendError(nil, id, wire.CodeForbidden, "not allowed"), frameError,
			func(f *frame) bool { return f.id == 42 && f.code == wire.CodeForbidden && f.message == "not allowed" }, 0},
		{"error without id", wire.AppendError(nil, nil, wire.CodeBadJSON, "x"), wireproto.AppendError(nil, nil, wire.CodeBadJSON, "x"), frameError,
			func(f *frame) bool { return f.id == 0 && f.code == wire.CodeBadJSON }, 0},
		{"dropped", wire.AppendDroppedOn(nil, "news", 12, 30), wireproto.AppendDroppedOn(nil, "news", 12, 30), frameDropped,
			func(f *frame) bool {
				return f.channel == "news" && f.hasOffset && f.offset == 30 && f.message == droppedText(12)
			}, 12},
		{"dropped without offset", wire.AppendDroppedOn(nil, "news", 2, 0), wireproto.AppendDroppedOn(nil, "news", 2, 0), frameDropped,
			func(f *frame) bool { return !f.hasOffset && f.offset == 0 }, 2},
		{"message", wire.AppendMessage(nil, "news", []byte(`{"t":"<b>"}`)), wireproto.AppendMessage(nil, "news", 0, 0, []byte(`{"t":"<b>"}`)), frameMessage,
			func(f *frame) bool { return f.channel == "news" && string(f.data) == `{"t":"<b>"}` && !f.hasOffset }, 0},
		{"message at", wire.AppendMessageAt(nil, "news", 8, 5, []byte(`1`)), wireproto.AppendMessage(nil, "news", 8, 5, []byte(`1`)), frameMessage,
			func(f *frame) bool { return f.hasOffset && f.offset == 8 && f.prev == 5 && string(f.data) == "1" }, 0},
		{"message at, no prev", wire.AppendMessageAt(nil, "news", 1, 0, []byte(`1`)), wireproto.AppendMessage(nil, "news", 1, 0, []byte(`1`)), frameMessage,
			func(f *frame) bool { return f.hasOffset && f.offset == 1 && f.prev == 0 }, 0},
		{"history", wire.AppendHistory(nil, id, "news", 5, "E1", true, true, entries), wireproto.AppendHistory(nil, id, "news", 5, "E1", true, true, entries), frameHistory,
			func(f *frame) bool {
				return f.id == 42 && f.offset == 5 && f.epoch == "E1" && *f.recovered && f.more && len(f.publications) == 2 &&
					f.publications[1].Offset == 5 && f.publications[1].Prev == 3 && string(f.publications[1].Data) == `"x"`
			}, 0},
		{"empty history", wire.AppendHistory(nil, id, "news", 0, "E1", false, false, nil), wireproto.AppendHistory(nil, id, "news", 0, "E1", false, false, nil), frameHistory,
			func(f *frame) bool { return !*f.recovered && !f.more && len(f.publications) == 0 }, 0},
		{"unsubscribed", wire.AppendUnsubscribed(nil, "news", wire.UnsubscribedForbidden), wireproto.AppendUnsubscribed(nil, "news", wire.UnsubscribedForbidden), frameUnsubscribed,
			func(f *frame) bool { return f.channel == "news" && f.reason == wire.UnsubscribedForbidden }, 0},
		{"unsubscribed by the server", wire.AppendUnsubscribed(nil, "news", wire.UnsubscribedServer), wireproto.AppendUnsubscribed(nil, "news", wire.UnsubscribedServer), frameUnsubscribed,
			func(f *frame) bool { return f.channel == "news" && f.reason == "server" }, 0},
		{"push", wire.AppendPush(nil, []byte(`{"to":"you"}`)), wireproto.AppendPush(nil, []byte(`{"to":"you"}`)), framePush,
			func(f *frame) bool { return string(f.data) == `{"to":"you"}` && f.id == 0 }, 0},
		{"join", wire.AppendPresence(nil, true, "room.1", "n1."+hex32, "ann", "n1", joined), wireproto.AppendPresence(nil, true, "room.1", "n1."+hex32, "ann", "n1", joined), frameJoin,
			func(f *frame) bool {
				return f.channel == "room.1" && f.member == Member{Channel: "room.1", ConnID: "n1." + hex32, User: "ann", Node: "n1", Joined: time.UnixMilli(joined)}
			}, 0},
		{"leave, anonymous", wire.AppendPresence(nil, false, "room.1", "n2."+hex32, "", "n2", joined), wireproto.AppendPresence(nil, false, "room.1", "n2."+hex32, "", "n2", joined), frameLeave,
			func(f *frame) bool {
				return f.member == Member{Channel: "room.1", ConnID: "n2." + hex32, Node: "n2", Joined: time.UnixMilli(joined)}
			}, 0},
		{"leave, no join time", wire.AppendPresence(nil, false, "room.1", "n2.x", "ü", "n2", 0), wireproto.AppendPresence(nil, false, "room.1", "n2.x", "ü", "n2", 0), frameLeave,
			func(f *frame) bool { return f.member.Joined.IsZero() && f.member.User == "ü" }, 0},
		{"ping", wire.Ping, wireproto.PingFrame, framePing, func(*frame) bool { return true }, 0},
		{"unknown", []byte(`{"type":"future","id":3}`), []byte{15<<3 | 2, 0}, frameUnknown, func(*frame) bool { return true }, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var j, p frame
			if err := (jsonCodec{}).decode(c.json, &j); err != nil {
				t.Fatalf("JSON %s: %v", c.json, err)
			}
			if err := (protoCodec{}).decode(c.proto, &p); err != nil {
				t.Fatalf("Protobuf %x: %v", c.proto, err)
			}
			if p.count != c.protoOnlyCnt {
				t.Errorf("Protobuf count %d, want %d", p.count, c.protoOnlyCnt)
			}
			p.count = 0
			if c.kind == frameUnknown {
				j.id = 0 // the unknown JSON frame's id is its own business
			}
			if !reflect.DeepEqual(j, p) {
				t.Fatalf("JSON decodes to %+v\nProtobuf to   %+v", j, p)
			}
			if j.kind != c.kind || !c.check(&j) {
				t.Fatalf("decoded %+v", j)
			}
		})
	}
}

// TestCodecBinaryData: data published as bytes that are not JSON reaches
// a JSON client as the $binary object and a Protobuf client as the bytes,
// in messages, in history and in pushes.
func TestCodecBinaryData(t *testing.T) {
	held := wire.PublishData([]byte{0xff, 0, 1}) // as the gateway holds it
	var j, p frame
	if err := (jsonCodec{}).decode(wire.AppendMessageAt(nil, "c", 2, 1, held), &j); err != nil {
		t.Fatal(err)
	}
	if err := (protoCodec{}).decode(wireproto.AppendMessage(nil, "c", 2, 1, held), &p); err != nil {
		t.Fatal(err)
	}
	if string(j.data) != `{"$binary":"/wAB"}` || string(p.data) != "\xff\x00\x01" {
		t.Fatalf("JSON %s, Protobuf %q", j.data, p.data)
	}
	entries := []wire.HistoryEntry{{Offset: 2, Prev: 1, Data: held}, {Offset: 3, Prev: 2, Data: wire.PublishData(nil)}}
	if err := (protoCodec{}).decode(wireproto.AppendHistory(nil, json.RawMessage("1"), "c", 3, "E", false, false, entries), &p); err != nil {
		t.Fatal(err)
	}
	if string(p.publications[0].Data) != "\xff\x00\x01" || p.publications[1].Data == nil || len(p.publications[1].Data) != 0 {
		t.Fatalf("history %+v", p.publications)
	}
	// A push of bytes that are not JSON (the control API takes JSON, but
	// a Protobuf client's send reaches the backend as $binary, which it
	// may echo): the same rule.
	if err := (jsonCodec{}).decode(wire.AppendPush(nil, held), &j); err != nil || string(j.data) != `{"$binary":"/wAB"}` {
		t.Fatalf("JSON push %s, %v", j.data, err)
	}
	if err := (protoCodec{}).decode(wireproto.AppendPush(nil, held), &p); err != nil || string(p.data) != "\xff\x00\x01" {
		t.Fatalf("Protobuf push %q, %v", p.data, err)
	}
	if err := (protoCodec{}).decode(wireproto.AppendPush(nil, wire.PublishData(nil)), &p); err != nil || p.data == nil || len(p.data) != 0 {
		t.Fatalf("empty push: %q (nil %v), %v", p.data, p.data == nil, err)
	}
	// Empty bytes published are empty data, not none.
	if err := (protoCodec{}).decode(wireproto.AppendMessage(nil, "c", 0, 0, wire.PublishData(nil)), &p); err != nil || p.data == nil || len(p.data) != 0 {
		t.Fatalf("empty data: %q (nil %v), %v", p.data, p.data == nil, err)
	}
}

// TestCodecUnreadable: frames that cannot be read are refused, not
// half-applied: JSON that is not an object, an id this client never
// sends, Protobuf that is not a ServerFrame.
func TestCodecUnreadable(t *testing.T) {
	var f frame
	for _, in := range []string{`[`, `{"type":"ack","id":"x"}`, `{"type":"ack","id":0}`, `{"type":"ack","id":-1}`} {
		if err := (jsonCodec{}).decode([]byte(in), &f); err == nil {
			t.Errorf("JSON %s read as %+v", in, f)
		}
	}
	if err := (jsonCodec{}).decode([]byte(`{"type":"ack","id":null}`), &f); err != nil || f.id != 0 || f.kind != frameAck {
		t.Errorf("id null: %+v, %v", f, err)
	}
	if err := (protoCodec{}).decode([]byte{0xff, 0xff}, &f); err == nil {
		t.Errorf("Protobuf garbage read as %+v", f)
	}
	if (jsonCodec{}).opcode() != ws.OpText || (protoCodec{}).opcode() != ws.OpBinary ||
		(jsonCodec{}).subprotocol() != "" || (protoCodec{}).subprotocol() != wireproto.Protocol {
		t.Error("opcodes or subprotocols")
	}
	if newCodec(FormatProtobuf) != (protoCodec{}) || newCodec(FormatJSON) != (jsonCodec{}) || newCodec(Format(9)) != (jsonCodec{}) {
		t.Error("newCodec")
	}
}
