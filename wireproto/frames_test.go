package wireproto_test

import (
	"bytes"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
)

func decode(t testing.TB, b []byte) *wireproto.ServerFrame {
	t.Helper()
	var f wireproto.ServerFrame
	if err := proto.Unmarshal(b, &f); err != nil {
		t.Fatalf("%x: %v", b, err)
	}
	return &f
}

// messageCases are the publications of the message tests and benchmarks.
var messageCases = []struct {
	name         string
	channel      string
	offset, prev uint64
	data         []byte // as the gateway holds it
	want         []byte // Message.data
}{
	{"JSON", "news", 0, 0, []byte(`{"a":[1,2]}`), []byte(`{"a":[1,2]}`)},
	{"JSON with history", "chat.room.42", 42, 41, []byte(`"x"`), []byte(`"x"`)},
	{"largest offset", "a", 1<<64 - 1, 0, []byte(`null`), []byte(`null`)},
	{"binary", "b", 7, 6, wire.AppendBinary(nil, []byte{0, 1, 0xff}), []byte{0, 1, 0xff}},
	{"empty binary", "b", 0, 0, wire.AppendBinary(nil, nil), nil},
	{"binary, one byte", "b", 1, 0, wire.AppendBinary(nil, []byte{9}), []byte{9}},
	{"large", "big", 3, 2, bytes.Repeat([]byte(`1`), 70000), bytes.Repeat([]byte(`1`), 70000)},
	{"large binary", "big", 0, 0, wire.AppendBinary(nil, bytes.Repeat([]byte{0xfe}, 70000)), bytes.Repeat([]byte{0xfe}, 70000)},
}

// The hand-written AppendMessage writes exactly what proto.Marshal writes
// for the generated types (differential), and decodes to the publication.
func TestAppendMessageMatchesMarshal(t *testing.T) {
	for _, tc := range messageCases {
		got := wireproto.AppendMessage([]byte("prefix"), tc.channel, tc.offset, tc.prev, tc.data)
		if string(got[:6]) != "prefix" {
			t.Fatalf("%s: dst's bytes changed", tc.name)
		}
		got = got[6:]
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&wireproto.ServerFrame{Frame: &wireproto.ServerFrame_Message{
			Message: &wireproto.Message{Channel: tc.channel, Data: tc.want, Offset: tc.offset, Prev: tc.prev}}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: AppendMessage %x\nproto.Marshal %x", tc.name, got, want)
		}
		m := decode(t, got).GetMessage()
		if m.GetChannel() != tc.channel || m.GetOffset() != tc.offset || m.GetPrev() != tc.prev || !bytes.Equal(m.GetData(), tc.want) {
			t.Errorf("%s: decodes to %v", tc.name, m)
		}
	}
}

// The message frame is built once per publication: with room in dst it
// allocates nothing, binary data included.
func TestAppendMessageAllocs(t *testing.T) {
	dst := make([]byte, 0, 1<<18)
	for _, tc := range messageCases {
		if n := testing.AllocsPerRun(100, func() {
			_ = wireproto.AppendMessage(dst, tc.channel, tc.offset, tc.prev, tc.data)
		}); n != 0 {
			t.Errorf("%s: %.1f allocations per message", tc.name, n)
		}
	}
}

// Every reply decodes to what its JSON twin says.
func TestReplies(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name string
		got  []byte
		want *wireproto.ServerFrame
	}{
		{"ack", wireproto.AppendAck(nil, []byte(`17`)), &wireproto.ServerFrame{Frame: &wireproto.ServerFrame_Ack{Ack: &wireproto.Ack{Id: 17}}}},
		{"position", wireproto.AppendPosition(nil, []byte(`1`), "news", 42, "E", &yes),
			&wireproto.ServerFrame{Frame: &wireproto.ServerFrame_Ack{Ack: &wireproto.Ack{Id: 1, Channel: "news", Offset: 42, Epoch: "E", Recovered: &yes}}}},
		{"position without since", wireproto.AppendPosition(nil, nil, "news", 0, "E", nil),
			&wireproto.ServerFrame{Frame: &wireproto.ServerFrame_Ack{Ack: &wireproto.Ack{Channel: "news", Epoch: "E"}}}},
		{"error", wireproto.AppendError(nil, []byte(`3`), wire.ErrNotSubscribed.Code, wire.ErrNotSubscribed.Message),
			&wireproto.ServerFrame{Frame: &wireproto.ServerFrame_Error{Error: &wireproto.Error{Id: 3, Code: "not_subscribed", Message: wire.ErrNotSubscribed.Message}}}},
		{"error, text not UTF-8", wireproto.AppendError(nil, nil, wire.CodePublishFailed, "a\xffb"),
			&wireproto.ServerFrame{Frame: &wireproto.ServerFrame_Error{Error: &wireproto.Error{Code: "publish_failed", Message: "a\uFFFDb"}}}},
		{"dropped", wireproto.AppendDroppedOn(nil, "news", 3, 1187),
			&wireproto.ServerFrame{Frame: &wireproto.ServerFrame_Dropped{Dropped: &wireproto.Dropped{Channel: "news", Count: 3, Offset: 1187}}}},
		{"unsubscribed", wireproto.AppendUnsubscribed(nil, "news", wire.UnsubscribedForbidden),
			&wireproto.ServerFrame{Frame: &wireproto.ServerFrame_Unsubscribed{Unsubscribed: &wireproto.Unsubscribed{Channel: "news", Reason: "forbidden"}}}},
		{"history", wireproto.AppendHistory(nil, []byte(`5`), "news", 9, "E", true, false, []wire.HistoryEntry{
			{Offset: 7, Prev: 5, Data: []byte(`"x"`)}, {Offset: 9, Prev: 7, Data: wire.AppendBinary(nil, []byte{0})}}),
			&wireproto.ServerFrame{Frame: &wireproto.ServerFrame_History{History: &wireproto.HistoryReply{Id: 5, Channel: "news", Offset: 9, Epoch: "E", Recovered: true,
				Publications: []*wireproto.Publication{{Offset: 7, Prev: 5, Data: []byte(`"x"`)}, {Offset: 9, Prev: 7, Data: []byte{0}}}}}}},
		{"connected", wireproto.AppendConnected(nil, "n1.0.1", "n1", "v\xff", 25000),
			&wireproto.ServerFrame{Frame: &wireproto.ServerFrame_Connected{Connected: &wireproto.Connected{Client: "n1.0.1", Node: "n1", Version: "v\uFFFD", PingIntervalMs: 25000}}}},
		{"ping", wireproto.PingFrame, &wireproto.ServerFrame{Frame: &wireproto.ServerFrame_Ping{Ping: &wireproto.Ping{}}}},
	} {
		if got := decode(t, tc.got); !proto.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// BenchmarkEncodePublication compares the frames a publication costs in
// each format: the JSON body (wire.AppendMessageAt) and the Protobuf one
// (AppendMessage), each built once per publication however many
// subscribers get it; bytes/msg is the frame body's size.
func BenchmarkEncodePublication(b *testing.B) {
	for _, size := range []int{16, 256, 4096} {
		jsonData := append(append([]byte(`{"v":"`), bytes.Repeat([]byte("x"), size-8)...), `"}`...)
		binData := wire.PublishData(bytes.Repeat([]byte{0xfe}, size))
		for _, tc := range []struct {
			name   string
			encode func(dst []byte) []byte
		}{
			{"json", func(dst []byte) []byte { return wire.AppendMessageAt(dst, "chat.room.42", 123456, 123455, jsonData) }},
			{"proto-json-data", func(dst []byte) []byte { return wireproto.AppendMessage(dst, "chat.room.42", 123456, 123455, jsonData) }},
			{"json-binary-data", func(dst []byte) []byte { return wire.AppendMessageAt(dst, "chat.room.42", 123456, 123455, binData) }},
			{"proto-binary-data", func(dst []byte) []byte { return wireproto.AppendMessage(dst, "chat.room.42", 123456, 123455, binData) }},
		} {
			b.Run(tc.name+"/"+strconv.Itoa(size), func(b *testing.B) {
				dst := make([]byte, 0, 2*size+256)
				n := len(tc.encode(dst))
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					dst = tc.encode(dst[:0])
				}
				b.ReportMetric(float64(n), "bytes/msg")
			})
		}
	}
}

// A push carries the backend's data as a message does; a presence frame
// names the member and its channel; a send parses to wire.Send.
func TestPushPresenceAndSend(t *testing.T) {
	if got := decode(t, wireproto.AppendPush(nil, []byte(`{"a":1}`))).GetPush().GetData(); string(got) != `{"a":1}` {
		t.Errorf("push data %q", got)
	}
	p := decode(t, wireproto.AppendPresence(nil, false, "room", "n.ff", "ann", "n", 12)).GetPresence()
	if p.GetChannel() != "room" || p.GetJoin() || p.GetConn() != "n.ff" || p.GetUser() != "ann" || p.GetNode() != "n" || p.GetJoinedMs() != 12 {
		t.Errorf("presence %v", p)
	}
	b, _ := proto.Marshal(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Send{Send: &wireproto.Send{Data: []byte(`[1]`), Id: 4}}})
	cmd, err := wireproto.ParseCommand(b, 10)
	if err != nil || cmd.Kind != wire.Send || string(cmd.Data) != `[1]` || string(cmd.ID) != "4" {
		t.Errorf("send: %+v, %v", cmd, err)
	}
	if _, err := wireproto.ParseCommand(b, 2); err != wire.ErrDataTooLarge {
		t.Errorf("send over the limit: %v", err)
	}
	b, _ = proto.Marshal(&wireproto.ClientFrame{Command: &wireproto.ClientFrame_Subscribe{Subscribe: &wireproto.Subscribe{Channel: "room", Presence: true}}})
	if cmd, err := wireproto.ParseCommand(b, 10); err != nil || !cmd.Presence {
		t.Errorf("subscribe with presence: %+v, %v", cmd, err)
	}
}
