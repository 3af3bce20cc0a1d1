package wsproto

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// TestAppendFrameRFCExamples encodes the examples of RFC 6455 §5.7 and
// compares them byte for byte.
func TestAppendFrameRFCExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{
			name: "unmasked text Hello",
			got:  AppendFrame(nil, ws.OpText, true, []byte("Hello")),
			want: []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		},
		{
			name: "masked text Hello",
			got:  AppendMaskedFrame(nil, ws.OpText, true, [4]byte{0x37, 0xfa, 0x21, 0x3d}, []byte("Hello")),
			want: []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		},
		{
			name: "fragmented unmasked text",
			got: AppendFrame(AppendFrame(nil, ws.OpText, false, []byte("Hel")),
				ws.OpContinuation, true, []byte("lo")),
			want: []byte{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f},
		},
		{
			name: "unmasked ping",
			got:  AppendFrame(nil, ws.OpPing, true, []byte("Hello")),
			want: []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		},
		{
			name: "masked pong",
			got:  AppendMaskedFrame(nil, ws.OpPong, true, [4]byte{0x37, 0xfa, 0x21, 0x3d}, []byte("Hello")),
			want: []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		},
		{
			name: "256 bytes binary header",
			got:  AppendFrame(nil, ws.OpBinary, true, make([]byte, 256))[:4],
			want: []byte{0x82, 0x7e, 0x01, 0x00},
		},
		{
			name: "64 KiB binary header",
			got:  AppendFrame(nil, ws.OpBinary, true, make([]byte, 65536))[:10],
			want: []byte{0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00},
		},
	}
	for _, tc := range tests {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s: % x, want % x", tc.name, tc.got, tc.want)
		}
	}
}

// TestAppendFrameShortestLength checks the header size and length bytes at
// each boundary: 7-bit up to 125, 16-bit up to 65535, 64-bit beyond.
func TestAppendFrameShortestLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		length  int
		wantHdr []byte // unmasked header
	}{
		{length: 0, wantHdr: []byte{0x82, 0}},
		{length: 1, wantHdr: []byte{0x82, 1}},
		{length: 125, wantHdr: []byte{0x82, 125}},
		{length: 126, wantHdr: []byte{0x82, 126, 0, 126}},
		{length: 127, wantHdr: []byte{0x82, 126, 0, 127}},
		{length: 65535, wantHdr: []byte{0x82, 126, 0xff, 0xff}},
		{length: 65536, wantHdr: []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{length: DefaultMaxFrameSize, wantHdr: []byte{0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 0}},
	}
	for _, tc := range tests {
		payload := make([]byte, tc.length)
		got := AppendFrame(nil, ws.OpBinary, true, payload)
		if hdr := got[:len(got)-tc.length]; !bytes.Equal(hdr, tc.wantHdr) {
			t.Errorf("length %d: header % x, want % x", tc.length, hdr, tc.wantHdr)
		}
		masked := AppendMaskedFrame(nil, ws.OpBinary, true, testMask, payload)
		wantMasked := append(bytes.Clone(tc.wantHdr), testMask[:]...)
		wantMasked[1] |= 0x80
		if hdr := masked[:len(masked)-tc.length]; !bytes.Equal(hdr, wantMasked) {
			t.Errorf("length %d masked: header % x, want % x", tc.length, hdr, wantMasked)
		}
	}
}

// TestFrameRoundTrip encodes every boundary length and decodes it with the
// matching side: unmasked server frames on the client side, masked client
// frames on the server side, fed whole and in random reads.
func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	masks := [][4]byte{{0, 0, 0, 0}, testMask, {0xff, 0xfe, 0xfd, 0xfc}}
	for i, n := range frameLengths {
		payload := make([]byte, n)
		for j := range payload {
			payload[j] = byte('a' + (j*7)%26)
		}
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary, ws.OpPing, ws.OpPong} {
			if op.IsControl() && n > MaxControlPayload {
				continue
			}
			t.Run(fmt.Sprintf("%v/len=%d", op, n), func(t *testing.T) {
				t.Parallel()
				want := []Message{{Op: op, Payload: payload}}
				fs := feedsFor(uint64(300 + i))
				fs = []feed{fs[0], fs[len(fs)-1]} // whole and 1500-byte reads
				for _, f := range fs {
					d := NewDecoder(ClientSide, nil)
					got := decodeFeed(d, AppendFrame(nil, op, true, payload), f)
					d.Reset()
					if s := got.diff(want, nil); s != "" {
						t.Errorf("unmasked, feed %s: %s", f.name, s)
					}
					for _, mask := range masks {
						d := NewDecoder(ServerSide, nil)
						got := decodeFeed(d, AppendMaskedFrame(nil, op, true, mask, payload), f)
						d.Reset()
						if s := got.diff(want, nil); s != "" {
							t.Errorf("masked with % x, feed %s: %s", mask, f.name, s)
						}
					}
				}
			})
		}
	}
}

// TestAppendMaskedFrameKeepsPayload checks that masking works on the copy in
// dst, never on the caller's payload, and that dst's prefix is kept.
func TestAppendMaskedFrameKeepsPayload(t *testing.T) {
	t.Parallel()
	payload := []byte(strings.Repeat("payload!", 10))
	orig := bytes.Clone(payload)
	dst := AppendMaskedFrame([]byte("head"), ws.OpBinary, true, testMask, payload)
	if !bytes.Equal(payload, orig) {
		t.Fatal("payload modified")
	}
	if string(dst[:4]) != "head" || len(dst) != 4+2+4+len(payload) {
		t.Fatalf("dst %q", dst)
	}
	unmasked := bytes.Clone(dst[10:])
	ws.Cipher(unmasked, testMask, 0)
	if !bytes.Equal(unmasked, payload) {
		t.Fatal("masked payload does not unmask to the original")
	}
}

func TestAppendClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		code       ws.StatusCode
		reason     string
		wantReason string // as it appears on the wire
	}{
		{name: "code only", code: 1000, reason: "", wantReason: ""},
		{name: "short reason", code: 1001, reason: "going away", wantReason: "going away"},
		{name: "122 bytes", code: 1008, reason: strings.Repeat("a", 122), wantReason: strings.Repeat("a", 122)},
		{name: "123 bytes", code: 1008, reason: strings.Repeat("a", 123), wantReason: strings.Repeat("a", 123)},
		{name: "124 bytes cut to 123", code: 1009, reason: strings.Repeat("a", 124), wantReason: strings.Repeat("a", 123)},
		{name: "300 bytes cut to 123", code: 4000, reason: strings.Repeat("b", 300), wantReason: strings.Repeat("b", 123)},
		{
			// "é" is 2 bytes; byte 123 would fall inside the 62nd one.
			name:       "cut at a code point boundary",
			code:       1011,
			reason:     strings.Repeat("é", 100),
			wantReason: strings.Repeat("é", 61),
		},
		{
			// 40 "€" (3 bytes each) are 120 bytes; a 4-byte emoji follows.
			name:       "cut before a 4-byte code point",
			code:       1000,
			reason:     strings.Repeat("€", 40) + "😀😀",
			wantReason: strings.Repeat("€", 40),
		},
		{
			name:       "multibyte ending exactly at 123",
			code:       1000,
			reason:     strings.Repeat("a", 120) + "€b",
			wantReason: strings.Repeat("a", 120) + "€",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			frame := AppendClose([]byte("x"), tc.code, tc.reason)
			wantPayload := closeBody(tc.code, tc.wantReason)
			want := append([]byte{'x', 0x88, byte(len(wantPayload))}, wantPayload...)
			if !bytes.Equal(frame, want) {
				t.Fatalf("AppendClose = %q, want %q", frame, want)
			}
			// Our own decoder, as a client, must accept it.
			d := NewDecoder(ClientSide, nil)
			defer d.Reset()
			m, n, err := d.Next(frame[1:])
			if err != nil || n != len(frame)-1 || m.Op != ws.OpClose {
				t.Fatalf("decoding it: %v, %d, %v", m.Op, n, err)
			}
		})
	}
}

// TestAppendCloseAnyReasonDecodes cuts valid UTF-8 reasons of every length
// from 110 to 140 bytes, made of code points of each size: the frame must
// always decode, with the longest valid prefix that fits in 123 bytes.
func TestAppendCloseAnyReasonDecodes(t *testing.T) {
	t.Parallel()
	for _, unit := range []string{"a", "é", "€", "😀"} {
		for n := 110; n <= 140; n++ {
			reason := strings.Repeat("x", n%len(unit)) + strings.Repeat(unit, n/len(unit))
			want := reason
			if len(want) > MaxControlPayload-2 {
				k := MaxControlPayload - 2
				for !utf8.ValidString(reason[:k]) {
					k--
				}
				want = reason[:k]
			}
			frame := AppendClose(nil, 1000, reason)
			code, got, err := ParseClose(frame[2:])
			if err != nil || code != 1000 || string(got) != want {
				t.Fatalf("%d-byte reason of %q: code %d, reason of %d bytes, err %v; want 1000, %d bytes, nil",
					n, unit, code, len(got), err, len(want))
			}
		}
	}
}

func TestPreparedBytes(t *testing.T) {
	t.Parallel()
	for _, n := range frameLengths {
		payload := bytes.Repeat([]byte{'p'}, n)
		p := Prepare(ws.OpBinary, payload)
		if want := AppendFrame(nil, ws.OpBinary, true, payload); !bytes.Equal(p.Bytes(), want) {
			t.Errorf("len %d: Prepare differs from AppendFrame", n)
		}
		p.Release()
	}
}

// TestPreparedRetainRelease checks that the bytes stay until the last of
// 1+n references is released, and go back to the pool then.
func TestPreparedRetainRelease(t *testing.T) {
	t.Parallel()
	p := Prepare(ws.OpText, []byte("fan-out"))
	want := string(p.Bytes())
	p.Retain(3)
	for i := range 3 {
		p.Release()
		if p.buf == nil || string(p.Bytes()) != want {
			t.Fatalf("bytes gone after %d of 4 releases", i+1)
		}
		if got := p.refs.Load(); got != int32(3-i) {
			t.Fatalf("refs = %d after %d releases, want %d", got, i+1, 3-i)
		}
	}
	p.Release()
	if p.buf != nil || p.refs.Load() != 0 {
		t.Fatalf("after the last release: buf %v, refs %d", p.buf != nil, p.refs.Load())
	}
}

// TestPreparedConcurrentRelease hands one frame to many goroutines, each
// reading it and releasing its reference, as fan-out does; run with -race.
func TestPreparedConcurrentRelease(t *testing.T) {
	t.Parallel()
	const holders = 64
	payload := []byte(strings.Repeat("shared", 50))
	want := AppendFrame(nil, ws.OpText, true, payload)
	for range 20 {
		p := Prepare(ws.OpText, payload)
		p.Retain(holders)
		var wg sync.WaitGroup
		bad := make(chan int, holders)
		for i := range holders {
			wg.Go(func() {
				if !bytes.Equal(p.Bytes(), want) {
					bad <- i
				}
				p.Release()
			})
		}
		p.Release()
		wg.Wait()
		close(bad)
		for i := range bad {
			t.Errorf("holder %d saw the wrong bytes", i)
		}
		if p.buf != nil || p.refs.Load() != 0 {
			t.Fatalf("after every release: buf %v, refs %d", p.buf != nil, p.refs.Load())
		}
	}
}

// TestAppendFrameAllocs is the encode allocation budget: with room in dst,
// appending a frame allocates nothing.
func TestAppendFrameAllocs(t *testing.T) {
	payload := make([]byte, 1024)
	dst := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		dst = AppendFrame(dst[:0], ws.OpText, true, payload)
		dst = AppendMaskedFrame(dst, ws.OpBinary, true, testMask, payload)
		dst = AppendClose(dst, ws.StatusGoingAway, "shutting down")
	})
	if allocs != 0 {
		t.Fatalf("%v allocations, want 0", allocs)
	}
}

// TestPreparedVariant: eight goroutines ask for the variant at once; build
// runs once, on the frame's payload, all get the same Prepared, and the
// frame's last release releases it; run with -race.
func TestPreparedVariant(t *testing.T) {
	t.Parallel()
	const holders = 8
	payload := []byte(`{"type":"message","channel":"a","data":1}`)
	for range 50 {
		p := Prepare(ws.OpText, payload)
		p.Retain(holders)
		var builds atomic.Int32
		build := func(got []byte) *Prepared {
			builds.Add(1)
			if !bytes.Equal(got, payload) {
				t.Errorf("build got %q, want the payload", got)
			}
			return Prepare(ws.OpBinary, []byte{1, 2, 3})
		}
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			firsts int
			seen   = map[*Prepared]bool{}
		)
		start := make(chan struct{})
		for range holders {
			wg.Go(func() {
				<-start
				v, first := p.Variant(build)
				ok := bytes.Equal(v.Bytes(), AppendFrame(nil, ws.OpBinary, true, []byte{1, 2, 3}))
				mu.Lock()
				seen[v] = true
				if first {
					firsts++
				}
				if !ok {
					t.Error("variant has the wrong bytes")
				}
				mu.Unlock()
				p.Release()
			})
		}
		close(start)
		v, _ := p.Variant(build)
		p.Release()
		wg.Wait()
		if builds.Load() != 1 || firsts > 1 || len(seen) != 1 || !seen[v] {
			t.Fatalf("%d builds, %d firsts, %d variants", builds.Load(), firsts, len(seen))
		}
		if p.buf != nil || p.variant != nil || v.buf != nil || v.refs.Load() != 0 {
			t.Fatal("buffers held after every release")
		}
	}
}
