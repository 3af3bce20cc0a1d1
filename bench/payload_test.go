package bench

import (
	"encoding/json"
	"testing"

	"github.com/gobwas/ws"
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

func TestCloseKind(t *testing.T) {
	for _, tc := range []struct {
		code   ws.StatusCode
		reason string
		want   string
	}{
		{1008, "pong timeout", "server_close_1008_pong_timeout"},
		{1001, "draining; retry-after-ms=1234", "server_close_1001_draining"},
		{1000, "", "server_close_1000"},
		{1009, "Frame Too Big!", "server_close_1009_frame_too_big_"},
	} {
		if got := closeKind(tc.code, []byte(tc.reason)); got != tc.want {
			t.Errorf("closeKind(%d, %q) = %q, want %q", tc.code, tc.reason, got, tc.want)
		}
	}
}
