package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// decodeSlow is ParseCommand by encoding/json alone: what scanSimple must
// agree with.
func decodeSlow(p []byte, maxData int) (Command, *Error) {
	var f clientFrame
	if len(p) == 0 || p[0] != '{' || json.Unmarshal(p, &f) != nil {
		return Command{}, ErrNotJSON
	}
	return f.command(maxData)
}

var scanSeeds = []string{
	`{"type":"subscribe","channel":"news","id":1}`,
	`{"type":"unsubscribe","channel":"news","id":"a-7"}`,
	`{ "type" : "history", "channel":"a.b", "limit": 20, "id": 0 }`,
	`{"type":"refresh","token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","id":3}`,
	`{"type":"publish","channel":"x","idempotency_key":"k-1"}`,
	`{"type":"pong"}`, `{}`, `{"type":null,"channel":null,"id":null}`,
	`{"type":"subscribe","channel":"news","id":01}`, `{"type":"subscribe","id":1.5}`, `{"type":"subscribe","id":-1}`,
	`{"type":"subscribe","type":"publish"}`, `{"TYPE":"subscribe"}`, `{"type":"subscribe","channel":"n\u0065ws"}`,
	`{"type":"subscribe","channel":"news"} x`, `{"type":"subscribe","channel":"news",}`, `{"type":1}`,
	`{"type":"history","channel":"c","limit":5000}`, `{"type":"history","channel":"c","limit":0}`,
	`{"type":"publish","channel":"x","idempotency_key":"has space"}`, "{\"type\":\"pong\"}\n",
}

// FuzzScanSimpleAgreesWithEncodingJSON: whatever scanSimple reads,
// encoding/json reads too, into the same fields, and ParseCommand's
// command (or refusal) is the one encoding/json's decoding gives. The
// command owns its memory: scribbling over the frame changes nothing.
func FuzzScanSimpleAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		got, gotErr := ParseCommand(p, 64)
		want, wantErr := decodeSlow(p, 64)
		if gotErr != wantErr || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: ParseCommand gives %+v, %v; encoding/json %+v, %v", p, got, gotErr, want, wantErr)
		}
		sf, ok := scanSimple(p)
		if !ok {
			return
		}
		var jf clientFrame
		if err := json.Unmarshal(p, &jf); err != nil {
			t.Fatalf("scanned %q, which encoding/json refuses: %v", p, err)
		}
		if sf.Type != jf.Type || sf.Channel != jf.Channel || sf.Token != jf.Token || !bytes.Equal(sf.ID, jf.ID) ||
			!bytes.Equal(sf.Limit, jf.Limit) || !bytes.Equal(sf.Key, jf.Key) || jf.Data != nil || jf.Since != nil {
			t.Fatalf("%q: scanned %+v, encoding/json %+v", p, sf, jf)
		}
		for i := range p {
			p[i] = '#'
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("the command changed with its frame: %+v, was %+v", got, want)
		}
	})
}

// TestSubscribeFrameParsesInOneAllocation: the frames a client sends to
// join a channel are scanned in place; the command's own copy of its
// channel and id is the only allocation (encoding/json made about 20).
func TestSubscribeFrameParsesInOneAllocation(t *testing.T) {
	for _, frame := range []string{
		`{"type":"subscribe","channel":"chat.room-42","id":1}`,
		`{"type":"unsubscribe","channel":"chat.room-42","id":"u-9"}`,
		`{"type":"pong"}`,
	} {
		p := []byte(frame)
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := ParseCommand(p, 1024); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 1 {
			t.Errorf("%s: %.0f allocations, want at most 1", frame, allocs)
		}
	}
}

func BenchmarkParseSubscribe(b *testing.B) {
	p := []byte(`{"type":"subscribe","channel":"chat.room-42","id":1}`)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseCommand(p, 1024)
	}
}

func BenchmarkParseSubscribeEncodingJSON(b *testing.B) {
	p := []byte(`{"type":"subscribe","channel":"chat.room-42","id":1}`)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = decodeSlow(p, 1024)
	}
}
