package wire_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/wire"
)

// Every outcome of ParseCommand, one row per rule: the kind, or the
// refusal and the id it repeats.
func TestParseCommand(t *testing.T) {
	const maxData = 16
	for _, tc := range []struct {
		name, frame string
		want        wire.Command
		err         *wire.Error
	}{
		{"subscribe", `{"type":"subscribe","channel":"news","id":1}`, wire.Command{Kind: wire.Subscribe, Channel: "news", ID: []byte("1")}, nil},
		{"unsubscribe without id", `{"type":"unsubscribe","channel":"a.b"}`, wire.Command{Kind: wire.Unsubscribe, Channel: "a.b"}, nil},
		{"publish", `{"type":"publish","channel":"a","data":{"x":1},"id":"p"}`, wire.Command{Kind: wire.Publish, Channel: "a", Data: []byte(`{"x":1}`), ID: []byte(`"p"`)}, nil},
		{"publish at the data bound", `{"type":"publish","channel":"a","data":"` + strings.Repeat("x", maxData-2) + `"}`, wire.Command{Kind: wire.Publish, Channel: "a", Data: []byte(`"` + strings.Repeat("x", maxData-2) + `"`)}, nil},
		{"refresh", `{"type":"refresh","token":"t","channel":"ignored","data":1,"id":2}`, wire.Command{Kind: wire.Refresh, Token: "t", ID: []byte("2")}, nil},
		{"subscribe drops data and token", `{"type":"subscribe","channel":"a","data":1,"token":"t"}`, wire.Command{Kind: wire.Subscribe, Channel: "a"}, nil},
		{"null id", `{"type":"subscribe","channel":"a","id":null}`, wire.Command{Kind: wire.Subscribe, Channel: "a", ID: []byte("null")}, nil},

		{"not JSON", `hello`, wire.Command{}, wire.ErrNotJSON},
		{"empty", ``, wire.Command{}, wire.ErrNotJSON},
		{"array", `[1]`, wire.Command{}, wire.ErrNotJSON},
		{"truncated", `{"type":"subscribe"`, wire.Command{}, wire.ErrNotJSON},
		{"field of the wrong type", `{"type":1}`, wire.Command{}, wire.ErrNotJSON},
		{"id object", `{"type":"subscribe","channel":"a","id":{}}`, wire.Command{}, wire.ErrBadID},
		{"unknown type", `{"type":"shout","id":1}`, wire.Command{ID: []byte("1")}, wire.ErrUnknownType},
		{"missing type", `{"channel":"a","id":2}`, wire.Command{ID: []byte("2")}, wire.ErrUnknownType},
		{"bad channel", `{"type":"subscribe","channel":"a.*","id":3}`, wire.Command{ID: []byte("3")}, wire.ErrBadChannel},
		{"missing channel", `{"type":"unsubscribe","id":4}`, wire.Command{ID: []byte("4")}, wire.ErrBadChannel},
		{"publish without data", `{"type":"publish","channel":"a","id":5}`, wire.Command{ID: []byte("5")}, wire.ErrPublishWithoutData},
		{"data over the bound", `{"type":"publish","channel":"a","data":"` + strings.Repeat("x", maxData-1) + `","id":6}`, wire.Command{ID: []byte("6")}, wire.ErrDataTooLarge},
		{"refresh without token", `{"type":"refresh","id":7}`, wire.Command{ID: []byte("7")}, wire.ErrRefreshWithoutToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := wire.ParseCommand([]byte(tc.frame), maxData)
			if err != tc.err {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if cmd.Kind != tc.want.Kind || cmd.Channel != tc.want.Channel || string(cmd.Data) != string(tc.want.Data) ||
				string(cmd.ID) != string(tc.want.ID) || cmd.Token != tc.want.Token {
				t.Fatalf("got %+v, want %+v", cmd, tc.want)
			}
		})
	}
}

// An id is repeated in the reply, so its size is bounded (the ack-spam
// finding sent 2.5 KB ids); a refused id is not repeated.
func TestCommandIDBounded(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{`1`, true},
		{`-1.5e3`, true},
		{`"` + strings.Repeat("x", wire.MaxIDBytes) + `"`, true},
		{`"` + strings.Repeat("x", wire.MaxIDBytes+1) + `"`, false},
		{strings.Repeat("9", wire.MaxIDBytes), true},
		{strings.Repeat("9", wire.MaxIDBytes+1), false},
		{`"` + strings.Repeat("x", 2500) + `"`, false}, // the finding's 2.5 KB id
		{`{}`, false},
		{`[1]`, false},
		{`true`, false},
	} {
		cmd, perr := wire.ParseCommand([]byte(`{"type":"subscribe","channel":"a","id":`+tc.id+`}`), 1024)
		if ok := perr == nil; ok != tc.ok {
			t.Errorf("id %.20s (%d bytes): accepted %v, want %v", tc.id, len(tc.id), ok, tc.ok)
			continue
		}
		if perr != nil && (perr != wire.ErrBadID || cmd.ID != nil) {
			t.Errorf("id %.20s: refused with %v, id %q; want bad_request without the id", tc.id, perr, cmd.ID)
		}
		if perr == nil && string(cmd.ID) != tc.id {
			t.Errorf("id %s kept as %s", tc.id, cmd.ID)
		}
	}
}

// The refusal's text states the bound it enforces.
func TestErrBadIDStatesTheBound(t *testing.T) {
	if !strings.Contains(wire.ErrBadID.Message, "at most "+strconv.Itoa(wire.MaxIDBytes)+" bytes") {
		t.Errorf("ErrBadID says %q, not at most %d bytes", wire.ErrBadID.Message, wire.MaxIDBytes)
	}
}

func TestCommandKindString(t *testing.T) {
	for kind, want := range map[wire.CommandKind]string{
		wire.Subscribe: "subscribe", wire.Unsubscribe: "unsubscribe", wire.Publish: "publish",
		wire.Refresh: "refresh", 0: "invalid",
	} {
		if got := kind.String(); got != want {
			t.Errorf("%d: %q, want %q", kind, got, want)
		}
	}
}
