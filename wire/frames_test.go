package wire_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wsgate/wsgate/wire"
)

// The bytes of every frame the server sends, as docs/protocol.md shows them.
func TestFrameBytes(t *testing.T) {
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
		{"dropped", wire.AppendDropped(nil, 12), `{"type":"error","code":"dropped","message":"12 messages dropped: the connection was not reading fast enough"}`},
		{"unsubscribed", wire.AppendUnsubscribed(nil, "news", wire.UnsubscribedForbidden), `{"type":"unsubscribed","channel":"news","reason":"forbidden"}`},
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
		"dropped":      wire.AppendDropped([]byte("x"), 1),
		"unsubscribed": wire.AppendUnsubscribed([]byte("x"), "a", wire.UnsubscribedForbidden),
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
// the gateway builds one per publication and one per command with an id.
func TestFramesIntoCallerMemoryAllocateNothing(t *testing.T) {
	buf := make([]byte, 0, 512)
	data, id := []byte(`{"price":101.5}`), json.RawMessage(`"order-7"`)
	for name, build := range map[string]func(){
		"message": func() { buf = wire.AppendMessage(buf[:0], "ticker.ACME", data) },
		"ack":     func() { buf = wire.AppendAck(buf[:0], id) },
		"dropped": func() { buf = wire.AppendDropped(buf[:0], 1<<40) },
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
	}
	for _, e := range []*wire.Error{
		wire.ErrNotJSON, wire.ErrBadID, wire.ErrPublishWithoutData, wire.ErrRefreshWithoutToken,
		wire.ErrUnknownType, wire.ErrBadChannel, wire.ErrDataTooLarge, wire.ErrBinaryFrame,
		wire.ErrTooManySubscriptions, wire.ErrTooManyChannels, wire.ErrNotSubscribed,
		wire.ErrSubscribeForbidden, wire.ErrPublishForbidden, wire.ErrRateLimited,
		wire.ErrAuthNotConfigured, wire.ErrAnonymousRefresh, wire.ErrOtherSubject,
	} {
		if !codes[e.Code] || e.Message == "" {
			t.Errorf("%v: undocumented code or no text", e)
		}
		if e.Error() != "wire: "+e.Code+": "+e.Message {
			t.Errorf("Error() = %q", e.Error())
		}
	}
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
		wire.ReasonRateLimited, wire.ReasonPongTimeout, wire.ReasonTokenExpired,
		wire.DrainingReason(time.Duration(1<<63 - 1)),
	} {
		if len(reason) > 123 {
			t.Errorf("%q: %d bytes", reason, len(reason))
		}
	}
}
