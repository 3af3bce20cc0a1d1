package wire_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wire"
)

// The bytes of every frame the server sends, as docs/protocol.md shows them.
func TestFrameBytes(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"message", wire.AppendMessage(nil, "chat.room.42", []byte(`{"a":[1,2]}`)), `{"type":"message","channel":"chat.room.42","data":{"a":[1,2]}}`},
		{"message, data as published", wire.AppendMessage(nil, "a", []byte(`"x" `)), `{"type":"message","channel":"a","data":"x" }`},
		{"ack", wire.AppendAck(nil, []byte(`"abc"`)), `{"type":"ack","id":"abc"}`},
		{"error", wire.AppendError(nil, []byte(`7`), wire.ErrNotSubscribed.Code, wire.ErrNotSubscribed.Message), `{"type":"error","id":7,"code":"not_subscribed","message":"not subscribed to this channel"}`},
		{"error without id", wire.AppendError(nil, nil, wire.ErrNotJSON.Code, wire.ErrNotJSON.Message), `{"type":"error","code":"bad_json","message":"frame is not a JSON object"}`},
		{"error text escaped", wire.AppendError(nil, nil, wire.CodePublishFailed, "a \"b\"\n<c>"), `{"type":"error","code":"publish_failed","message":"a \"b\"\n\u003cc\u003e"}`},
		{"dropped", wire.AppendDroppedOn(nil, "news", 12, 0), `{"type":"error","code":"dropped","channel":"news","message":"12 messages dropped: the connection was not reading fast enough"}`},
		{"dropped with offset", wire.AppendDroppedOn(nil, "news", 3, 1187), `{"type":"error","code":"dropped","channel":"news","offset":1187,"message":"3 messages dropped: the connection was not reading fast enough"}`},
		{"unsubscribed", wire.AppendUnsubscribed(nil, "news", wire.UnsubscribedForbidden), `{"type":"unsubscribed","channel":"news","reason":"forbidden"}`},
		{"push", wire.AppendPush(nil, []byte(`{"a":1}`)), `{"type":"push","data":{"a":1}}`},
		{"join", wire.AppendPresence(nil, true, "room.1", "n1.00ff", "ann<", "n1", 1700000000000), `{"type":"join","channel":"room.1","conn":"n1.00ff","user":"ann\u003c","node":"n1","joined":1700000000000}`},
		{"leave", wire.AppendPresence(nil, false, "room.1", "n1.00ff", "", "n1", 5), `{"type":"leave","channel":"room.1","conn":"n1.00ff","user":"","node":"n1","joined":5}`},
		{"message at", wire.AppendMessageAt(nil, "news", 42, 41, []byte(`{"a":1}`)), `{"type":"message","channel":"news","offset":42,"prev":41,"data":{"a":1}}`},
		{"message at, largest offset", wire.AppendMessageAt(nil, "a", 1<<64-1, 0, []byte(`null`)), `{"type":"message","channel":"a","offset":18446744073709551615,"prev":0,"data":null}`},
		{"position", wire.AppendPosition(nil, []byte(`1`), "news", 42, "e1", &yes), `{"type":"ack","id":1,"channel":"news","offset":42,"epoch":"e1","recovered":true}`},
		{"position, not recovered", wire.AppendPosition(nil, []byte(`"s"`), "news", 42, "e1", &no), `{"type":"ack","id":"s","channel":"news","offset":42,"epoch":"e1","recovered":false}`},
		{"position without id or since", wire.AppendPosition(nil, nil, "news", 0, "e1", nil), `{"type":"ack","channel":"news","offset":0,"epoch":"e1"}`},
		{"history", wire.AppendHistory(nil, []byte(`3`), "news", 9, "e1", true, false, []wire.HistoryEntry{{Offset: 7, Prev: 5, Data: []byte(`"x"`)}, {Offset: 9, Prev: 7, Data: []byte(`[1]`)}}),
			`{"type":"history","id":3,"channel":"news","offset":9,"epoch":"e1","recovered":true,"more":false,"publications":[{"offset":7,"prev":5,"data":"x"},{"offset":9,"prev":7,"data":[1]}]}`},
		{"history, empty", wire.AppendHistory(nil, nil, "news", 0, "e1", false, true, nil), `{"type":"history","channel":"news","offset":0,"epoch":"e1","recovered":false,"more":true,"publications":[]}`},
		{"connected", wire.AppendConnected(nil, "c-1", "node-a", "1.2.0", 25000), `{"type":"connected","client":"c-1","node":"node-a","version":"1.2.0","ping_interval_ms":25000}`},
		{"connected, strings escaped", wire.AppendConnected(nil, "a\"b\\", "<n>&\n", "v\u2028\xff", -1), `{"type":"connected","client":"a\"b\\","node":"\u003cn\u003e\u0026\n","version":"v\u2028\ufffd","ping_interval_ms":-1}`},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
		if !json.Valid(tc.got) {
			t.Errorf("%s: %s is not valid JSON", tc.name, tc.got)
		}
	}
}

// The Append functions append: what dst held stays in front.
func TestFramesAppend(t *testing.T) {
	for name, got := range map[string][]byte{
		"message":      wire.AppendMessage([]byte("x"), "a", []byte("1")),
		"ack":          wire.AppendAck([]byte("x"), []byte("1")),
		"error":        wire.AppendError([]byte("x"), nil, wire.CodeBadJSON, "m"),
		"dropped":      wire.AppendDroppedOn([]byte("x"), "c", 1, 2),
		"unsubscribed": wire.AppendUnsubscribed([]byte("x"), "a", wire.UnsubscribedForbidden),
		"message at":   wire.AppendMessageAt([]byte("x"), "a", 2, 1, []byte("1")),
		"position":     wire.AppendPosition([]byte("x"), []byte("1"), "a", 1, "e", nil),
		"history":      wire.AppendHistory([]byte("x"), nil, "a", 1, "e", true, true, []wire.HistoryEntry{{1, 0, []byte("1")}}),
		"connected":    wire.AppendConnected([]byte("x"), "c", "n", "v", 1),
	} {
		if got[0] != 'x' || !json.Valid(got[1:]) {
			t.Errorf("%s: %q", name, got)
		}
	}
}

// A publication decodes to the channel and data it was built from, for
// every kind of JSON value.
func TestMessageRoundTrip(t *testing.T) {
	for _, data := range []string{`1`, `-2.5e3`, `"s"`, `null`, `true`, `[]`, `{"a":{"b":[1,"2",null]}}`, `"\u00e9\"\\"`} {
		var got struct {
			Type, Channel string
			Data          json.RawMessage
		}
		frame := wire.AppendMessage(nil, "user:1@eu.x", []byte(data))
		if err := json.Unmarshal(frame, &got); err != nil {
			t.Fatalf("%s: %v", frame, err)
		}
		if got.Type != "message" || got.Channel != "user:1@eu.x" || string(got.Data) != data {
			t.Errorf("%s decoded as %+v", frame, got)
		}
	}
}

// The publication and the ack, built into caller memory, allocate nothing:
// the gateway builds one per publication and one per command with an id;
// nor do the history frames and the greeting.
func TestFramesIntoCallerMemoryAllocateNothing(t *testing.T) {
	buf := make([]byte, 0, 512)
	data, id := []byte(`{"price":101.5}`), json.RawMessage(`"order-7"`)
	recovered := true
	entries := []wire.HistoryEntry{{Offset: 1, Data: data}, {Offset: 2, Prev: 1, Data: data}}
	for name, build := range map[string]func(){
		"message":    func() { buf = wire.AppendMessage(buf[:0], "ticker.ACME", data) },
		"ack":        func() { buf = wire.AppendAck(buf[:0], id) },
		"dropped":    func() { buf = wire.AppendDroppedOn(buf[:0], "news", 1<<40, 1<<50) },
		"message at": func() { buf = wire.AppendMessageAt(buf[:0], "ticker.ACME", 1<<40, 1<<40-1, data) },
		"position":   func() { buf = wire.AppendPosition(buf[:0], id, "ticker.ACME", 1<<40, "epoch-1", &recovered) },
		"history":    func() { buf = wire.AppendHistory(buf[:0], id, "ticker.ACME", 1<<40, "epoch-1", true, false, entries) },
		"connected":  func() { buf = wire.AppendConnected(buf[:0], "client-\"7\"", "node<1>", "1.0.0\u2028", 25000) },
	} {
		if allocs := testing.AllocsPerRun(100, build); allocs != 0 {
			t.Errorf("%s: %.1f allocations, want 0", name, allocs)
		}
	}
}

// Every fixed-text error has a documented code and a text.
func TestErrorTable(t *testing.T) {
	codes := map[string]bool{
		wire.CodeBadJSON: true, wire.CodeBadRequest: true, wire.CodeUnknownType: true, wire.CodeBadChannel: true,
		wire.CodeTooLarge: true, wire.CodeTooManySubscriptions: true, wire.CodeTooManyChannels: true,
		wire.CodeNotSubscribed: true, wire.CodeUnsupported: true, wire.CodePublishFailed: true,
		wire.CodeForbidden: true, wire.CodeRateLimited: true, wire.CodeUnauthorized: true, wire.CodeDropped: true,
		wire.CodeBadSince: true, wire.CodeBadKey: true, wire.CodeBadLimit: true, wire.CodeNoHistory: true,
		wire.CodeHistoryUnavailable: true,
	}
	for _, e := range []*wire.Error{
		wire.ErrNotJSON, wire.ErrBadID, wire.ErrPublishWithoutData, wire.ErrRefreshWithoutToken,
		wire.ErrUnknownType, wire.ErrBadChannel, wire.ErrDataTooLarge, wire.ErrBinaryFrame,
		wire.ErrTooManySubscriptions, wire.ErrTooManyChannels, wire.ErrNotSubscribed,
		wire.ErrSubscribeForbidden, wire.ErrPublishForbidden, wire.ErrRateLimited,
		wire.ErrAuthNotConfigured, wire.ErrAnonymousRefresh, wire.ErrOtherSubject,
		wire.ErrBadSince, wire.ErrBadKey, wire.ErrBadLimit, wire.ErrNoHistory, wire.ErrHistoryUnavailable,
	} {
		if !codes[e.Code] || e.Message == "" {
			t.Errorf("%v: undocumented code or no text", e)
		}
		if e.Error() != "wire: "+e.Code+": "+e.Message {
			t.Errorf("Error() = %q", e.Error())
		}
	}
}

// The history frames decode to the values they were built from, at the
// edges of every number and for every kind of data.
func TestHistoryFramesRoundTrip(t *testing.T) {
	type decoded struct {
		Type, Channel, Epoch string
		ID                   json.RawMessage
		Offset, Prev         uint64
		Data                 json.RawMessage
		Recovered, More      *bool
		Publications         []struct {
			Offset, Prev uint64
			Data         json.RawMessage
		}
	}
	var frame decoded
	decode := func(b []byte) {
		t.Helper()
		frame = decoded{}
		if !json.Valid(b) {
			t.Fatalf("%s is not valid JSON", b)
		}
		if err := json.Unmarshal(b, &frame); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	epoch := strings.Repeat("Zz09._:-", wire.MaxEpochBytes/8)
	for _, n := range []uint64{0, 1, 1<<53 + 1, 1<<64 - 1} {
		for _, data := range []string{`1`, `"\u00e9\"\\"`, `null`, `{"a":[true,{}]}`} {
			decode(wire.AppendMessageAt(nil, "user:1@eu.x", n, n/2, []byte(data)))
			if frame.Type != "message" || frame.Channel != "user:1@eu.x" || frame.Offset != n || frame.Prev != n/2 || string(frame.Data) != data {
				t.Errorf("message at %d %s decoded as %+v", n, data, frame)
			}

			for _, recovered := range []*bool{nil, new(true), new(false)} {
				for _, id := range []json.RawMessage{nil, []byte(`-1.5e3`), []byte(`"` + strings.Repeat("x", wire.MaxIDBytes) + `"`)} {
					b := wire.AppendPosition(nil, id, "a.b", n, epoch, recovered)
					decode(b)
					if frame.Type != "ack" || string(frame.ID) != string(id) || frame.Channel != "a.b" || frame.Offset != n || frame.Epoch != epoch ||
						(frame.Recovered == nil) != (recovered == nil) || recovered != nil && *frame.Recovered != *recovered {
						t.Errorf("%s decoded as %+v", b, frame)
					}
				}
			}

			entries := []wire.HistoryEntry{{Offset: n, Prev: n / 2, Data: []byte(data)}, {Offset: 3, Prev: 0, Data: []byte(data)}}
			for _, flags := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				b := wire.AppendHistory(nil, []byte(`7`), "a", n, epoch, flags[0], flags[1], entries)
				decode(b)
				if frame.Type != "history" || string(frame.ID) != "7" || frame.Channel != "a" || frame.Offset != n || frame.Epoch != epoch ||
					frame.Recovered == nil || *frame.Recovered != flags[0] || frame.More == nil || *frame.More != flags[1] || len(frame.Publications) != len(entries) {
					t.Fatalf("%s decoded as %+v", b, frame)
				}
				for i, e := range entries {
					if got := frame.Publications[i]; got.Offset != e.Offset || got.Prev != e.Prev || string(got.Data) != string(e.Data) {
						t.Errorf("%s: publication %d decoded as %+v", b, i, got)
					}
				}
			}
		}
	}
}

// The greeting's strings come from tokens and configuration: whatever they
// hold, the frame is valid JSON written as encoding/json writes it.
func TestConnectedEscapesAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "node-1", "a\"b\\c", "\x00\x01\x1f\x7f", "\b\f\n\r\t", "<script>&amp;", "é日本\U0001F600",
		"\u2028\u2029", "\xff", "a\xc3", "\xed\xa0\x80", "\xf0\x9f\x98"} {
		checkConnected(t, s)
	}
}

func checkConnected(t *testing.T, s string) {
	t.Helper()
	frame := wire.AppendConnected(nil, s, s, s, -1<<63)
	want := struct {
		Type           string `json:"type"`
		Client         string `json:"client"`
		Node           string `json:"node"`
		Version        string `json:"version"`
		PingIntervalMS int64  `json:"ping_interval_ms"`
	}{"connected", s, s, s, -1 << 63}
	if b, _ := json.Marshal(want); string(frame) != string(b) {
		t.Fatalf("AppendConnected(%q):\n got %s\nwant %s", s, frame, b)
	}
	if !json.Valid(frame) {
		t.Fatalf("%s is not valid JSON", frame)
	}
}

// FuzzConnected holds AppendConnected's escaping to encoding/json's on any
// string, valid UTF-8 or not.
func FuzzConnected(f *testing.F) {
	for _, s := range []string{"", "c-1", "a\"b\\", "<&>", "\x00\x1f\x7f", "\u2028", "\xff\xfe", "é\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkConnected(t, s) })
}

func TestDrainingReason(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "draining; retry-after-ms=0",
		1234 * time.Millisecond: "draining; retry-after-ms=1234",
		time.Millisecond - 1:    "draining; retry-after-ms=0",
		30 * time.Second:        "draining; retry-after-ms=30000",
	} {
		if got := wire.DrainingReason(d); got != want {
			t.Errorf("DrainingReason(%v) = %q, want %q", d, got, want)
		}
	}
}

// Close reasons fit a control frame: RFC 6455 §5.5 "All control frames
// MUST have a payload length of 125 bytes or less", two of them the code.
func TestCloseReasonsFitAControlFrame(t *testing.T) {
	for _, reason := range []string{
		wire.ReasonIdleTimeout, wire.ReasonShuttingDown, wire.ReasonSlowConsumer, wire.ReasonTooManyErrors,
		wire.ReasonRateLimited, wire.ReasonPongTimeout, wire.ReasonTokenExpired, wire.ReasonTooManyPartial,
		wire.DrainingReason(time.Duration(1<<63 - 1)),
	} {
		if len(reason) > 123 {
			t.Errorf("%q: %d bytes", reason, len(reason))
		}
	}
}
