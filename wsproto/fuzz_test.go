package wsproto

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// The seed corpus of every target is committed under testdata/fuzz/<Name>,
// so plain `go test` replays it; `make fuzz` explores further.

// fuzzHeaderLimit is small so the fuzzer reaches the 431 path easily.
const fuzzHeaderLimit = 1024

// FuzzHandshake checks that the scanner's answer does not depend on where
// the request is cut, that ParseRequest never panics and returns only its
// sentinels, and that an accepted request yields a well-formed 101.
func FuzzHandshake(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		var whole HandshakeScanner
		end, err := whole.Scan(data, fuzzHeaderLimit)

		k := int(split) % (len(data) + 1)
		var parts HandshakeScanner
		end2, err2 := parts.Scan(data[:k], fuzzHeaderLimit)
		if end2 == 0 && err2 == nil {
			end2, err2 = parts.Scan(data, fuzzHeaderLimit)
		}
		if end != end2 || err != err2 {
			t.Fatalf("whole: %d, %v; split at %d: %d, %v", end, err, k, end2, err2)
		}

		terminator := []byte("\r\n\r\n")
		first := bytes.Index(data, terminator)
		switch {
		case err != nil && err != ErrHeaderTooLarge:
			t.Fatalf("Scan error %v", err)
		case err != nil && first >= 0 && first+4 <= fuzzHeaderLimit:
			t.Fatalf("431 although the request ends at %d", first+4)
		case err == nil && end == 0 && (first >= 0 || len(data) >= fuzzHeaderLimit):
			t.Fatalf("no end although the terminator is at %d of %d bytes", first, len(data))
		case err == nil && end != 0 && end != first+4:
			t.Fatalf("end %d, first terminator ends at %d", end, first+4)
		}

		req := data
		if end > 0 {
			req = data[:end]
		}
		checkParseRequest(t, req)
	})
}

// handshakeSentinels are the errors ParseRequest may return.
var handshakeSentinels = []error{ErrMalformedRequest, ErrMethodNotGet, ErrHTTPVersion, ErrMissingHost,
	ErrDuplicateHeader, ErrNotUpgrade, ErrBadKey, ErrBadVersion}

func checkParseRequest(t *testing.T, req []byte) {
	t.Helper()
	r, err := ParseRequest(req)
	if err != nil {
		if !slices.Contains(handshakeSentinels, err) {
			t.Fatalf("ParseRequest error %v is not a sentinel", err)
		}
		resp, rerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(AppendReject(nil, err))), nil)
		if rerr != nil {
			t.Fatalf("rejection for %v does not parse: %v", err, rerr)
		}
		if want := err.(*RejectError).Status; resp.StatusCode != want {
			t.Fatalf("rejection status %d, want %d", resp.StatusCode, want)
		}
		return
	}
	if len(r.Path) == 0 || r.Path[0] != '/' || len(r.Host) == 0 || len(r.Key) != 24 {
		t.Fatalf("accepted with Path %q, Host %q, Key %q", r.Path, r.Host, r.Key)
	}
	var proto []byte
	for p := range r.Tokens("Sec-WebSocket-Protocol") {
		proto = p
		break
	}
	checkAccept(t, AppendAccept(nil, r.Key, proto), r.Key, proto)
}

// checkAccept verifies a 101 response byte for byte, then reads it with
// net/http: exactly one response, with exactly the headers meant.
func checkAccept(t *testing.T, raw, key, proto []byte) {
	t.Helper()
	sum := sha1.Sum(append(bytes.Clone(key), "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"...))
	accept := base64.StdEncoding.EncodeToString(sum[:])
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + accept + "\r\n"
	wantHeaders := 3
	if len(proto) > 0 {
		want += "Sec-WebSocket-Protocol: " + string(proto) + "\r\n"
		wantHeaders++
	}
	want += "\r\n"
	if string(raw) != want {
		t.Fatalf("accept response\n%q\nwant\n%q", raw, want)
	}
	br := bufio.NewReader(bytes.NewReader(raw))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("accept response %q does not parse: %v", raw, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusSwitchingProtocols || len(resp.Header) != wantHeaders || br.Buffered() != 0 ||
		resp.Header.Get("Sec-WebSocket-Accept") != accept ||
		resp.Header.Get("Sec-WebSocket-Protocol") != string(proto) {
		t.Fatalf("accept response %q read back as %d with headers %q", raw, resp.StatusCode, resp.Header)
	}
}

// fuzzLimits are small so the fuzzer reaches the 1009 paths.
var fuzzLimits = Limits{MaxFrameSize: 64, MaxMessageSize: 160}

// FuzzDecoder feeds the same bytes whole, byte by byte, cut once at split
// and in random reads chosen by seed: every feed must give the same
// messages and the same first error as referenceDecode, and everything
// returned must obey the protocol. With SetGate on, taking every message
// must change nothing, and skipping every one must leave exactly the
// control frames when the stream is valid. Bit 0 of seed picks the client
// side, bit 1 the small limits.
func FuzzDecoder(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, split uint16, seed int64) {
		side, limits := ServerSide, (*Limits)(nil)
		if seed&1 != 0 {
			side = ClientSide
		}
		if seed&2 != 0 {
			limits = &fuzzLimits
		}
		k := int(split) % (len(data) + 1)
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(split)))
		feeds := []feed{
			{name: "whole", chunk: func(left int) int { return left }},
			{name: "bytewise", chunk: func(int) int { return 1 }},
			{name: "split", chunk: threeReads(k, k)},
			{name: "random", chunk: func(left int) int { return 1 + rng.IntN(min(left, 1+int(split%32))) }},
		}
		ref := referenceDecode(side, limits, data)
		checkDecoded(t, ref, limits)
		for _, f := range feeds {
			d := NewDecoder(side, limits)
			got := decodeFeed(d, data, f)
			d.Reset()
			if s := got.diff(ref.msgs, ref.err); s != "" {
				t.Fatalf("feed %s differs from the reference: %s", f.name, s)
			}
			d = NewDecoder(side, limits)
			got, _ = decodeGated(d, data, f, func(int) bool { return false })
			d.Reset()
			if s := got.diff(ref.msgs, ref.err); s != "" {
				t.Fatalf("feed %s, gated, taking all, differs from the reference: %s", f.name, s)
			}
			d = NewDecoder(side, limits)
			got, _ = decodeGated(d, data, f, func(int) bool { return true })
			d.Reset()
			checkDecoded(t, got, limits)
			if ref.err == nil {
				var controls []Message
				for _, m := range ref.msgs {
					if m.Op.IsControl() {
						controls = append(controls, m)
					}
				}
				if s := got.diff(controls, nil); s != "" {
					t.Fatalf("feed %s, gated, skipping all, differs from the reference's control frames: %s", f.name, s)
				}
			}
		}
	})
}

// decoderErrors are the errors Next may return.
var decoderErrors = []error{
	ErrLengthOverflow, ErrFrameTooBig, ErrMessageTooBig, ErrInvalidUTF8, ErrCloseTooShort,
	ErrCloseCodeInvalid, ErrCloseReasonUTF8,
	ws.ErrProtocolOpCodeReserved, ws.ErrProtocolControlPayloadOverflow, ws.ErrProtocolControlNotFinal,
	ws.ErrProtocolNonZeroRsv, ws.ErrProtocolMaskRequired, ws.ErrProtocolMaskUnexpected,
	ws.ErrProtocolContinuationExpected, ws.ErrProtocolContinuationUnexpected,
	ErrRSV1Misplaced, ErrBadCompressedData, // with SetDeflate(true) only
}

// checkDecoded checks what a decoder returned against the protocol rules.
func checkDecoded(t *testing.T, got decoded, limits *Limits) {
	t.Helper()
	l := Limits{}.WithDefaults()
	if limits != nil {
		l = limits.WithDefaults()
	}
	if got.err != nil && !slices.Contains(decoderErrors, got.err) {
		t.Fatalf("unexpected error %v", got.err)
	}
	for i, m := range got.msgs {
		switch {
		case m.Op == ws.OpText && !utf8.Valid(m.Payload):
			t.Fatalf("message %d: text is not UTF-8: %q", i, snippet(m.Payload))
		case m.Op.IsData() && int64(len(m.Payload)) > l.MaxMessageSize:
			t.Fatalf("message %d: %d bytes over the %d limit", i, len(m.Payload), l.MaxMessageSize)
		case m.Op.IsControl() && len(m.Payload) > MaxControlPayload:
			t.Fatalf("message %d: %v of %d bytes", i, m.Op, len(m.Payload))
		case m.Op != ws.OpText && m.Op != ws.OpBinary && m.Op != ws.OpClose && m.Op != ws.OpPing && m.Op != ws.OpPong:
			t.Fatalf("message %d: opcode %v", i, m.Op)
		}
		if m.Op == ws.OpClose {
			if _, _, err := ParseClose(m.Payload); err != nil {
				t.Fatalf("message %d: close payload %q: %v", i, m.Payload, err)
			}
		}
	}
}

// FuzzUTF8 compares the validator, whole and resumed at split, with
// unicode/utf8, and checks that fed byte by byte it rejects at the first
// byte that cannot start valid text.
func FuzzUTF8(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		want := utf8.Valid(data)
		if got := ValidUTF8(data); got != want {
			t.Fatalf("ValidUTF8(%q) = %v, want %v", data, got, want)
		}
		k := int(split) % (len(data) + 1)
		if got := validIncremental(data, k); got != want {
			t.Fatalf("%q split at %d: %v, want %v", data, k, got, want)
		}
		if got, want := rejectsAt(data), firstInvalid(data); got != want {
			t.Fatalf("%q byte by byte: rejected at %d, want %d", data, got, want)
		}
	})
}

// FuzzRoundTrip encodes payload as one message (a frame with op's low
// nibble as opcode, then an empty final continuation when fin is false) and
// decodes it, masked on the server side and unmasked on the client side.
// op's high nibble varies the mask.
func FuzzRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, op byte, payload []byte, fin bool) {
		code := ws.OpCode(op & 0x0f)
		switch {
		case code.IsReserved(), code == ws.OpContinuation:
			t.Skip("not a message opcode")
		case code.IsControl() && (!fin || len(payload) > MaxControlPayload):
			t.Skip("control frames are final and short; TestDecoderProtocolViolations covers the rest")
		case len(payload) > DefaultMaxFrameSize:
			t.Skip("over the frame limit")
		}
		want := []Message{{Op: code, Payload: payload}}
		var wantErr error
		switch {
		case code == ws.OpText && !utf8.Valid(payload):
			want, wantErr = nil, ErrInvalidUTF8
		case code == ws.OpClose:
			if _, _, err := ParseClose(payload); err != nil {
				want, wantErr = nil, err
			}
		}
		orig := bytes.Clone(payload)
		mask := [4]byte{op, ^op, byte(len(payload)), 0x5a}
		masked := AppendMaskedFrame(nil, code, fin, mask, payload)
		unmasked := AppendFrame(nil, code, fin, payload)
		if !bytes.Equal(payload, orig) {
			t.Fatal("encoding changed the payload")
		}
		if hdr := len(unmasked) - len(payload); hdr != shortestHeader(len(payload)) || len(masked)-len(payload) != hdr+4 {
			t.Fatalf("%d-byte payload: header of %d bytes (masked %d), want %d",
				len(payload), hdr, len(masked)-len(payload), shortestHeader(len(payload)))
		}
		if !fin {
			masked = AppendMaskedFrame(masked, ws.OpContinuation, true, mask, nil)
			unmasked = AppendFrame(unmasked, ws.OpContinuation, true, nil)
		}
		for _, side := range []Side{ServerSide, ClientSide} {
			in := masked
			if side == ClientSide {
				in = unmasked
			}
			for _, f := range feedsFor(uint64(op))[:3] {
				d := NewDecoder(side, nil)
				got := decodeFeed(d, in, f)
				d.Reset()
				if s := got.diff(want, wantErr); s != "" {
					t.Fatalf("side %d, feed %s: %s", side, f.name, s)
				}
			}
		}
	})
}

// shortestHeader is the unmasked header size RFC 6455 §5.2 gives a length.
func shortestHeader(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 4
	default:
		return 10
	}
}

// FuzzParseClose checks ParseClose against the rules written out, and that
// a valid close payload survives the encoder and the decoder.
func FuzzParseClose(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		code, reason, err := ParseClose(payload)
		switch len(payload) {
		case 0:
			if code != ws.StatusNoStatusRcvd || reason != nil || err != nil {
				t.Fatalf("empty: %d, %q, %v", code, reason, err)
			}
			return
		case 1:
			if err != ErrCloseTooShort {
				t.Fatalf("one byte: %d, %q, %v", code, reason, err)
			}
			return
		}
		wantCode := ws.StatusCode(binary.BigEndian.Uint16(payload))
		var wantErr error
		switch {
		case !ValidCloseCode(wantCode):
			wantErr = ErrCloseCodeInvalid
		case !utf8.Valid(payload[2:]):
			wantErr = ErrCloseReasonUTF8
		}
		if code != wantCode || err != wantErr || !bytes.Equal(reason, payload[2:]) {
			t.Fatalf("ParseClose(%q) = %d, %q, %v; want %d, %q, %v", payload, code, reason, err, wantCode, payload[2:], wantErr)
		}
		if len(reason) > 0 && &reason[0] != &payload[2] {
			t.Fatal("reason does not alias the payload")
		}
		if err != nil {
			return
		}
		frame := AppendClose(nil, code, string(reason))
		if len(payload) <= MaxControlPayload && !bytes.Equal(frame[2:], payload) {
			t.Fatalf("AppendClose(%d, %q) carries %q", code, reason, frame[2:])
		}
		d := NewDecoder(ClientSide, nil)
		defer d.Reset()
		m, n, derr := d.Next(frame)
		if derr != nil || n != len(frame) || m.Op != ws.OpClose {
			t.Fatalf("decoding AppendClose(%d, %q): %v, %d, %v", code, reason, m.Op, n, derr)
		}
	})
}

// referenceDecode is a plain decoder written from RFC 6455 §5 for
// differential testing: the whole stream at once, no resumption, no pool, no
// word-wise unmasking, UTF-8 checked with unicode/utf8. It reports the same
// messages and first error Decoder must, checking a header in the same order
// once all of it (mask included) has arrived, and failing text on the first
// byte that cannot start valid UTF-8 even if the frame is incomplete.
func referenceDecode(side Side, limits *Limits, data []byte) decoded {
	l := Limits{}.WithDefaults()
	if limits != nil {
		l = limits.WithDefaults()
	}
	var (
		res   decoded
		msgOp ws.OpCode // data message in progress, 0 for none
		msg   []byte
	)
	fail := func(err error) decoded {
		res.err = err
		return res
	}
	for p := data; len(p) >= 2; {
		fin, rsv, op, masked := p[0]&0x80 != 0, p[0]>>4&7, ws.OpCode(p[0]&0x0f), p[1]&0x80 != 0
		length, hdr := uint64(p[1]&0x7f), 2
		switch length {
		case 126:
			if len(p) < 4 {
				return res
			}
			length, hdr = uint64(binary.BigEndian.Uint16(p[2:])), 4
		case 127:
			if len(p) < 10 {
				return res
			}
			length, hdr = binary.BigEndian.Uint64(p[2:]), 10
		}
		var mask []byte
		if masked {
			mask, hdr = p[hdr:min(hdr+4, len(p))], hdr+4
		}
		if len(p) < hdr {
			return res
		}
		control := op >= 0x8
		switch {
		case length>>63 != 0:
			return fail(ErrLengthOverflow)
		case op >= 0x3 && op <= 0x7 || op >= 0xb:
			return fail(ws.ErrProtocolOpCodeReserved)
		case control && length > MaxControlPayload:
			return fail(ws.ErrProtocolControlPayloadOverflow)
		case control && !fin:
			return fail(ws.ErrProtocolControlNotFinal)
		case rsv != 0:
			return fail(ws.ErrProtocolNonZeroRsv)
		case side == ServerSide && !masked:
			return fail(ws.ErrProtocolMaskRequired)
		case side == ClientSide && masked:
			return fail(ws.ErrProtocolMaskUnexpected)
		case msgOp != 0 && !control && op != ws.OpContinuation:
			return fail(ws.ErrProtocolContinuationExpected)
		case msgOp == 0 && op == ws.OpContinuation:
			return fail(ws.ErrProtocolContinuationUnexpected)
		case !control && length > uint64(l.MaxFrameSize):
			return fail(ErrFrameTooBig)
		}
		if !control && op != ws.OpContinuation {
			msgOp, msg = op, nil
		}
		if !control && uint64(len(msg))+length > uint64(l.MaxMessageSize) {
			return fail(ErrMessageTooBig)
		}
		avail := min(length, uint64(len(p)-hdr))
		payload := bytes.Clone(p[hdr : hdr+int(avail)])
		for i := range payload {
			if masked {
				payload[i] ^= mask[i%4]
			}
		}
		if control {
			if avail < length {
				return res
			}
			if op == ws.OpClose {
				if _, _, err := ParseClose(payload); err != nil {
					return fail(err)
				}
			}
			res.msgs = append(res.msgs, Message{Op: op, Payload: payload})
		} else {
			msg = append(msg, payload...)
			if msgOp == ws.OpText && firstInvalid(msg) >= 0 {
				return fail(ErrInvalidUTF8)
			}
			if avail < length {
				return res
			}
			if fin {
				if msgOp == ws.OpText && !utf8.Valid(msg) {
					return fail(ErrInvalidUTF8)
				}
				res.msgs = append(res.msgs, Message{Op: msgOp, Payload: msg})
				msgOp, msg = 0, nil
			}
		}
		p = p[hdr+int(length):]
	}
	return res
}
