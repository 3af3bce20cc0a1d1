package wire_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/wire"
)

// parseErrors are the refusals ParseCommand documents.
var parseErrors = map[*wire.Error]bool{
	wire.ErrNotJSON: true, wire.ErrBadID: true, wire.ErrUnknownType: true, wire.ErrBadChannel: true,
	wire.ErrPublishWithoutData: true, wire.ErrRefreshWithoutToken: true, wire.ErrDataTooLarge: true,
	wire.ErrBadSince: true, wire.ErrBadKey: true, wire.ErrBadLimit: true,
}

// FuzzClientFrame feeds arbitrary payloads to ParseCommand: it must not
// panic, must return either a command or one of its documented errors
// (with nothing but the id to repeat), and a command must satisfy every
// rule the gateway's executor relies on.
func FuzzClientFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"subscribe","channel":"news","id":1}`,
		`{"type":"unsubscribe","channel":"chat.room.42","id":"x"}`,
		`{"type":"publish","channel":"news","data":{"a":[1,2]},"id":3}`,
		`{"type":"refresh","token":"a.b.c","id":4}`,
		`{"type":"publish","channel":"news"}`,
		`{"type":"subscribe","channel":"a.>"}`,
		`{"type":"refresh"}`,
		`{"type":"nope","id":{}}`,
		`[1,2]`, `{`, ``, `null`, `{"id":1e999}`,
		`{"type":"subscribe","channel":"news","since":{"offset":42,"epoch":"e1"},"id":5}`,
		`{"type":"history","channel":"news","since":{"offset":0,"epoch":"a.b:c-d_e"},"limit":10,"id":6}`,
		`{"type":"history","channel":"news","limit":5000}`,
		`{"type":"history","channel":"news","limit":0}`,
		`{"type":"publish","channel":"news","data":1,"idempotency_key":"k-1"}`,
		`{"type":"publish","channel":"news","data":1,"idempotency_key":"a b"}`,
		`{"type":"subscribe","channel":"a","since":{"offset":1e3,"epoch":"e"}}`,
	} {
		f.Add([]byte(seed))
	}
	const maxData = 64
	f.Fuzz(func(t *testing.T, payload []byte) {
		cmd, perr := wire.ParseCommand(payload, maxData)
		if perr != nil {
			if !parseErrors[perr] || perr.Message == "" {
				t.Fatalf("error %+v: not one ParseCommand documents", perr)
			}
			if len(cmd.ID) > 0 && !wire.ValidID(cmd.ID) {
				t.Fatalf("error echoes invalid id %q", cmd.ID)
			}
			if cmd.Kind != 0 || cmd.Channel != "" || cmd.Data != nil || cmd.Token != "" || cmd.Since != nil || cmd.Limit != 0 || cmd.Key != "" {
				t.Fatalf("a refused command carries more than its id: %+v", cmd)
			}
			return
		}
		if len(cmd.ID) > 0 && !wire.ValidID(cmd.ID) {
			t.Fatalf("command with invalid id %q", cmd.ID)
		}
		if cmd.Since != nil && !wire.ValidEpoch(cmd.Since.Epoch) {
			t.Fatalf("since with invalid epoch %q", cmd.Since.Epoch)
		}
		switch cmd.Kind {
		case wire.Subscribe, wire.Unsubscribe:
			if !wire.ValidChannel(cmd.Channel) || cmd.Data != nil || cmd.Token != "" || cmd.Limit != 0 || cmd.Key != "" ||
				cmd.Kind == wire.Unsubscribe && cmd.Since != nil {
				t.Fatalf("bad %v: %+v", cmd.Kind, cmd)
			}
		case wire.Publish:
			if !wire.ValidChannel(cmd.Channel) || len(cmd.Data) == 0 || len(cmd.Data) > maxData || !json.Valid(cmd.Data) ||
				cmd.Token != "" || cmd.Since != nil || cmd.Limit != 0 || cmd.Key != "" && !validKey(cmd.Key) {
				t.Fatalf("bad publish: %+v", cmd)
			}
		case wire.History:
			if !wire.ValidChannel(cmd.Channel) || cmd.Data != nil || cmd.Token != "" || cmd.Key != "" ||
				cmd.Limit < 1 || cmd.Limit > wire.MaxHistoryLimit {
				t.Fatalf("bad history: %+v", cmd)
			}
		case wire.Refresh:
			if cmd.Token == "" || cmd.Channel != "" || cmd.Data != nil || cmd.Since != nil || cmd.Limit != 0 || cmd.Key != "" {
				t.Fatalf("bad refresh: %+v", cmd)
			}
		default:
			t.Fatalf("no kind: %+v from %q", cmd, payload)
		}
		// The frames that repeat what was parsed are valid JSON.
		if cmd.Since != nil {
			recovered := true
			for _, frame := range [][]byte{
				wire.AppendPosition(nil, cmd.ID, cmd.Channel, cmd.Since.Offset, cmd.Since.Epoch, &recovered),
				wire.AppendHistory(nil, cmd.ID, cmd.Channel, cmd.Since.Offset, cmd.Since.Epoch, true, false,
					[]wire.HistoryEntry{{Offset: cmd.Since.Offset, Prev: cmd.Since.Offset, Data: []byte("1")}}),
			} {
				var got struct {
					Offset uint64
					Epoch  string
				}
				if err := json.Unmarshal(frame, &got); err != nil || got.Offset != cmd.Since.Offset || got.Epoch != cmd.Since.Epoch {
					t.Fatalf("%s: %v, decoded as %+v", frame, err, got)
				}
			}
		}
		// The command owns its memory: scribbling over the payload changes nothing.
		snapshot := func() string {
			s := cmd.Channel + string(cmd.Data) + string(cmd.ID) + cmd.Token + cmd.Key
			if cmd.Since != nil {
				s += cmd.Since.Epoch
			}
			return s
		}
		before := snapshot()
		for i := range payload {
			payload[i] = 'X'
		}
		if after := snapshot(); after != before {
			t.Fatalf("command aliases the payload: %q became %q", before, after)
		}
	})
}

// validKey is the idempotency-key rule as the protocol states it: 1 to
// MaxKeyBytes bytes of printable ASCII, no space.
func validKey(key string) bool {
	if len(key) == 0 || len(key) > wire.MaxKeyBytes {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// FuzzCommandID feeds arbitrary "id" values: an accepted id is a JSON
// number or string of at most MaxIDBytes as sent, and every reply that
// repeats it (ack, error) is valid JSON no larger than a fixed bound; a
// refused id is never repeated.
func FuzzCommandID(f *testing.F) {
	for _, seed := range []string{
		`1`, `-0.5e-3`, `"abc"`, `"\u00e9\"\\"`, `""`, `1e999`, `{}`, `[]`, `null`, `true`,
		`"` + strings.Repeat("x", wire.MaxIDBytes) + `"`, strings.Repeat("9", wire.MaxIDBytes+1), `"\ud800"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		frame := `{"type":"subscribe","channel":"a","id":` + id + `}`
		cmd, perr := wire.ParseCommand([]byte(frame), 64)
		if perr != nil {
			if len(cmd.ID) > 0 && !wire.ValidID(cmd.ID) {
				t.Fatalf("error repeats invalid id %q", cmd.ID)
			}
			return
		}
		if len(cmd.ID) == 0 {
			return // no id (e.g. "null" in some decoders): nothing is repeated
		}
		if len(cmd.ID) > wire.MaxIDBytes+2 {
			t.Fatalf("accepted id of %d bytes", len(cmd.ID))
		}
		ack := wire.AppendAck(nil, cmd.ID)
		errFrame := wire.AppendError(nil, cmd.ID, wire.CodeNotSubscribed, "x")
		if !json.Valid(ack) || len(ack) > 128 {
			t.Fatalf("ack %q: invalid JSON or larger than 128 bytes", ack)
		}
		if !json.Valid(errFrame) || len(errFrame) > 256 {
			t.Fatalf("error frame %q: invalid JSON or larger than 256 bytes", errFrame)
		}
	})
}
