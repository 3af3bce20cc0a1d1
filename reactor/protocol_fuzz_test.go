package reactor

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/relay"
)

// FuzzClientFrame feeds arbitrary payloads to parseCommand: it must not
// panic, must return either a command or an error with a documented code,
// and a command must satisfy every rule the executor relies on.
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
	} {
		f.Add([]byte(seed))
	}
	const maxData = 64
	codes := map[string]bool{codeBadJSON: true, codeBadRequest: true, codeUnknownType: true, codeBadChannel: true, codeTooLarge: true}
	f.Fuzz(func(t *testing.T, payload []byte) {
		cmd, perr := parseCommand(payload, maxData)
		if perr != nil {
			if !codes[perr.code] || perr.message == "" {
				t.Fatalf("error %+v: undocumented code or no message", perr)
			}
			if len(perr.id) > 0 && !validID(perr.id) {
				t.Fatalf("error echoes invalid id %q", perr.id)
			}
			return
		}
		if len(cmd.id) > 0 && !validID(cmd.id) {
			t.Fatalf("command with invalid id %q", cmd.id)
		}
		switch cmd.kind {
		case cmdSubscribe, cmdUnsubscribe:
			if !relay.ValidChannel(cmd.channel) || cmd.data != nil || cmd.token != "" {
				t.Fatalf("bad %v: %+v", cmd.kind, cmd)
			}
		case cmdPublish:
			if !relay.ValidChannel(cmd.channel) || len(cmd.data) == 0 || len(cmd.data) > maxData || !json.Valid(cmd.data) {
				t.Fatalf("bad publish: %+v", cmd)
			}
		case cmdRefresh:
			if cmd.token == "" || cmd.channel != "" {
				t.Fatalf("bad refresh: %+v", cmd)
			}
		default:
			t.Fatalf("no kind: %+v from %q", cmd, payload)
		}
		// The command owns its memory: scribbling over the payload changes nothing.
		before := cmd.channel + string(cmd.data) + string(cmd.id) + cmd.token
		for i := range payload {
			payload[i] = 'X'
		}
		if after := cmd.channel + string(cmd.data) + string(cmd.id) + cmd.token; after != before {
			t.Fatalf("command aliases the payload: %q became %q", before, after)
		}
	})
}

// FuzzCommandID feeds arbitrary "id" values: an accepted id is a JSON
// number or string of at most maxIDBytes as sent, and every reply that
// repeats it (ack, error) is valid JSON no larger than a fixed bound; a
// refused id is never repeated.
func FuzzCommandID(f *testing.F) {
	for _, seed := range []string{
		`1`, `-0.5e-3`, `"abc"`, `"\u00e9\"\\"`, `""`, `1e999`, `{}`, `[]`, `null`, `true`,
		`"` + strings.Repeat("x", maxIDBytes) + `"`, strings.Repeat("9", maxIDBytes+1), `"\ud800"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		frame := `{"type":"subscribe","channel":"a","id":` + id + `}`
		cmd, perr := parseCommand([]byte(frame), 64)
		if perr != nil {
			if len(perr.id) > 0 && !validID(perr.id) {
				t.Fatalf("error repeats invalid id %q", perr.id)
			}
			return
		}
		if len(cmd.id) == 0 {
			return // no id (e.g. "null" in some decoders): nothing is repeated
		}
		if len(cmd.id) > maxIDBytes+2 {
			t.Fatalf("accepted id of %d bytes", len(cmd.id))
		}
		ack := appendAck(nil, cmd.id)
		errFrame := appendError(nil, cmd.id, codeNotSubscribed, "x")
		if !json.Valid(ack) || len(ack) > 128 {
			t.Fatalf("ack %q: invalid JSON or larger than 128 bytes", ack)
		}
		if len(errFrame) > 256 {
			t.Fatalf("error frame of %d bytes", len(errFrame))
		}
	})
}
