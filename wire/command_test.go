package wire_test

import (
	"encoding/json"
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
		t.Run(tc.name, func(t *testing.T) { checkParse(t, tc.frame, maxData, tc.want, tc.err) })
	}
}

// checkParse parses frame and compares every field of the outcome.
func checkParse(t *testing.T, frame string, maxData int, want wire.Command, wantErr *wire.Error) {
	t.Helper()
	cmd, err := wire.ParseCommand([]byte(frame), maxData)
	if err != wantErr {
		t.Fatalf("%s: error %v, want %v", frame, err, wantErr)
	}
	if cmd.Kind != want.Kind || cmd.Channel != want.Channel || string(cmd.Data) != string(want.Data) ||
		string(cmd.ID) != string(want.ID) || cmd.Token != want.Token || cmd.Limit != want.Limit || cmd.Key != want.Key ||
		(cmd.Since == nil) != (want.Since == nil) || cmd.Since != nil && *cmd.Since != *want.Since {
		t.Fatalf("%s:\n got %+v (since %+v)\nwant %+v (since %+v)", frame, cmd, cmd.Since, want, want.Since)
	}
}

// Every outcome of "since", "limit" and "idempotency_key", one row per
// rule: they are read only on the commands that take them.
func TestParseHistoryFields(t *testing.T) {
	sub := func(since string) string { return `{"type":"subscribe","channel":"a","id":1,"since":` + since + `}` }
	hist := func(fields string) string { return `{"type":"history","channel":"a","id":1` + fields + `}` }
	pub := func(key string) string {
		return `{"type":"publish","channel":"a","data":1,"id":1,"idempotency_key":` + key + `}`
	}
	id := []byte("1")
	subAt := func(offset uint64, epoch string) wire.Command {
		return wire.Command{Kind: wire.Subscribe, Channel: "a", ID: id, Since: &wire.Since{Offset: offset, Epoch: epoch}}
	}
	histAt := func(limit int, since *wire.Since) wire.Command {
		return wire.Command{Kind: wire.History, Channel: "a", ID: id, Limit: limit, Since: since}
	}
	keyed := func(key string) wire.Command {
		return wire.Command{Kind: wire.Publish, Channel: "a", Data: []byte("1"), ID: id, Key: key}
	}
	refused := wire.Command{ID: id}
	epoch64 := strings.Repeat("e", wire.MaxEpochBytes)
	key64 := strings.Repeat("k", wire.MaxKeyBytes)
	for _, tc := range []struct {
		name, frame string
		want        wire.Command
		err         *wire.Error
	}{
		// since on subscribe
		{"since", sub(`{"offset":42,"epoch":"e1"}`), subAt(42, "e1"), nil},
		{"since at offset 0", sub(`{"offset":0,"epoch":"e1"}`), subAt(0, "e1"), nil},
		{"since at the largest offset", sub(`{"offset":18446744073709551615,"epoch":"e"}`), subAt(1<<64-1, "e"), nil},
		{"since, every epoch byte", sub(`{"epoch":"AZaz09._:-","offset":1}`), subAt(1, "AZaz09._:-"), nil},
		{"since, epoch at the bound", sub(`{"offset":1,"epoch":"` + epoch64 + `"}`), subAt(1, epoch64), nil},
		{"since, epoch escaped", sub(`{"offset":1,"epoch":"\u0041b"}`), subAt(1, "Ab"), nil},
		{"since, spaces and other fields", sub(` { "offset" : 7 , "epoch" : "x" , "extra" : [1] } `), subAt(7, "x"), nil},
		{"since null is absent", sub(`null`), wire.Command{Kind: wire.Subscribe, Channel: "a", ID: id}, nil},
		{"since, offset past uint64", sub(`{"offset":18446744073709551616,"epoch":"e"}`), refused, wire.ErrBadSince},
		{"since, offset with exponent", sub(`{"offset":1e3,"epoch":"e"}`), refused, wire.ErrBadSince},
		{"since, negative offset", sub(`{"offset":-1,"epoch":"e"}`), refused, wire.ErrBadSince},
		{"since, negative zero offset", sub(`{"offset":-0,"epoch":"e"}`), refused, wire.ErrBadSince},
		{"since, fractional offset", sub(`{"offset":1.5,"epoch":"e"}`), refused, wire.ErrBadSince},
		{"since, offset 1.0", sub(`{"offset":1.0,"epoch":"e"}`), refused, wire.ErrBadSince},
		{"since, offset as a string", sub(`{"offset":"5","epoch":"e"}`), refused, wire.ErrBadSince},
		{"since, offset null", sub(`{"offset":null,"epoch":"e"}`), refused, wire.ErrBadSince},
		{"since without offset", sub(`{"epoch":"e"}`), refused, wire.ErrBadSince},
		{"since without epoch", sub(`{"offset":0}`), refused, wire.ErrBadSince},
		{"since, empty epoch", sub(`{"offset":0,"epoch":""}`), refused, wire.ErrBadSince},
		{"since, epoch null", sub(`{"offset":0,"epoch":null}`), refused, wire.ErrBadSince},
		{"since, epoch a number", sub(`{"offset":0,"epoch":1}`), refused, wire.ErrBadSince},
		{"since, epoch over the bound", sub(`{"offset":1,"epoch":"` + epoch64 + `e"}`), refused, wire.ErrBadSince},
		{"since, epoch with a space", sub(`{"offset":1,"epoch":"a b"}`), refused, wire.ErrBadSince},
		{"since, epoch with a quote", sub(`{"offset":1,"epoch":"a\"b"}`), refused, wire.ErrBadSince},
		{"since, epoch with @", sub(`{"offset":1,"epoch":"a@b"}`), refused, wire.ErrBadSince},
		{"since, epoch not ASCII", sub(`{"offset":1,"epoch":"é"}`), refused, wire.ErrBadSince},
		{"since an array", sub(`[42,"e"]`), refused, wire.ErrBadSince},
		{"since a number", sub(`42`), refused, wire.ErrBadSince},
		{"since a string", sub(`"42"`), refused, wire.ErrBadSince},
		{"since empty", sub(`{}`), refused, wire.ErrBadSince},
		{"since, bad channel first", `{"type":"subscribe","channel":"*","since":1,"id":1}`, refused, wire.ErrBadChannel},

		// history
		{"history", hist(``), histAt(wire.DefaultHistoryLimit, nil), nil},
		{"history, limit", hist(`,"limit":5`), histAt(5, nil), nil},
		{"history, limit 1", hist(`,"limit":1`), histAt(1, nil), nil},
		{"history, limit at the maximum", hist(`,"limit":1000`), histAt(wire.MaxHistoryLimit, nil), nil},
		{"history, limit over the maximum is lowered", hist(`,"limit":5000`), histAt(wire.MaxHistoryLimit, nil), nil},
		{"history, limit past uint64 is lowered", hist(`,"limit":123456789012345678901234567890`), histAt(wire.MaxHistoryLimit, nil), nil},
		{"history, limit null is absent", hist(`,"limit":null`), histAt(wire.DefaultHistoryLimit, nil), nil},
		{"history, since", hist(`,"since":{"offset":9,"epoch":"e"},"limit":2`), histAt(2, &wire.Since{Offset: 9, Epoch: "e"}), nil},
		{"history drops data, token and key", hist(`,"data":1,"token":"t","idempotency_key":"k"`), histAt(wire.DefaultHistoryLimit, nil), nil},
		{"history, limit 0", hist(`,"limit":0`), refused, wire.ErrBadLimit},
		{"history, negative limit", hist(`,"limit":-5`), refused, wire.ErrBadLimit},
		{"history, fractional limit", hist(`,"limit":2.5`), refused, wire.ErrBadLimit},
		{"history, limit with exponent", hist(`,"limit":1e2`), refused, wire.ErrBadLimit},
		{"history, limit as a string", hist(`,"limit":"5"`), refused, wire.ErrBadLimit},
		{"history, limit true", hist(`,"limit":true`), refused, wire.ErrBadLimit},
		{"history, limit an object", hist(`,"limit":{}`), refused, wire.ErrBadLimit},
		{"history, bad since", hist(`,"since":{"offset":1}`), refused, wire.ErrBadSince},
		{"history without channel", `{"type":"history","id":1}`, refused, wire.ErrBadChannel},
		{"history, bad channel", `{"type":"history","channel":"a.>","id":1}`, refused, wire.ErrBadChannel},

		// idempotency_key on publish
		{"key", pub(`"order-7"`), keyed("order-7"), nil},
		{"key, every printable byte", pub(`"!~\"\\"`), keyed(`!~"\`), nil},
		{"key at the bound", pub(`"` + key64 + `"`), keyed(key64), nil},
		{"key null is absent", pub(`null`), keyed(""), nil},
		{"key over the bound", pub(`"` + key64 + `k"`), refused, wire.ErrBadKey},
		{"key with a space", pub(`"a b"`), refused, wire.ErrBadKey},
		{"key with a tab", pub(`"a\tb"`), refused, wire.ErrBadKey},
		{"key with DEL", pub(`"a\u007fb"`), refused, wire.ErrBadKey},
		{"key not ASCII", pub(`"é"`), refused, wire.ErrBadKey},
		{"empty key", pub(`""`), refused, wire.ErrBadKey},
		{"key a number", pub(`7`), refused, wire.ErrBadKey},
		{"key, data over the bound first", `{"type":"publish","channel":"a","data":"` + strings.Repeat("x", 99) + `","idempotency_key":7,"id":1}`, refused, wire.ErrDataTooLarge},

		// ignored where not taken, however malformed
		{"unsubscribe ignores since", `{"type":"unsubscribe","channel":"a","since":"x","limit":"x","idempotency_key":1,"id":1}`, wire.Command{Kind: wire.Unsubscribe, Channel: "a", ID: id}, nil},
		{"publish ignores since and limit", `{"type":"publish","channel":"a","data":1,"since":"x","limit":0,"id":1}`, keyed(""), nil},
		{"refresh ignores since", `{"type":"refresh","token":"t","since":{"offset":1,"epoch":"e"},"limit":1,"idempotency_key":"k","id":1}`, wire.Command{Kind: wire.Refresh, Token: "t", ID: id}, nil},
		{"subscribe ignores limit and key", `{"type":"subscribe","channel":"a","limit":0,"idempotency_key":"a b","id":1}`, wire.Command{Kind: wire.Subscribe, Channel: "a", ID: id}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { checkParse(t, tc.frame, 16, tc.want, tc.err) })
	}
}

// ValidEpoch holds exactly the bytes its doc names, and none JSON escapes
// (frames copy an epoch between quotes as it is).
func TestValidEpoch(t *testing.T) {
	for i := range 256 {
		c := byte(i)
		want := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-'
		if got := wire.ValidEpoch(string([]byte{c})); got != want {
			t.Errorf("ValidEpoch(%q) = %v, want %v", c, got, want)
		}
		if got, _ := json.Marshal(string([]byte{c})); want && string(got) != `"`+string([]byte{c})+`"` {
			t.Errorf("byte %#x is valid in an epoch but JSON writes it %s", c, got)
		}
	}
	for epoch, want := range map[string]bool{
		"": false, "1.2:3-4_x": true, strings.Repeat("e", wire.MaxEpochBytes): true,
		strings.Repeat("e", wire.MaxEpochBytes+1): false, "a b": false, "ab\x00": false,
	} {
		if got := wire.ValidEpoch(epoch); got != want {
			t.Errorf("ValidEpoch(%.20q) (%d bytes) = %v, want %v", epoch, len(epoch), got, want)
		}
	}
}

// The refusals' texts state the bounds they enforce.
func TestHistoryErrorsStateTheBounds(t *testing.T) {
	for _, tc := range []struct {
		e    *wire.Error
		want string
	}{
		{wire.ErrBadSince, "1-" + strconv.Itoa(wire.MaxEpochBytes) + " bytes"},
		{wire.ErrBadKey, "1-" + strconv.Itoa(wire.MaxKeyBytes) + " printable"},
		{wire.ErrBadLimit, "lowered to " + strconv.Itoa(wire.MaxHistoryLimit)},
		{wire.ErrUnknownType, "history"},
	} {
		if !strings.Contains(tc.e.Message, tc.want) {
			t.Errorf("%s says %q, not %q", tc.e.Code, tc.e.Message, tc.want)
		}
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
		wire.Refresh: "refresh", wire.History: "history", wire.Pong: "pong", wire.Send: "send", 0: "invalid", wire.Send + 1: "invalid",
	} {
		if got := kind.String(); got != want {
			t.Errorf("%d: %q, want %q", kind, got, want)
		}
	}
}

func TestParsePong(t *testing.T) {
	cmd, err := wire.ParseCommand([]byte(`{"type":"pong","channel":"ignored","data":1}`), 100)
	if err != nil || cmd.Kind != wire.Pong || cmd.Channel != "" || cmd.Data != nil || cmd.Kind.String() != "pong" {
		t.Fatalf("pong: %+v, %v", cmd, err)
	}
	if !json.Valid(wire.Ping) {
		t.Fatal("the heartbeat ping is not JSON")
	}
}

// A send carries data for the backend and no channel; a subscribe may ask
// for presence frames with a boolean, and nothing else.
func TestParseSendAndPresence(t *testing.T) {
	cmd, err := wire.ParseCommand([]byte(`{"type":"send","data":{"q":1},"id":3,"channel":"ignored"}`), 100)
	if err != nil || cmd.Kind != wire.Send || string(cmd.Data) != `{"q":1}` || cmd.Channel != "" || string(cmd.ID) != "3" {
		t.Fatalf("send: %+v, %v", cmd, err)
	}
	for frame, want := range map[string]*wire.Error{
		`{"type":"send"}`:                     wire.ErrSendWithoutData,
		`{"type":"send","data":null}`:         nil, // null is a JSON value: the backend gets it
		`{"type":"send","data":"0123456789"}`: wire.ErrDataTooLarge,
	} {
		if _, err := wire.ParseCommand([]byte(frame), 10); err != want {
			t.Errorf("%s: %v, want %v", frame, err, want)
		}
	}
	for frame, want := range map[string]bool{
		`{"type":"subscribe","channel":"a","presence":true}`:       true,
		`{"type":"subscribe","channel":"a","presence":false}`:      false,
		`{"type":"subscribe","channel":"a","presence":null}`:       false,
		`{"type":"subscribe","channel":"a"}`:                       false,
		`{"type":"publish","channel":"a","data":1,"presence":"x"}`: false, // not a field of publish
	} {
		cmd, err := wire.ParseCommand([]byte(frame), 100)
		if err != nil || cmd.Presence != want {
			t.Errorf("%s: presence %v, %v; want %v", frame, cmd.Presence, err, want)
		}
	}
	if _, err := wire.ParseCommand([]byte(`{"type":"subscribe","channel":"a","presence":1}`), 100); err != wire.ErrBadPresence {
		t.Errorf("presence 1: %v, want %v", err, wire.ErrBadPresence)
	}
}
