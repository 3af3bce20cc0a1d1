package wireproto_test

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
)

func marshal(t testing.TB, f *wireproto.ClientFrame) []byte {
	t.Helper()
	b, err := proto.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func subscribe(s *wireproto.Subscribe) *wireproto.ClientFrame {
	return &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Subscribe{Subscribe: s}}
}

func publish(p *wireproto.Publish) *wireproto.ClientFrame {
	return &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Publish{Publish: p}}
}

func history(h *wireproto.History) *wireproto.ClientFrame {
	return &wireproto.ClientFrame{Command: &wireproto.ClientFrame_History{History: h}}
}

// Each ClientFrame becomes the Command its JSON twin does.
func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *wireproto.ClientFrame
		json string // the JSON command that must parse to the same Command
	}{
		{"subscribe", subscribe(&wireproto.Subscribe{Channel: "news", Id: 1}), `{"type":"subscribe","channel":"news","id":1}`},
		{"subscribe without id", subscribe(&wireproto.Subscribe{Channel: "news"}), `{"type":"subscribe","channel":"news"}`},
		{"subscribe since", subscribe(&wireproto.Subscribe{Channel: "news", Id: 7, Since: &wireproto.Since{Offset: 41, Epoch: "E"}}),
			`{"type":"subscribe","channel":"news","since":{"offset":41,"epoch":"E"},"id":7}`},
		{"subscribe since offset 0", subscribe(&wireproto.Subscribe{Channel: "news", Since: &wireproto.Since{Epoch: "E"}}),
			`{"type":"subscribe","channel":"news","since":{"offset":0,"epoch":"E"}}`},
		{"unsubscribe", &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Unsubscribe{Unsubscribe: &wireproto.Unsubscribe{Channel: "a.b", Id: 1<<64 - 1}}},
			`{"type":"unsubscribe","channel":"a.b","id":18446744073709551615}`},
		{"publish JSON", publish(&wireproto.Publish{Channel: "news", Data: []byte(`{"a":1}`), Id: 3}), `{"type":"publish","channel":"news","data":{"a":1},"id":3}`},
		{"publish bytes", publish(&wireproto.Publish{Channel: "news", Data: []byte{0xff, 0}, IdempotencyKey: "k-1"}),
			`{"type":"publish","channel":"news","data":{"$binary":"/wA="},"idempotency_key":"k-1"}`},
		{"publish nothing", publish(&wireproto.Publish{Channel: "news"}), `{"type":"publish","channel":"news","data":{"$binary":""}}`},
		{"history", history(&wireproto.History{Channel: "news", Id: 5, Limit: 10, Since: &wireproto.Since{Offset: 1, Epoch: "e.1"}}),
			`{"type":"history","channel":"news","since":{"offset":1,"epoch":"e.1"},"limit":10,"id":5}`},
		{"history, default limit", history(&wireproto.History{Channel: "news"}), `{"type":"history","channel":"news"}`},
		{"history, limit lowered", history(&wireproto.History{Channel: "news", Limit: 5000}), `{"type":"history","channel":"news","limit":5000}`},
		{"refresh", &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Refresh{Refresh: &wireproto.Refresh{Token: "a.b.c", Id: 4}}}, `{"type":"refresh","token":"a.b.c","id":4}`},
		{"pong", &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Pong{Pong: &wireproto.Pong{}}}, `{"type":"pong"}`},
	} {
		got, perr := wireproto.ParseCommand(marshal(t, tc.in), 64)
		want, werr := wire.ParseCommand([]byte(tc.json), 64)
		if perr != nil || werr != nil {
			t.Errorf("%s: errors %v, %v", tc.name, perr, werr)
			continue
		}
		if !sameCommand(got, want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, want)
		}
	}
}

func sameCommand(a, b wire.Command) bool {
	if (a.Since == nil) != (b.Since == nil) || a.Since != nil && *a.Since != *b.Since {
		return false
	}
	return a.Kind == b.Kind && a.Channel == b.Channel && string(a.Data) == string(b.Data) && string(a.ID) == string(b.ID) &&
		a.Token == b.Token && a.Limit == b.Limit && a.Key == b.Key
}

// Refusals repeat the id and use the JSON protocol's codes.
func TestParseCommandRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    *wire.Error
		id      string
	}{
		{"not protobuf", []byte{0xff, 0xff}, wireproto.ErrNotClientFrame, ""},
		{"JSON text", []byte(`{"type":"subscribe","channel":"news"}`), wireproto.ErrNotClientFrame, ""},
		{"empty frame", nil, wireproto.ErrNoCommand, ""},
		{"unknown command", []byte{9<<3 | 2, 0}, wireproto.ErrNoCommand, ""},
		{"bad channel", marshal(t, subscribe(&wireproto.Subscribe{Channel: "a..b", Id: 2})), wire.ErrBadChannel, "2"},
		{"no channel", marshal(t, publish(&wireproto.Publish{Data: []byte("1"), Id: 3})), wire.ErrBadChannel, "3"},
		{"too large", marshal(t, publish(&wireproto.Publish{Channel: "a", Data: make([]byte, 65), Id: 3})), wire.ErrDataTooLarge, "3"},
		{"bad key", marshal(t, publish(&wireproto.Publish{Channel: "a", Data: []byte("1"), IdempotencyKey: "a b"})), wire.ErrBadKey, ""},
		{"since without epoch", marshal(t, subscribe(&wireproto.Subscribe{Channel: "a", Since: &wireproto.Since{Offset: 1}, Id: 9})), wire.ErrBadSince, "9"},
		{"since, bad epoch", marshal(t, history(&wireproto.History{Channel: "a", Since: &wireproto.Since{Epoch: strings.Repeat("e", 65)}})), wire.ErrBadSince, ""},
		{"refresh without token", marshal(t, &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Refresh{Refresh: &wireproto.Refresh{Id: 1}}}), wire.ErrRefreshWithoutToken, "1"},
		// A string field that is not UTF-8 is not a valid proto3 message.
		{"channel not UTF-8", []byte{1<<3 | 2, 3, 1<<3 | 2, 1, 0xff}, wireproto.ErrNotClientFrame, ""},
		// Two commands in one frame: Unmarshal would build both (a frame
		// full of them cost five times the slowest JSON), an encoder
		// writes one.
		{"two commands", concat(marshal(t, subscribe(&wireproto.Subscribe{Channel: "a", Id: 2})), marshal(t, &wireproto.ClientFrame{Command: &wireproto.ClientFrame_Pong{Pong: &wireproto.Pong{}}})), wireproto.ErrNotClientFrame, ""},
		{"the same command twice", bytes.Repeat([]byte{6<<3 | 2, 0}, 2), wireproto.ErrNotClientFrame, ""},
	} {
		cmd, err := wireproto.ParseCommand(tc.payload, 64)
		if err != tc.want {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
		if string(cmd.ID) != tc.id || cmd.Kind != 0 || cmd.Channel != "" || cmd.Data != nil {
			t.Errorf("%s: refused command %+v, want only id %q", tc.name, cmd, tc.id)
		}
	}
}

// ParseCommand does not keep the payload: the gateway reuses its buffer.
func TestParseCommandCopies(t *testing.T) {
	payload := marshal(t, publish(&wireproto.Publish{Channel: "news", Data: []byte(`"abc"`), IdempotencyKey: "k"}))
	cmd, err := wireproto.ParseCommand(payload, 64)
	if err != nil {
		t.Fatal(err)
	}
	clear(payload)
	if cmd.Channel != "news" || string(cmd.Data) != `"abc"` || cmd.Key != "k" {
		t.Fatalf("command changed with its payload: %+v", cmd)
	}
}

// A command with fields this version does not know beside it still
// parses: only a second command is refused.
func TestParseCommandAllowsOtherFields(t *testing.T) {
	payload := concat(marshal(t, subscribe(&wireproto.Subscribe{Channel: "a", Id: 2})), []byte{15<<3 | 2, 1, 'x'})
	if cmd, err := wireproto.ParseCommand(payload, 64); err != nil || cmd.Kind != wire.Subscribe || cmd.Channel != "a" {
		t.Fatalf("got %+v, %v, want the subscribe", cmd, err)
	}
}

// Every field of ClientFrame.command has a number the mask can hold.
func TestCommandFieldsFitTheMask(t *testing.T) {
	fields := (&wireproto.ClientFrame{}).ProtoReflect().Descriptor().Oneofs().ByName("command").Fields()
	for i := range fields.Len() {
		if n := fields.Get(i).Number(); n >= 64 {
			t.Errorf("command field %s is number %d", fields.Get(i).Name(), n)
		}
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
