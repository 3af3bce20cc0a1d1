package bench

import (
	"encoding/json"
	"testing"
)

func TestPayloadRoundTrip(t *testing.T) {
	for _, size := range []int{0, 16, 48, 64, 1024} {
		st := Stamp{Publisher: 3, Seq: 4_000_000_000, Intended: 1732680000123456789, Delay: 42}
		p := AppendPayload(nil, st, size)
		if size > len(p) || (size > minPayload+12 && len(p) != size) {
			t.Errorf("size %d: got %d bytes", size, len(p))
		}
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			t.Fatalf("size %d: not a JSON string: %v", size, err)
		}
		frame := append([]byte(`{"type":"message","channel":"bench.1","data":`), p...)
		frame = append(frame, '}')
		got, ok := ParseStamp(frame)
		if !ok || got != st {
			t.Fatalf("size %d: ParseStamp = %+v, %v", size, got, ok)
		}
	}
}

func TestParseStampRejects(t *testing.T) {
	for _, in := range []string{"", "wsb1 ", "wsb1 1 2 3", "wsb1 1 2 3 x ", "wsb1 99999999999 1 1 1 ", "wsb1 a b c d "} {
		if _, ok := ParseStamp([]byte(in)); ok {
			t.Errorf("ParseStamp(%q) accepted", in)
		}
	}
}
