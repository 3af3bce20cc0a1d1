package wsproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// testMask is the masking key of the examples in RFC 6455 §5.7.
var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// frameLengths are the payload lengths around each change of the length
// encoding (RFC 6455 §5.2: 7 bits, then 16, then 64), plus a large one at the
// default frame limit. The decoder and encoder tests share them.
var frameLengths = []int{0, 1, 125, 126, 127, 65535, 65536, DefaultMaxFrameSize}

// clientFrame is a masked frame, as a client sends it.
func clientFrame(op ws.OpCode, fin bool, payload string) []byte {
	return AppendMaskedFrame(nil, op, fin, testMask, []byte(payload))
}

// serverFrame is an unmasked frame, as a server sends it.
func serverFrame(op ws.OpCode, fin bool, payload string) []byte {
	return AppendFrame(nil, op, fin, []byte(payload))
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// closeBody is a close frame payload: the code in network order, then reason.
func closeBody(code ws.StatusCode, reason string) string {
	return string(binary.BigEndian.AppendUint16(nil, uint16(code))) + reason
}

// maskPayload masks payload with testMask, for frames built with rawHeader.
func maskPayload(payload string) []byte {
	p := []byte(payload)
	ws.Cipher(p, testMask, 0)
	return p
}

// setBits ORs bits (FIN, RSV1-3) into a frame's first byte.
func setBits(frame []byte, bits byte) []byte {
	frame[0] |= bits
	return frame
}

// rawHeader encodes a frame header with the length in lenBytes (0, 2 or 8)
// extended length bytes, so tests can write headers the encoder never does.
func rawHeader(b0 byte, length uint64, lenBytes int, masked bool) []byte {
	var maskBit byte
	if masked {
		maskBit = 0x80
	}
	h := []byte{b0, 0}
	switch lenBytes {
	case 0:
		h[1] = maskBit | byte(length)
	case 2:
		h[1] = maskBit | 126
		h = binary.BigEndian.AppendUint16(h, uint16(length))
	case 8:
		h[1] = maskBit | 127
		h = binary.BigEndian.AppendUint64(h, length)
	}
	if masked {
		h = append(h, testMask[:]...)
	}
	return h
}

// feed delivers a byte stream to a decoder in reads of chosen lengths.
type feed struct {
	name  string
	chunk func(left int) int // length of the next read, in 1..left
}

// randomFeeds is how many random split patterns each decoder case runs.
const randomFeeds = 6

// feedsFor returns the whole, byte-by-byte and random feeds; seed makes the
// random ones reproducible.
func feedsFor(seed uint64) []feed {
	fs := []feed{
		{name: "whole", chunk: func(left int) int { return left }},
		{name: "bytewise", chunk: func(int) int { return 1 }},
	}
	maxReads := []int{3, 17, 1500}
	for i := range randomFeeds {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		maxRead := maxReads[i%len(maxReads)]
		fs = append(fs, feed{
			name:  fmt.Sprintf("random%d(seed=%d)", i, seed),
			chunk: func(left int) int { return 1 + rng.IntN(min(left, maxRead)) },
		})
	}
	return fs
}

// decoded is everything a decoder produced from one stream.
type decoded struct {
	msgs  []Message // in order, payloads copied
	err   error     // the first error; decoding stops there
	errAt int       // stream offset just past the bytes the failing call consumed
}

// decodeFeed runs d over a copy of data (Next unmasks in place) delivered as
// f dictates, calling Next until each read is consumed, as the reactor does.
// A call that breaks Next's contract ends the run with a descriptive error.
func decodeFeed(d *Decoder, data []byte, f feed) decoded {
	buf := bytes.Clone(data)
	var res decoded
	for off := 0; off < len(buf); {
		k := f.chunk(len(buf) - off)
		if k < 1 || k > len(buf)-off {
			panic(fmt.Sprintf("feed %s chose a read of %d bytes with %d left", f.name, k, len(buf)-off))
		}
		in := buf[off : off+k]
		for len(in) > 0 {
			m, n, err := d.Next(in)
			if n < 1 || n > len(in) {
				res.err = fmt.Errorf("Next consumed %d of %d bytes at offset %d", n, len(in), off)
				return res
			}
			off += n
			in = in[n:]
			if err != nil {
				res.err, res.errAt = err, off
				return res
			}
			if m.Op == ws.OpContinuation {
				if m.Payload != nil {
					res.err = fmt.Errorf("no message but a payload of %d bytes at offset %d", len(m.Payload), off)
					return res
				}
				continue
			}
			res.msgs = append(res.msgs, Message{Op: m.Op, Payload: bytes.Clone(m.Payload)})
		}
	}
	return res
}

// diff describes how got differs from the expected messages and error, or
// returns "" when they match exactly.
func (got decoded) diff(want []Message, wantErr error) string {
	if got.err != wantErr {
		return fmt.Sprintf("error %v, want %v (after %d messages)", got.err, wantErr, len(got.msgs))
	}
	if len(got.msgs) != len(want) {
		return fmt.Sprintf("%d messages, want %d", len(got.msgs), len(want))
	}
	for i, m := range got.msgs {
		if m.Op != want[i].Op || !bytes.Equal(m.Payload, want[i].Payload) {
			return fmt.Sprintf("message %d is %v %q (%d bytes), want %v %q (%d bytes)", i,
				m.Op, snippet(m.Payload), len(m.Payload), want[i].Op, snippet(want[i].Payload), len(want[i].Payload))
		}
	}
	return ""
}

func snippet(p []byte) []byte {
	if len(p) > 32 {
		return p[:32]
	}
	return p
}

func msg(op ws.OpCode, payload string) Message {
	return Message{Op: op, Payload: []byte(payload)}
}

// decoderCase is one input stream and everything it must decode to, whatever
// the read boundaries.
type decoderCase struct {
	name    string
	side    Side    // ServerSide (masked input) unless set
	limits  *Limits // nil: the defaults
	input   []byte
	want    []Message     // every message before the error, in order
	wantErr error         // the exact sentinel, nil for none
	code    ws.StatusCode // CloseCode(wantErr); checked so the mapping is explicit
}

// runDecoderCases runs every case fed whole, byte by byte and in random
// splits; each feed must give exactly the expected messages and error.
func runDecoderCases(t *testing.T, cases []decoderCase) {
	t.Helper()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.wantErr != nil {
				if got := CloseCode(tc.wantErr); got != tc.code {
					t.Fatalf("CloseCode(%v) = %d, want %d", tc.wantErr, got, tc.code)
				}
			}
			// The reference decoder must agree, or it is no oracle for fuzzing.
			if s := referenceDecode(tc.side, tc.limits, tc.input).diff(tc.want, tc.wantErr); s != "" {
				t.Errorf("referenceDecode: %s", s)
			}
			for _, f := range feedsFor(uint64(i) + 1) {
				d := NewDecoder(tc.side, tc.limits)
				got := decodeFeed(d, tc.input, f)
				d.Reset()
				if s := got.diff(tc.want, tc.wantErr); s != "" {
					t.Errorf("feed %s: %s", f.name, s)
				}
			}
		})
	}
}

func TestDecoderBoundaryLengths(t *testing.T) {
	t.Parallel()
	var cases []decoderCase
	for _, n := range frameLengths {
		payload := strings.Repeat("a", n)
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
			cases = append(cases, decoderCase{
				name:  fmt.Sprintf("%v/len=%d", op, n),
				input: clientFrame(op, true, payload),
				want:  []Message{msg(op, payload)},
			})
		}
		cases = append(cases, decoderCase{
			name:  fmt.Sprintf("client/len=%d", n),
			side:  ClientSide,
			input: serverFrame(ws.OpBinary, true, payload),
			want:  []Message{msg(ws.OpBinary, payload)},
		})
	}
	// RFC 6455 §5.2 asks senders for the minimal length encoding but does not
	// ask receivers to enforce it; the decoder accepts the longer forms.
	cases = append(cases,
		decoderCase{
			name:  "text with a 16-bit length of 5",
			input: concat(rawHeader(0x81, 5, 2, true), maskPayload("Hello")),
			want:  []Message{msg(ws.OpText, "Hello")},
		},
		decoderCase{
			name:  "pong with a 64-bit length of 5",
			input: concat(rawHeader(0x8a, 5, 8, true), maskPayload("12345")),
			want:  []Message{msg(ws.OpPong, "12345")},
		},
	)
	runDecoderCases(t, cases)
}

func TestDecoderProtocolViolations(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("p", MaxControlPayload+1)
	cases := []decoderCase{
		{
			name:    "64-bit length with the top bit set",
			input:   rawHeader(0x82, 1<<63, 8, true),
			wantErr: ErrLengthOverflow,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "64-bit length all ones",
			input:   rawHeader(0x82, math.MaxUint64, 8, true),
			wantErr: ErrLengthOverflow,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "unmasked client frame",
			input:   serverFrame(ws.OpText, true, "Hello"),
			wantErr: ws.ErrProtocolMaskRequired,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "unmasked empty client frame",
			input:   serverFrame(ws.OpBinary, true, ""),
			wantErr: ws.ErrProtocolMaskRequired,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "masked server frame",
			side:    ClientSide,
			input:   clientFrame(ws.OpText, true, "Hello"),
			wantErr: ws.ErrProtocolMaskUnexpected,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "RSV1",
			input:   setBits(clientFrame(ws.OpText, true, "a"), 0x40),
			wantErr: ws.ErrProtocolNonZeroRsv,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "RSV2",
			input:   setBits(clientFrame(ws.OpBinary, true, "a"), 0x20),
			wantErr: ws.ErrProtocolNonZeroRsv,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "RSV3",
			input:   setBits(clientFrame(ws.OpPing, true, "a"), 0x10),
			wantErr: ws.ErrProtocolNonZeroRsv,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "RSV1 after a good frame",
			input:   concat(clientFrame(ws.OpText, true, "ok"), setBits(clientFrame(ws.OpText, true, "a"), 0x40)),
			want:    []Message{msg(ws.OpText, "ok")},
			wantErr: ws.ErrProtocolNonZeroRsv,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "ping of 126 bytes",
			input:   clientFrame(ws.OpPing, true, long),
			wantErr: ws.ErrProtocolControlPayloadOverflow,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "close of 126 bytes",
			input:   clientFrame(ws.OpClose, true, closeBody(1000, long[:124])),
			wantErr: ws.ErrProtocolControlPayloadOverflow,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "ping not FIN",
			input:   clientFrame(ws.OpPing, false, "x"),
			wantErr: ws.ErrProtocolControlNotFinal,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "close not FIN",
			input:   clientFrame(ws.OpClose, false, ""),
			wantErr: ws.ErrProtocolControlNotFinal,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "continuation without a start",
			input:   clientFrame(ws.OpContinuation, true, "x"),
			wantErr: ws.ErrProtocolContinuationUnexpected,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "continuation after a finished message",
			input:   concat(clientFrame(ws.OpText, true, "a"), clientFrame(ws.OpContinuation, true, "b")),
			want:    []Message{msg(ws.OpText, "a")},
			wantErr: ws.ErrProtocolContinuationUnexpected,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "text inside a fragmented message",
			input:   concat(clientFrame(ws.OpText, false, "a"), clientFrame(ws.OpText, true, "b")),
			wantErr: ws.ErrProtocolContinuationExpected,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "binary inside a fragmented message",
			input:   concat(clientFrame(ws.OpText, false, "a"), clientFrame(ws.OpBinary, true, "b")),
			wantErr: ws.ErrProtocolContinuationExpected,
			code:    ws.StatusProtocolError,
		},
		{
			name: "text inside a fragmented message after a ping",
			input: concat(clientFrame(ws.OpBinary, false, "a"), clientFrame(ws.OpPing, true, "p"),
				clientFrame(ws.OpText, true, "b")),
			want:    []Message{msg(ws.OpPing, "p")},
			wantErr: ws.ErrProtocolContinuationExpected,
			code:    ws.StatusProtocolError,
		},
	}
	for _, op := range []ws.OpCode{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		cases = append(cases, decoderCase{
			name:    fmt.Sprintf("reserved opcode %#x", byte(op)),
			input:   clientFrame(op, true, "x"),
			wantErr: ws.ErrProtocolOpCodeReserved,
			code:    ws.StatusProtocolError,
		})
	}
	runDecoderCases(t, cases)
}

func TestDecoderFragmentation(t *testing.T) {
	t.Parallel()
	cases := []decoderCase{
		{
			name: "three fragments",
			input: concat(clientFrame(ws.OpText, false, "Hel"), clientFrame(ws.OpContinuation, false, "lo, "),
				clientFrame(ws.OpContinuation, true, "world")),
			want: []Message{msg(ws.OpText, "Hello, world")},
		},
		{
			name: "empty fragments",
			input: concat(clientFrame(ws.OpBinary, false, ""), clientFrame(ws.OpContinuation, false, "x"),
				clientFrame(ws.OpContinuation, true, "")),
			want: []Message{msg(ws.OpBinary, "x")},
		},
		{
			name: "control frames interleaved",
			input: concat(
				clientFrame(ws.OpText, false, "Hel"),
				clientFrame(ws.OpPing, true, "p1"),
				clientFrame(ws.OpContinuation, false, "lo"),
				clientFrame(ws.OpPong, true, ""),
				clientFrame(ws.OpClose, true, closeBody(ws.StatusGoingAway, "bye")),
				clientFrame(ws.OpContinuation, true, " world"),
			),
			want: []Message{
				msg(ws.OpPing, "p1"),
				msg(ws.OpPong, ""),
				msg(ws.OpClose, closeBody(ws.StatusGoingAway, "bye")),
				msg(ws.OpText, "Hello world"),
			},
		},
		{
			name: "125-byte ping between 1000-byte fragments",
			input: concat(
				clientFrame(ws.OpBinary, false, strings.Repeat("a", 1000)),
				clientFrame(ws.OpPing, true, strings.Repeat("p", 125)),
				clientFrame(ws.OpContinuation, true, strings.Repeat("b", 1000)),
			),
			want: []Message{
				msg(ws.OpPing, strings.Repeat("p", 125)),
				msg(ws.OpBinary, strings.Repeat("a", 1000)+strings.Repeat("b", 1000)),
			},
		},
		{
			name: "messages after a fragmented one",
			input: concat(
				clientFrame(ws.OpText, false, "a"),
				clientFrame(ws.OpContinuation, true, "b"),
				clientFrame(ws.OpBinary, true, "c"),
				clientFrame(ws.OpText, false, "d"),
				clientFrame(ws.OpContinuation, true, "e"),
			),
			want: []Message{msg(ws.OpText, "ab"), msg(ws.OpBinary, "c"), msg(ws.OpText, "de")},
		},
		{
			name: "unmasked fragments on the client side",
			side: ClientSide,
			input: concat(serverFrame(ws.OpText, false, "a"), serverFrame(ws.OpPing, true, "p"),
				serverFrame(ws.OpContinuation, true, "b")),
			want: []Message{msg(ws.OpPing, "p"), msg(ws.OpText, "ab")},
		},
	}
	runDecoderCases(t, cases)
}

func TestDecoderUTF8(t *testing.T) {
	t.Parallel()
	cases := []decoderCase{
		{
			name:  "valid multilingual text",
			input: clientFrame(ws.OpText, true, "Hello-µ@ßöäüàá-UTF-8!! κόσμε 😀"),
			want:  []Message{msg(ws.OpText, "Hello-µ@ßöäüàá-UTF-8!! κόσμε 😀")},
		},
		{
			name:    "byte FF",
			input:   clientFrame(ws.OpText, true, "ab\xff"),
			wantErr: ErrInvalidUTF8,
			code:    ws.StatusInvalidFramePayloadData,
		},
		{
			name:    "overlong NUL",
			input:   clientFrame(ws.OpText, true, "\xc0\x80"),
			wantErr: ErrInvalidUTF8,
			code:    ws.StatusInvalidFramePayloadData,
		},
		{
			name:    "surrogate U+D800",
			input:   clientFrame(ws.OpText, true, "\xed\xa0\x80"),
			wantErr: ErrInvalidUTF8,
			code:    ws.StatusInvalidFramePayloadData,
		},
		{
			name:    "above U+10FFFF",
			input:   clientFrame(ws.OpText, true, "\xf4\x90\x80\x80"),
			wantErr: ErrInvalidUTF8,
			code:    ws.StatusInvalidFramePayloadData,
		},
		{
			name:    "ends inside a code point",
			input:   clientFrame(ws.OpText, true, "ab\xe2\x82"),
			wantErr: ErrInvalidUTF8,
			code:    ws.StatusInvalidFramePayloadData,
		},
		{
			name: "euro sign split across fragments",
			input: concat(clientFrame(ws.OpText, false, "a\xe2"), clientFrame(ws.OpContinuation, false, "\x82"),
				clientFrame(ws.OpContinuation, true, "\xacb")),
			want: []Message{msg(ws.OpText, "a€b")},
		},
		{
			name: "4-byte code point one byte per fragment",
			input: concat(clientFrame(ws.OpText, false, "\xf0"), clientFrame(ws.OpContinuation, false, "\x9f"),
				clientFrame(ws.OpPing, true, ""), clientFrame(ws.OpContinuation, false, "\x98"),
				clientFrame(ws.OpContinuation, true, "\x80")),
			want: []Message{msg(ws.OpPing, ""), msg(ws.OpText, "😀")},
		},
		{
			name:    "invalid continuation in the next fragment",
			input:   concat(clientFrame(ws.OpText, false, "a\xe2"), clientFrame(ws.OpContinuation, true, "\x28b")),
			wantErr: ErrInvalidUTF8,
			code:    ws.StatusInvalidFramePayloadData,
		},
		{
			name:    "message ends inside a code point",
			input:   concat(clientFrame(ws.OpText, false, "a\xe2"), clientFrame(ws.OpContinuation, true, "\x82")),
			wantErr: ErrInvalidUTF8,
			code:    ws.StatusInvalidFramePayloadData,
		},
		{
			name:    "invalid in the first fragment of an unfinished message",
			input:   clientFrame(ws.OpText, false, "abc\xc0"),
			wantErr: ErrInvalidUTF8,
			code:    ws.StatusInvalidFramePayloadData,
		},
		{
			name:  "binary is not checked",
			input: clientFrame(ws.OpBinary, true, "\xff\xc0\x80\xed\xa0\x80"),
			want:  []Message{msg(ws.OpBinary, "\xff\xc0\x80\xed\xa0\x80")},
		},
		{
			name:  "ping payload is not checked",
			input: clientFrame(ws.OpPing, true, "\xff"),
			want:  []Message{msg(ws.OpPing, "\xff")},
		},
		{
			name: "text after a binary message",
			input: concat(clientFrame(ws.OpBinary, false, "\xe2"), clientFrame(ws.OpContinuation, true, "\xff"),
				clientFrame(ws.OpText, true, "ok")),
			want: []Message{msg(ws.OpBinary, "\xe2\xff"), msg(ws.OpText, "ok")},
		},
	}
	runDecoderCases(t, cases)
}

func TestDecoderLimits(t *testing.T) {
	t.Parallel()
	small := &Limits{MaxFrameSize: 10, MaxMessageSize: 25}
	huge := &Limits{MaxFrameSize: math.MaxInt64, MaxMessageSize: math.MaxInt64}
	ten := strings.Repeat("x", 10)
	cases := []decoderCase{
		{
			name:   "frame at MaxFrameSize",
			limits: small,
			input:  clientFrame(ws.OpText, true, ten),
			want:   []Message{msg(ws.OpText, ten)},
		},
		{
			name:    "frame over MaxFrameSize",
			limits:  small,
			input:   clientFrame(ws.OpBinary, true, ten+"x"),
			wantErr: ErrFrameTooBig,
			code:    ws.StatusMessageTooBig,
		},
		{
			name:    "continuation over MaxFrameSize",
			limits:  small,
			input:   concat(clientFrame(ws.OpBinary, false, "a"), clientFrame(ws.OpContinuation, true, ten+"x")),
			wantErr: ErrFrameTooBig,
			code:    ws.StatusMessageTooBig,
		},
		{
			name:   "message at MaxMessageSize",
			limits: small,
			input: concat(clientFrame(ws.OpText, false, ten), clientFrame(ws.OpContinuation, false, ten),
				clientFrame(ws.OpContinuation, true, "12345")),
			want: []Message{msg(ws.OpText, ten+ten+"12345")},
		},
		{
			name:   "message over MaxMessageSize",
			limits: small,
			input: concat(clientFrame(ws.OpText, false, ten), clientFrame(ws.OpContinuation, false, ten),
				clientFrame(ws.OpContinuation, true, "123456")),
			wantErr: ErrMessageTooBig,
			code:    ws.StatusMessageTooBig,
		},
		{
			name:   "control frames do not count toward the message",
			limits: small,
			input: concat(clientFrame(ws.OpText, false, ten), clientFrame(ws.OpPing, true, ten+ten),
				clientFrame(ws.OpContinuation, false, ten), clientFrame(ws.OpContinuation, true, "12345")),
			want: []Message{msg(ws.OpPing, ten+ten), msg(ws.OpText, ten+ten+"12345")},
		},
		{
			name:   "size counts restart with each message",
			limits: small,
			input: concat(clientFrame(ws.OpText, false, ten), clientFrame(ws.OpContinuation, true, ten),
				clientFrame(ws.OpText, false, ten), clientFrame(ws.OpContinuation, true, ten)),
			want: []Message{msg(ws.OpText, ten+ten), msg(ws.OpText, ten+ten)},
		},
		{
			name:    "frame of 2^63-1 bytes with default limits",
			input:   rawHeader(0x82, math.MaxInt64, 8, true),
			wantErr: ErrFrameTooBig,
			code:    ws.StatusMessageTooBig,
		},
		{
			name:    "frame one over the default limit",
			input:   rawHeader(0x82, DefaultMaxFrameSize+1, 8, true),
			wantErr: ErrFrameTooBig,
			code:    ws.StatusMessageTooBig,
		},
		{
			// The sum of two lengths near the limit must not wrap around.
			name:    "message length overflowing int64",
			limits:  huge,
			input:   concat(clientFrame(ws.OpBinary, false, "ab"), rawHeader(0x80, math.MaxInt64, 8, true)),
			wantErr: ErrMessageTooBig,
			code:    ws.StatusMessageTooBig,
		},
		{
			// Limits' zero fields mean the defaults, not zero bytes.
			name:   "limits with only MaxFrameSize set",
			limits: &Limits{MaxFrameSize: 100},
			input:  clientFrame(ws.OpText, true, "hi"),
			want:   []Message{msg(ws.OpText, "hi")},
		},
		{
			name:   "zero limits",
			limits: &Limits{},
			input:  clientFrame(ws.OpBinary, true, strings.Repeat("z", 70000)),
			want:   []Message{msg(ws.OpBinary, strings.Repeat("z", 70000))},
		},
	}
	runDecoderCases(t, cases)
}

func TestDecoderCloseFrames(t *testing.T) {
	t.Parallel()
	cases := []decoderCase{
		{
			name:  "empty close",
			input: clientFrame(ws.OpClose, true, ""),
			want:  []Message{msg(ws.OpClose, "")},
		},
		{
			name:  "close with a reason",
			input: clientFrame(ws.OpClose, true, closeBody(ws.StatusNormalClosure, "bye ✓")),
			want:  []Message{msg(ws.OpClose, closeBody(ws.StatusNormalClosure, "bye ✓"))},
		},
		{
			name:  "close with a 123-byte reason",
			input: clientFrame(ws.OpClose, true, closeBody(4000, strings.Repeat("r", 123))),
			want:  []Message{msg(ws.OpClose, closeBody(4000, strings.Repeat("r", 123)))},
		},
		{
			name:    "close payload of one byte",
			input:   clientFrame(ws.OpClose, true, "\x03"),
			wantErr: ErrCloseTooShort,
			code:    ws.StatusProtocolError,
		},
		{
			name:    "close reason not UTF-8",
			input:   clientFrame(ws.OpClose, true, closeBody(ws.StatusNormalClosure, "\xce\xba\xe1\xbd")),
			wantErr: ErrCloseReasonUTF8,
			code:    ws.StatusInvalidFramePayloadData,
		},
	}
	for _, c := range []ws.StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999} {
		cases = append(cases, decoderCase{
			name:  fmt.Sprintf("code %d", c),
			input: clientFrame(ws.OpClose, true, closeBody(c, "")),
			want:  []Message{msg(ws.OpClose, closeBody(c, ""))},
		})
	}
	for _, c := range []ws.StatusCode{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		cases = append(cases, decoderCase{
			name:    fmt.Sprintf("code %d", c),
			input:   clientFrame(ws.OpClose, true, closeBody(c, "")),
			wantErr: ErrCloseCodeInvalid,
			code:    ws.StatusProtocolError,
		})
	}
	runDecoderCases(t, cases)
}

// TestDecoderHeaderSplitAcrossReads cuts the longest header (64-bit length
// and mask, 14 bytes) at every offset; the first read must be consumed
// whole without a message and the second must complete it.
func TestDecoderHeaderSplitAcrossReads(t *testing.T) {
	t.Parallel()
	payload := strings.Repeat("h", 65536)
	frame := clientFrame(ws.OpText, true, payload)
	if got := len(frame) - len(payload); got != ws.MaxHeaderSize {
		t.Fatalf("header is %d bytes, want %d", got, ws.MaxHeaderSize)
	}
	for cut := 1; cut < ws.MaxHeaderSize; cut++ {
		in := bytes.Clone(frame)
		d := NewDecoder(ServerSide, nil)
		m, n, err := d.Next(in[:cut])
		if err != nil || n != cut || m.Op != ws.OpContinuation {
			t.Fatalf("cut %d: first read gave %v, %d, %v; want no message, %d, nil", cut, m.Op, n, err, cut)
		}
		m, n, err = d.Next(in[cut:])
		if err != nil || n != len(in)-cut || m.Op != ws.OpText || string(m.Payload) != payload {
			t.Fatalf("cut %d: second read gave %v (%d bytes), %d, %v; want text (%d bytes), %d, nil",
				cut, m.Op, len(m.Payload), n, err, len(payload), len(in)-cut)
		}
		d.Reset()
	}
}

// TestDecoderMaskOffsetAcrossReads cuts a masked payload at every offset,
// so unmasking resumes at every mask position and every alignment of the
// block-wise cipher.
func TestDecoderMaskOffsetAcrossReads(t *testing.T) {
	t.Parallel()
	var payload []byte
	for i := range 100 {
		payload = append(payload, byte('!'+i%90))
	}
	frame := clientFrame(ws.OpBinary, true, string(payload))
	hdr := len(frame) - len(payload)
	for cut := hdr; cut < len(frame); cut++ {
		for _, second := range []int{len(frame), cut + 1, cut + 17} {
			second = min(second, len(frame))
			in := bytes.Clone(frame)
			d := NewDecoder(ServerSide, nil)
			got := decodeFeed(d, in, feed{name: "three reads", chunk: threeReads(cut, second)})
			if s := got.diff([]Message{{Op: ws.OpBinary, Payload: payload}}, nil); s != "" {
				t.Fatalf("reads cut at %d and %d: %s", cut, second, s)
			}
			d.Reset()
		}
	}
}

// threeReads delivers a stream as [0:a], [a:b], [b:].
func threeReads(a, b int) func(int) int {
	off := 0
	return func(left int) int {
		var k int
		switch {
		case off < a:
			k = a - off
		case off < b:
			k = b - off
		default:
			k = left
		}
		off += k
		return k
	}
}

// TestDecoderOneMessagePerCall puts several frames in one buffer: each call
// returns the next message and consumes exactly its frame.
func TestDecoderOneMessagePerCall(t *testing.T) {
	t.Parallel()
	frames := [][]byte{
		clientFrame(ws.OpText, true, "a"),
		clientFrame(ws.OpBinary, true, strings.Repeat("b", 200)),
		clientFrame(ws.OpPing, true, ""),
		clientFrame(ws.OpText, false, "c"),
		clientFrame(ws.OpContinuation, true, "d"),
		clientFrame(ws.OpClose, true, closeBody(1000, "")),
	}
	wantN := []int{7, 208, 6, 7 + 7, 8}
	want := []Message{
		msg(ws.OpText, "a"),
		msg(ws.OpBinary, strings.Repeat("b", 200)),
		msg(ws.OpPing, ""),
		msg(ws.OpText, "cd"),
		msg(ws.OpClose, closeBody(1000, "")),
	}
	in := concat(frames...)
	d := NewDecoder(ServerSide, nil)
	defer d.Reset()
	for i := range want {
		m, n, err := d.Next(in)
		if err != nil || n != wantN[i] || m.Op != want[i].Op || !bytes.Equal(m.Payload, want[i].Payload) {
			t.Fatalf("call %d: %v %q, n=%d, err=%v; want %v %q, n=%d, nil",
				i, m.Op, snippet(m.Payload), n, err, want[i].Op, snippet(want[i].Payload), wantN[i])
		}
		in = in[n:]
	}
	if len(in) != 0 {
		t.Fatalf("%d bytes left over", len(in))
	}
}

// TestDecoderUTF8FailsOnTheBadByte checks that invalid text is refused on
// the call that delivers the first byte that cannot be UTF-8, not when the
// frame or message ends.
func TestDecoderUTF8FailsOnTheBadByte(t *testing.T) {
	t.Parallel()
	const hdr = 6 // 2 bytes, then the mask
	tests := []struct {
		name   string
		frames [][]byte
		badAt  int // stream offset of the first bad byte
	}{
		{
			name:   "FF in the first fragment",
			frames: [][]byte{clientFrame(ws.OpText, false, "abc\xffdef"), clientFrame(ws.OpContinuation, true, "ghi")},
			badAt:  hdr + 3,
		},
		{
			name:   "overlong second byte in the first fragment",
			frames: [][]byte{clientFrame(ws.OpText, false, "ab\xe0\x80cd"), clientFrame(ws.OpContinuation, true, "e")},
			badAt:  hdr + 3,
		},
		{
			name:   "bad byte early in a long single frame",
			frames: [][]byte{clientFrame(ws.OpText, true, "0123456789\xed\xa0"+strings.Repeat("z", 1000))},
			badAt:  2 + 2 + 4 + 11, // 16-bit length
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := concat(tc.frames...)
			d := NewDecoder(ServerSide, nil)
			got := decodeFeed(d, in, feed{name: "bytewise", chunk: func(int) int { return 1 }})
			d.Reset()
			if got.err != ErrInvalidUTF8 || got.errAt != tc.badAt+1 {
				t.Errorf("bytewise: error %v after %d bytes, want %v on the call that delivers byte %d",
					got.err, got.errAt, ErrInvalidUTF8, tc.badAt)
			}
			// Fed whole, the error must come before the next frame is read.
			d = NewDecoder(ServerSide, nil)
			got = decodeFeed(d, in, feed{name: "whole", chunk: func(left int) int { return left }})
			d.Reset()
			if got.err != ErrInvalidUTF8 || got.errAt > len(tc.frames[0]) {
				t.Errorf("whole: error %v after %d bytes, want %v within the first %d bytes",
					got.err, got.errAt, ErrInvalidUTF8, len(tc.frames[0]))
			}
		})
	}
}

// TestDecoderLimitFailsBeforePayload feeds only the header of a frame over a
// limit: the error must come as soon as the header is complete.
func TestDecoderLimitFailsBeforePayload(t *testing.T) {
	t.Parallel()
	limits := &Limits{MaxFrameSize: 1000, MaxMessageSize: 1500}
	tests := []struct {
		name    string
		prefix  []byte // complete frames before the header
		header  []byte
		wantErr error
	}{
		{
			name:    "frame over the limit",
			header:  rawHeader(0x82, 1001, 2, true),
			wantErr: ErrFrameTooBig,
		},
		{
			name:    "frame of 2^40 bytes",
			header:  rawHeader(0x81, 1<<40, 8, true),
			wantErr: ErrFrameTooBig,
		},
		{
			name:    "message over the limit",
			prefix:  clientFrame(ws.OpBinary, false, strings.Repeat("a", 1000)),
			header:  rawHeader(0x80, 501, 2, true),
			wantErr: ErrMessageTooBig,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := concat(tc.prefix, tc.header)
			for _, f := range feedsFor(7) {
				d := NewDecoder(ServerSide, limits)
				got := decodeFeed(d, in, f)
				d.Reset()
				if got.err != tc.wantErr || got.errAt != len(in) || len(got.msgs) != 0 {
					t.Errorf("feed %s: %d messages, error %v after %d bytes; want %v after %d",
						f.name, len(got.msgs), got.err, got.errAt, tc.wantErr, len(in))
				}
			}
		})
	}
}

// TestDecoderPayloadAliasesInput shows the zero-copy case: a frame that
// arrives whole is returned as a slice of the caller's buffer, unmasked.
func TestDecoderPayloadAliasesInput(t *testing.T) {
	t.Parallel()
	in := clientFrame(ws.OpText, true, "Hello")
	d := NewDecoder(ServerSide, nil)
	defer d.Reset()
	m, _, err := d.Next(in)
	if err != nil || string(m.Payload) != "Hello" {
		t.Fatalf("got %q, %v", m.Payload, err)
	}
	if &m.Payload[0] != &in[6] {
		t.Fatal("payload of a whole frame does not alias the input")
	}
	if string(in[6:]) != "Hello" {
		t.Fatalf("input not unmasked in place: %q", in[6:])
	}
}

// TestDecoderPayloadLifetimePooled documents that a message assembled across
// reads lives in a pooled buffer that goes back to the pool on the next
// call: a handler that keeps the payload must copy it first.
func TestDecoderPayloadLifetimePooled(t *testing.T) {
	t.Parallel()
	in := concat(clientFrame(ws.OpText, false, "Hel"), clientFrame(ws.OpContinuation, true, "lo"),
		clientFrame(ws.OpPing, true, "p"))
	d := NewDecoder(ServerSide, nil)
	defer d.Reset()
	m, n, err := d.Next(in)
	if err != nil || m.Op != ws.OpText || string(m.Payload) != "Hello" {
		t.Fatalf("got %v %q, %v", m.Op, m.Payload, err)
	}
	pooled := d.msg
	if pooled == nil || &m.Payload[0] != &pooled.B[0] {
		t.Fatal("fragmented message is not in the decoder's pooled buffer")
	}
	kept := bytes.Clone(m.Payload)
	m2, _, err := d.Next(in[n:])
	if err != nil || m2.Op != ws.OpPing {
		t.Fatalf("second call: %v, %v", m2.Op, err)
	}
	if d.msg != nil || d.recycleMsg {
		t.Fatal("pooled buffer still held after the next call")
	}
	// The buffer belongs to the pool again; the next user may overwrite it.
	// Only the copy is safe.
	if string(kept) != "Hello" {
		t.Fatalf("copy changed: %q", kept)
	}
}

// TestDecoderControlSplitUsesPool checks a control frame whose payload spans
// reads: it is assembled in the control buffer, released on the next call.
func TestDecoderControlSplitUsesPool(t *testing.T) {
	t.Parallel()
	in := clientFrame(ws.OpPing, true, "12345")
	d := NewDecoder(ServerSide, nil)
	defer d.Reset()
	if m, n, err := d.Next(in[:8]); m.Op != ws.OpContinuation || n != 8 || err != nil {
		t.Fatalf("first read: %v, %d, %v", m.Op, n, err)
	}
	m, n, err := d.Next(in[8:])
	if err != nil || n != 3 || m.Op != ws.OpPing || string(m.Payload) != "12345" {
		t.Fatalf("second read: %v %q, %d, %v", m.Op, m.Payload, n, err)
	}
	if d.ctl == nil || &m.Payload[0] != &d.ctl.B[0] {
		t.Fatal("split control payload is not in the control buffer")
	}
	if _, _, err := d.Next(clientFrame(ws.OpPong, true, "")); err != nil || d.ctl != nil {
		t.Fatalf("control buffer not released on the next call (err %v)", err)
	}
}

// TestDecoderReset leaves a fragmented message and a split control frame
// pending, resets, and checks that the buffers were returned and the
// decoder starts from a clean state with its side and limits.
func TestDecoderReset(t *testing.T) {
	t.Parallel()
	limits := &Limits{MaxFrameSize: 50, MaxMessageSize: 100}
	d := NewDecoder(ServerSide, limits)
	ping := clientFrame(ws.OpPing, true, "xyz")
	in := concat(clientFrame(ws.OpText, false, "abc"), ping[:len(ping)-2])
	got := decodeFeed(d, in, feed{name: "whole", chunk: func(left int) int { return left }})
	if got.err != nil || len(got.msgs) != 0 || d.msg == nil || d.ctl == nil {
		t.Fatalf("setup: %d messages, err %v, msg buffer %v, ctl buffer %v", len(got.msgs), got.err, d.msg != nil, d.ctl != nil)
	}
	d.Reset()
	if d.msg != nil || d.ctl != nil || d.fragOp != 0 || d.payload || d.hdrLen != 0 {
		t.Fatalf("state after Reset: %+v", d)
	}
	got = decodeFeed(d, clientFrame(ws.OpText, true, "new"), feed{name: "whole", chunk: func(left int) int { return left }})
	if s := got.diff([]Message{msg(ws.OpText, "new")}, nil); s != "" {
		t.Fatalf("after Reset: %s", s)
	}
	got = decodeFeed(d, clientFrame(ws.OpText, true, strings.Repeat("x", 51)), feed{name: "whole", chunk: func(left int) int { return left }})
	if got.err != ErrFrameTooBig {
		t.Fatalf("limits lost by Reset: error %v, want %v", got.err, ErrFrameTooBig)
	}
	d.Reset()
	got = decodeFeed(d, serverFrame(ws.OpText, true, "x"), feed{name: "whole", chunk: func(left int) int { return left }})
	if got.err != ws.ErrProtocolMaskRequired {
		t.Fatalf("side lost by Reset: error %v, want %v", got.err, ws.ErrProtocolMaskRequired)
	}
}

// TestDecoderInitZeroValue embeds a zero Decoder, as the reactor does.
func TestDecoderInitZeroValue(t *testing.T) {
	t.Parallel()
	var conn struct {
		id  int
		dec Decoder
	}
	conn.dec.Init(ClientSide, nil)
	defer conn.dec.Reset()
	m, n, err := conn.dec.Next(serverFrame(ws.OpText, true, "hi"))
	if err != nil || n != 4 || m.Op != ws.OpText || string(m.Payload) != "hi" {
		t.Fatalf("got %v %q, %d, %v", m.Op, m.Payload, n, err)
	}
	if m, n, err := conn.dec.Next(nil); m.Op != ws.OpContinuation || n != 0 || err != nil {
		t.Fatalf("empty input: %v, %d, %v", m.Op, n, err)
	}
}

func TestCloseCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want ws.StatusCode
	}{
		{err: nil, want: ws.StatusNormalClosure},
		{err: ErrLengthOverflow, want: ws.StatusProtocolError},
		{err: ErrFrameTooBig, want: ws.StatusMessageTooBig},
		{err: ErrMessageTooBig, want: ws.StatusMessageTooBig},
		{err: ErrInvalidUTF8, want: ws.StatusInvalidFramePayloadData},
		{err: ErrCloseTooShort, want: ws.StatusProtocolError},
		{err: ErrCloseCodeInvalid, want: ws.StatusProtocolError},
		{err: ErrCloseReasonUTF8, want: ws.StatusInvalidFramePayloadData},
		{err: ws.ErrProtocolOpCodeReserved, want: ws.StatusProtocolError},
		{err: ws.ErrProtocolControlPayloadOverflow, want: ws.StatusProtocolError},
		{err: ws.ErrProtocolControlNotFinal, want: ws.StatusProtocolError},
		{err: ws.ErrProtocolNonZeroRsv, want: ws.StatusProtocolError},
		{err: ws.ErrProtocolMaskRequired, want: ws.StatusProtocolError},
		{err: ws.ErrProtocolMaskUnexpected, want: ws.StatusProtocolError},
		{err: ws.ErrProtocolContinuationExpected, want: ws.StatusProtocolError},
		{err: ws.ErrProtocolContinuationUnexpected, want: ws.StatusProtocolError},
		{err: fmt.Errorf("conn 7: %w", ErrFrameTooBig), want: ws.StatusMessageTooBig},
		{err: fmt.Errorf("conn 7: %w", ErrInvalidUTF8), want: ws.StatusInvalidFramePayloadData},
		{err: fmt.Errorf("conn 7: %w", ws.ErrProtocolNonZeroRsv), want: ws.StatusProtocolError},
		{err: ErrBadVersion, want: ws.StatusInternalServerError},
		{err: errors.New("write: broken pipe"), want: ws.StatusInternalServerError},
	}
	for _, tc := range tests {
		if got := CloseCode(tc.err); got != tc.want {
			t.Errorf("CloseCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestDecoderSteadyStreamAllocs is the decode allocation budget: a stream of
// small masked text frames, each whole in the read buffer, costs nothing.
func TestDecoderSteadyStreamAllocs(t *testing.T) {
	stream, frames := textStream(64<<10, 16)
	d := NewDecoder(ServerSide, nil)
	defer d.Reset()
	allocs := testing.AllocsPerRun(50, func() {
		if got := decodeAll(d, stream); got != frames {
			panic(fmt.Sprintf("decoded %d frames, want %d", got, frames))
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per %d frames, want 0", allocs, frames)
	}
}

// asciiMask has no byte with the top bit set: ASCII payload masked with it
// stays ASCII, so a stream can be decoded again and again without being
// rebuilt (unmasking in place masks it back).
var asciiMask = [4]byte{0x37, 0x7a, 0x21, 0x3d}

// textStream fills about size bytes with masked text frames of payloadLen
// ASCII bytes each and returns the stream and the frame count.
func textStream(size, payloadLen int) ([]byte, int) {
	payload := []byte(strings.Repeat("0123456789abcdef", payloadLen/16+1)[:payloadLen])
	var stream []byte
	frames := 0
	for {
		next := AppendMaskedFrame(stream, ws.OpText, true, asciiMask, payload)
		if len(next) > size && frames > 0 {
			return stream, frames
		}
		stream, frames = next, frames+1
	}
}

// decodeAll decodes every complete message in stream and counts them.
func decodeAll(d *Decoder, stream []byte) int {
	count := 0
	for len(stream) > 0 {
		m, n, err := d.Next(stream)
		if err != nil {
			panic(err)
		}
		if m.Op != ws.OpContinuation {
			count++
		}
		stream = stream[n:]
	}
	return count
}
