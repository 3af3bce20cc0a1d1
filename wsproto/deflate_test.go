package wsproto

import (
	"bytes"
	stdflate "compress/flate"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/gobwas/ws"
)

// stdDeflate compresses payload with the standard library, as a client's
// permessage-deflate does (RFC 7692 §7.2.1): a sync flush, then the 4-octet
// tail removed.
func stdDeflate(t testing.TB, payload []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := stdflate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(payload)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	if !bytes.HasSuffix(out, syncMarker) {
		t.Fatalf("sync flush ends in %x", out[len(out)-4:])
	}
	return out[:len(out)-4]
}

// stdInflate inflates a compressed message with the standard library
// (RFC 7692 §7.2.2).
func stdInflate(t testing.TB, compressed []byte) []byte {
	t.Helper()
	r := stdflate.NewReader(io.MultiReader(bytes.NewReader(compressed), bytes.NewReader(deflateTail)))
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflating %d bytes: %v", len(compressed), err)
	}
	return out
}

// deflatedFrames cuts a compressed message into frames at cuts (offsets in
// compressed), the first with op and RSV1, the rest continuations, the last
// final; masked as a client sends them.
func deflatedFrames(op ws.OpCode, compressed []byte, cuts ...int) []byte {
	var out []byte
	prev := 0
	ends := append(cuts, len(compressed))
	for i, end := range ends {
		frameOp := ws.OpContinuation
		if i == 0 {
			frameOp = op
		}
		frame := AppendMaskedFrame(nil, frameOp, i == len(ends)-1, testMask, compressed[prev:end])
		if i == 0 {
			frame[0] |= rsv1
		}
		out = append(out, frame...)
		prev = end
	}
	return out
}

// rawFrame is a masked client frame with bits (RSV1-3) set.
func rawFrame(op ws.OpCode, fin bool, bits byte, payload []byte) []byte {
	return setBits(AppendMaskedFrame(nil, op, fin, testMask, payload), bits)
}

// maskFrame turns a server's unmasked frame into the client's masked one,
// keeping its first byte (FIN, RSV bits, opcode).
func maskFrame(frame []byte, mask [4]byte) []byte {
	hdr := headerSize(frame[1])
	payload := frame[hdr:]
	out := AppendMaskedFrame(nil, ws.OpCode(frame[0]&0x0f), true, mask, payload)
	out[0] = frame[0]
	return out
}

// compressible is text of size bytes that deflates well but not trivially.
func compressible(size int) []byte {
	rng := rand.New(rand.NewPCG(1, uint64(size)))
	words := []string{"gateway ", "socket ", "frame ", "loop ", "pub ", "sub ", "topic ", "αβγ "}
	var b []byte
	for len(b) < size {
		b = append(b, words[rng.IntN(len(words))]...)
	}
	return b[:size:size]
}

// runDeflateCases is runDecoderCases for a permessage-deflate connection:
// SetDeflate(true) on every decoder.
func runDeflateCases(t *testing.T, cases []decoderCase) {
	t.Helper()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.wantErr != nil {
				if got := CloseCode(tc.wantErr); got != tc.code {
					t.Fatalf("CloseCode(%v) = %d, want %d", tc.wantErr, got, tc.code)
				}
			}
			for _, f := range feedsFor(uint64(i) + 100) {
				d := NewDecoder(tc.side, tc.limits)
				d.SetDeflate(true)
				got := decodeFeed(d, tc.input, f)
				d.Reset()
				if s := got.diff(tc.want, tc.wantErr); s != "" {
					t.Errorf("feed %s: %s", f.name, s)
				}
			}
		})
	}
}

func TestDecoderDeflate(t *testing.T) {
	t.Parallel()
	text := compressible(3000)
	z := stdDeflate(t, text, stdflate.DefaultCompression)
	zFast := stdDeflate(t, json1K, stdflate.BestSpeed)
	var final bytes.Buffer // a message ending in a BFINAL block (§7.2.3.4)
	fw, _ := stdflate.NewWriter(&final, stdflate.BestSpeed)
	_, _ = fw.Write(json1K)
	_ = fw.Close()
	badUTF8 := stdDeflate(t, []byte("valid until \xff here"), stdflate.BestSpeed)
	empty := stdDeflate(t, nil, stdflate.BestSpeed) // "\x00": RFC 7692 §7.2.3.6
	zeros := stdDeflate(t, make([]byte, 2000), stdflate.BestCompression)
	uncompressed := bytes.Repeat([]byte("n"), 1000)

	runDeflateCases(t, []decoderCase{
		{name: "text one frame", input: deflatedFrames(ws.OpText, z), want: []Message{{Op: ws.OpText, Payload: text}}},
		{name: "binary one frame", input: deflatedFrames(ws.OpBinary, zFast), want: []Message{{Op: ws.OpBinary, Payload: json1K}}},
		{name: "three fragments", input: deflatedFrames(ws.OpText, z, 1, len(z)/2),
			want: []Message{{Op: ws.OpText, Payload: text}}},
		{name: "empty fragments around", input: deflatedFrames(ws.OpText, z, 0, 0, len(z), len(z)),
			want: []Message{{Op: ws.OpText, Payload: text}}},
		{name: "ping between fragments", input: concat(rawFrame(ws.OpText, false, rsv1, z[:10]),
			clientFrame(ws.OpPing, true, "p"), rawFrame(ws.OpContinuation, true, 0, z[10:])),
			want: []Message{msg(ws.OpPing, "p"), {Op: ws.OpText, Payload: text}}},
		{name: "final block", input: deflatedFrames(ws.OpText, final.Bytes()), want: []Message{{Op: ws.OpText, Payload: json1K}}},
		{name: "empty message", input: deflatedFrames(ws.OpBinary, empty), want: []Message{{Op: ws.OpBinary, Payload: nil}}},
		{name: "compressed then plain", input: concat(deflatedFrames(ws.OpText, zFast), clientFrame(ws.OpText, true, "plain"),
			deflatedFrames(ws.OpBinary, z)),
			want: []Message{{Op: ws.OpText, Payload: json1K}, msg(ws.OpText, "plain"), {Op: ws.OpBinary, Payload: text}}},
		{name: "plain fragments then compressed", input: concat(clientFrame(ws.OpBinary, false, "a"),
			clientFrame(ws.OpContinuation, true, "b"), deflatedFrames(ws.OpText, zFast)),
			want: []Message{msg(ws.OpBinary, "ab"), {Op: ws.OpText, Payload: json1K}}},
		{name: "client side", side: ClientSide, input: setBits(serverFrame(ws.OpText, true, string(zFast)), rsv1),
			want: []Message{{Op: ws.OpText, Payload: json1K}}},
		{name: "limit equals inflated size", limits: &Limits{MaxMessageSize: int64(len(text))},
			input: deflatedFrames(ws.OpText, z), want: []Message{{Op: ws.OpText, Payload: text}}},

		{name: "RSV1 on continuation", input: concat(clientFrame(ws.OpText, false, "a"),
			setBits(clientFrame(ws.OpContinuation, true, "b"), rsv1)), wantErr: ErrRSV1Misplaced, code: 1002},
		{name: "RSV1 on continuation of compressed", input: concat(rawFrame(ws.OpText, false, rsv1, z[:5]),
			rawFrame(ws.OpContinuation, true, rsv1, z[5:])), wantErr: ErrRSV1Misplaced, code: 1002},
		{name: "RSV1 on ping", input: setBits(clientFrame(ws.OpPing, true, "p"), rsv1), wantErr: ErrRSV1Misplaced, code: 1002},
		{name: "RSV1 on close", input: setBits(clientFrame(ws.OpClose, true, ""), rsv1), wantErr: ErrRSV1Misplaced, code: 1002},
		{name: "RSV2", input: setBits(clientFrame(ws.OpText, true, "x"), 0x20), wantErr: ws.ErrProtocolNonZeroRsv, code: 1002},
		{name: "RSV1 and RSV3", input: setBits(clientFrame(ws.OpText, true, "x"), rsv1|0x10), wantErr: ws.ErrProtocolNonZeroRsv, code: 1002},
		{name: "corrupt", input: deflatedFrames(ws.OpBinary, []byte{0xff, 0xff, 0xff, 0xff}), wantErr: ErrBadCompressedData, code: 1007},
		{name: "truncated", input: deflatedFrames(ws.OpText, z[:len(z)/2]), wantErr: ErrBadCompressedData, code: 1007},
		{name: "not compressed at all", input: deflatedFrames(ws.OpText, uncompressed), wantErr: ErrBadCompressedData, code: 1007},
		{name: "invalid UTF-8 once inflated", input: deflatedFrames(ws.OpText, badUTF8), wantErr: ErrInvalidUTF8, code: 1007},
		{name: "invalid UTF-8 as binary", input: deflatedFrames(ws.OpBinary, badUTF8),
			want: []Message{msg(ws.OpBinary, "valid until \xff here")}},
		{name: "inflated over the limit", limits: &Limits{MaxMessageSize: 1999}, input: deflatedFrames(ws.OpBinary, zeros),
			wantErr: ErrMessageTooBig, code: 1009},
		{name: "compressed over the limit", limits: &Limits{MaxMessageSize: int64(len(z) - 1)},
			input: deflatedFrames(ws.OpText, z, len(z)/2), wantErr: ErrMessageTooBig, code: 1009},
	})
}

// TestDecoderDeflateToggle: one decoder serves connections with and without
// permessage-deflate between messages, as the reactor's loop decoder does.
func TestDecoderDeflateToggle(t *testing.T) {
	t.Parallel()
	z := stdDeflate(t, json1K, stdflate.BestSpeed)
	d := NewDecoder(ServerSide, nil)
	defer d.Reset()
	steps := []struct {
		deflate bool
		frame   []byte
		want    []byte
		err     error
	}{
		{true, deflatedFrames(ws.OpText, z), json1K, nil},
		{false, clientFrame(ws.OpText, true, "plain"), []byte("plain"), nil},
		{true, clientFrame(ws.OpBinary, true, "plain too"), []byte("plain too"), nil},
		{true, deflatedFrames(ws.OpBinary, z), json1K, nil},
		{false, deflatedFrames(ws.OpText, z), nil, ws.ErrProtocolNonZeroRsv},
	}
	for i, s := range steps {
		d.SetDeflate(s.deflate)
		m, n, err := d.Next(s.frame)
		if err != s.err || (err == nil && (n != len(s.frame) || !bytes.Equal(m.Payload, s.want))) {
			t.Fatalf("step %d: %d of %d bytes, %q, %v; want %q, %v", i, n, len(s.frame), snippet(m.Payload), err, snippet(s.want), s.err)
		}
		if err == nil && !d.Idle() {
			t.Fatalf("step %d: not idle after a whole message", i)
		}
	}
}

// TestDecoderDeflateKeepsModeOfFirstFrame: a compressed message begun with
// deflate on is inflated even if the flag is read again as off before its
// last frame (the mode belongs to the message), and the decoder is not idle
// in between.
func TestDecoderDeflateKeepsModeOfFirstFrame(t *testing.T) {
	t.Parallel()
	z := stdDeflate(t, json1K, stdflate.BestSpeed)
	in := deflatedFrames(ws.OpText, z, 7)
	d := NewDecoder(ServerSide, nil)
	defer d.Reset()
	d.SetDeflate(true)
	cut := 7 + 2 + 4 // the first frame: 2-byte header, mask, 7 bytes
	if _, n, err := d.Next(in[:cut]); err != nil || n != cut || d.Idle() {
		t.Fatalf("first frame: %d, %v, idle %v", n, err, d.Idle())
	}
	d.SetDeflate(false)
	m, _, err := d.Next(in[cut:])
	if err != nil || !bytes.Equal(m.Payload, json1K) {
		t.Fatalf("%q, %v", snippet(m.Payload), err)
	}
	if !d.Idle() {
		t.Fatal("not idle after the message")
	}
}

// TestDecoderDeflateBomb: 10 MB of zeros compressed to about 10 KB, under a
// 1 MiB limit, fails with 1009 having produced at most the limit and a byte.
func TestDecoderDeflateBomb(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	z := stdDeflate(t, make([]byte, 10<<20), stdflate.BestCompression)
	if len(z) > 16<<10 {
		t.Fatalf("bomb of %d bytes", len(z))
	}
	in := deflatedFrames(ws.OpBinary, z)
	d := NewDecoder(ServerSide, &Limits{MaxMessageSize: limit})
	defer d.Reset()
	d.SetDeflate(true)
	_, _, err := d.Next(in)
	if err != ErrMessageTooBig || CloseCode(err) != ws.StatusMessageTooBig {
		t.Fatalf("err %v, want ErrMessageTooBig", err)
	}
	// The output buffer is all the inflater ever wrote to.
	if got := len(d.msg.B); got != limit+1 {
		t.Fatalf("inflated %d bytes before failing, want %d", got, limit+1)
	}
	if got := cap(d.msg.B); got > limit+limit/64 {
		t.Fatalf("output buffer grew to %d bytes for a %d limit", got, limit)
	}
}

// TestInflateBoundedChunks drives inflate directly with limits around the
// inflated size: exactly the size passes, one less fails having produced
// exactly limit+1 bytes.
func TestInflateBoundedChunks(t *testing.T) {
	t.Parallel()
	text := compressible(100_000)
	src := append(stdDeflate(t, text, stdflate.BestSpeed), deflateTail...)
	for _, limit := range []int64{0, 1, 511, 512, 513, 4096, 99_999, 100_000, 1 << 40} {
		out, err := inflate(nil, src, limit)
		switch {
		case limit >= int64(len(text)):
			if err != nil || !bytes.Equal(out, text) {
				t.Fatalf("limit %d: %d bytes, %v", limit, len(out), err)
			}
		case err != ErrMessageTooBig || int64(len(out)) != limit+1:
			t.Fatalf("limit %d: %d bytes, %v; want %d, ErrMessageTooBig", limit, len(out), err, limit+1)
		case !bytes.Equal(out, text[:len(out)]):
			t.Fatalf("limit %d: the output so far differs", limit)
		}
	}
}

// TestDecoderDeflateAllocs is the inflate allocation budget: once the pools
// are warm, a compressed message costs nothing.
func TestDecoderDeflateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	frame := maskFrame(AppendDeflatedFrame(nil, ws.OpText, json1K), asciiMask)
	in := make([]byte, len(frame))
	d := NewDecoder(ServerSide, nil)
	defer d.Reset()
	allocs := testing.AllocsPerRun(100, func() {
		copy(in, frame)
		d.SetDeflate(true)
		m, _, err := d.Next(in)
		if err != nil || len(m.Payload) != len(json1K) {
			t.Fatalf("%v, %d bytes", err, len(m.Payload))
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per compressed message, want 0", allocs)
	}
}

// deflateSizes are payloads around CompressionMinSize and the length
// encodings, compressible, incompressible and empty.
func deflatePayloads() map[string][]byte {
	rng := rand.New(rand.NewPCG(7, 7))
	random := make([]byte, 1024)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"empty":            nil,
		"one byte":         []byte("x"),
		"json 1K":          json1K,
		"compressible 125": compressible(125),
		"compressible 256": compressible(256),
		"compressible 64K": compressible(65536),
		"zeros 1M":         make([]byte, 1<<20),
		"random 1K":        random,
	}
}

// TestAppendDeflatedFrame checks every frame against the standard library's
// inflate and against the Decoder, and that RSV1 is set exactly when the
// payload shrank.
func TestAppendDeflatedFrame(t *testing.T) {
	t.Parallel()
	for name, payload := range deflatePayloads() {
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
			if op == ws.OpText && !utf8.Valid(payload) {
				continue
			}
			prefix := []byte("kept")
			frame := AppendDeflatedFrame(bytes.Clone(prefix), op, payload)
			if !bytes.HasPrefix(frame, prefix) {
				t.Fatalf("%s: dst's bytes overwritten", name)
			}
			frame = frame[len(prefix):]
			body := frame[headerSize(frame[1]):]
			if frame[0]&0x0f != byte(op) || frame[0]&0x80 == 0 || frame[0]&0x30 != 0 {
				t.Fatalf("%s: first byte %08b", name, frame[0])
			}
			if n := parseLength(frame); n != len(body) {
				t.Fatalf("%s: header says %d bytes, body has %d", name, n, len(body))
			}
			if frame[0]&rsv1 == 0 {
				if !bytes.Equal(frame, AppendFrame(nil, op, true, payload)) {
					t.Fatalf("%s: RSV1 clear but not the plain frame", name)
				}
				// klauspost's level 1 does no LZ77 below 128 bytes.
				if len(payload) >= CompressionMinSize && name != "random 1K" {
					t.Errorf("%s: not compressed", name)
				}
			} else {
				if len(body) >= len(payload) {
					t.Fatalf("%s: compressed to %d bytes from %d", name, len(body), len(payload))
				}
				if got := stdInflate(t, body); !bytes.Equal(got, payload) {
					t.Fatalf("%s: inflates to %d bytes, want %d", name, len(got), len(payload))
				}
			}
			d := NewDecoder(ClientSide, nil)
			d.SetDeflate(true)
			m, n, err := d.Next(frame)
			if err != nil || n != len(frame) || m.Op != op || !bytes.Equal(m.Payload, payload) {
				t.Fatalf("%s: decoded %v %d bytes (%d consumed), %v", name, m.Op, len(m.Payload), n, err)
			}
			d.Reset()
		}
	}
}

// parseLength reads an unmasked frame's payload length.
func parseLength(frame []byte) int {
	switch n := frame[1] & 0x7f; n {
	case 126:
		return int(binary.BigEndian.Uint16(frame[2:]))
	case 127:
		return int(binary.BigEndian.Uint64(frame[2:]))
	default:
		return int(n)
	}
}

// TestAppendDeflatedFrameNoContextTakeover: the same payload twice gives
// the same bytes twice; a compressor that kept its window would refer back
// to the first copy.
func TestAppendDeflatedFrameNoContextTakeover(t *testing.T) {
	t.Parallel()
	a := AppendDeflatedFrame(nil, ws.OpText, json1K)
	for range 3 {
		if b := AppendDeflatedFrame(nil, ws.OpText, json1K); !bytes.Equal(a, b) {
			t.Fatal("the second compression differs from the first")
		}
	}
}

func TestAppendDeflatedFrameAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	dst := make([]byte, 0, 4096)
	AppendDeflatedFrame(dst, ws.OpText, json1K) // warm the pool
	allocs := testing.AllocsPerRun(100, func() {
		dst = AppendDeflatedFrame(dst[:0], ws.OpText, json1K)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations, want 0", allocs)
	}
}

func TestPreparedDeflated(t *testing.T) {
	t.Parallel()
	for name, payload := range deflatePayloads() {
		p := Prepare(ws.OpText, payload)
		frame, first := p.Deflated(CompressionMinSize)
		again, second := p.Deflated(0)
		if !first || second || &frame[0] != &again[0] {
			t.Fatalf("%s: first %v then %v, same bytes %v", name, first, second, &frame[0] == &again[0])
		}
		want := AppendDeflatedFrame(nil, ws.OpText, payload)
		if len(payload) < CompressionMinSize {
			want = p.Bytes()
		}
		if !bytes.Equal(frame, want) {
			t.Fatalf("%s: Deflated differs from AppendDeflatedFrame", name)
		}
		if compressed := frame[0]&rsv1 != 0; compressed != (p.deflated != nil) || !compressed && &frame[0] != &p.Bytes()[0] {
			t.Fatalf("%s: compressed %v, deflated buffer held %v", name, compressed, p.deflated != nil)
		}
		p.Release()
		if p.buf != nil || p.deflated != nil {
			t.Fatalf("%s: buffers held after the last release", name)
		}
	}
}

// TestPreparedDeflatedConcurrent: eight goroutines ask at once; one
// compresses, all get the same bytes; run with -race.
func TestPreparedDeflatedConcurrent(t *testing.T) {
	t.Parallel()
	const holders = 8
	want := AppendDeflatedFrame(nil, ws.OpText, json1K)
	for range 50 {
		p := Prepare(ws.OpText, json1K)
		p.Retain(holders)
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			firsts int
			bad    int
		)
		start := make(chan struct{})
		for range holders {
			wg.Go(func() {
				<-start
				frame, first := p.Deflated(CompressionMinSize)
				mu.Lock()
				if first {
					firsts++
				}
				if !bytes.Equal(frame, want) {
					bad++
				}
				mu.Unlock()
				p.Release()
			})
		}
		close(start)
		p.Release()
		wg.Wait()
		if firsts != 1 || bad != 0 {
			t.Fatalf("%d calls reported the compression, %d saw the wrong bytes", firsts, bad)
		}
		if p.buf != nil || p.deflated != nil {
			t.Fatal("buffers held after every release")
		}
	}
}

// TestPreparedSize: a Prepared is allocated per publication (not per
// connection); compression and the variant each add a pointer and a
// sync.Once, which keeps it in the 64-byte size class.
func TestPreparedSize(t *testing.T) {
	if got := unsafe.Sizeof(Prepared{}); got > 64 {
		t.Fatalf("Prepared is %d bytes, budget 64", got)
	}
}
