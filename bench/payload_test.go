package bench

import (
	"bytes"
	"compress/flate"
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

// TestJSONPayload: a json payload is a JSON object of exactly the size
// asked for (from 256 bytes up), its stamp is found in the frame around it,
// two messages differ, and it compresses like real JSON: to between a fifth
// and a half at DEFLATE's fastest level, neither to nothing like the filler
// nor not at all like random bytes.
func TestJSONPayload(t *testing.T) {
	st := Stamp{Publisher: 1, Seq: 77, Intended: 1732680000123456789, Delay: 1234}
	for _, size := range []int{48, 256, 1000, 1024, 4096} {
		p := AppendJSONPayload(nil, st, size)
		if size >= 256 && len(p) != size || len(p) < size {
			t.Errorf("size %d: got %d bytes", size, len(p))
		}
		var v map[string]any
		if err := json.Unmarshal(p, &v); err != nil {
			t.Fatalf("size %d: not a JSON object: %v\n%s", size, err, p)
		}
		frame := append([]byte(`{"type":"message","channel":"bench.1","data":`), p...)
		if got, ok := ParseStamp(append(frame, '}')); !ok || got != st {
			t.Fatalf("size %d: ParseStamp = %+v, %v", size, got, ok)
		}
	}
	p := AppendJSONPayload(nil, st, 1024)
	next := st
	next.Seq++
	if bytes.Equal(p[60:], AppendJSONPayload(nil, next, 1024)[60:]) {
		t.Error("two messages carry the same quotes")
	}
	ratio := func(b []byte) float64 {
		var z bytes.Buffer
		w, _ := flate.NewWriter(&z, flate.BestSpeed)
		_, _ = w.Write(b)
		_ = w.Flush()
		return float64(z.Len()) / float64(len(b))
	}
	r := ratio(p)
	t.Logf("1 KB json payload compresses to %.0f%%; the filler to %.0f%%\n%s", 100*r, 100*ratio(AppendPayload(nil, st, 1024)), p)
	if r < 0.2 || r > 0.5 {
		t.Errorf("1 KB json payload compresses to %.0f%%, want 20%% to 50%%", 100*r)
	}
	buf := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(100, func() { buf = AppendJSONPayload(buf[:0], st, 1024) }); n != 0 {
		t.Errorf("AppendJSONPayload allocates %.0f times", n)
	}
}
