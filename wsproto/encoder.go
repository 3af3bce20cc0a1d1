package wsproto

import (
	"encoding/binary"
	"sync/atomic"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
)

// AppendFrame appends one unmasked frame (a server's frame, RFC 6455 §5.1)
// carrying payload to dst.
func AppendFrame(dst []byte, op ws.OpCode, fin bool, payload []byte) []byte {
	dst = appendHeader(dst, op, fin, int64(len(payload)), nil)
	return append(dst, payload...)
}

// AppendMaskedFrame appends one frame masked with mask, as a client sends it;
// the payload is copied, then masked in dst.
func AppendMaskedFrame(dst []byte, op ws.OpCode, fin bool, mask [4]byte, payload []byte) []byte {
	dst = appendHeader(dst, op, fin, int64(len(payload)), &mask)
	start := len(dst)
	dst = append(dst, payload...)
	ws.Cipher(dst[start:], mask, 0)
	return dst
}

// appendHeader writes a frame header with the shortest length encoding.
func appendHeader(dst []byte, op ws.OpCode, fin bool, length int64, mask *[4]byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	var maskBit byte
	if mask != nil {
		maskBit = 0x80
	}
	switch {
	case length < 126:
		dst = append(dst, b0, maskBit|byte(length))
	case length <= 0xffff:
		dst = append(dst, b0, maskBit|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, b0, maskBit|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(length))
	}
	if mask != nil {
		dst = append(dst, mask[:]...)
	}
	return dst
}

// AppendClose appends a close frame with code and reason. The reason is cut
// so the payload stays within the 125 bytes a control frame may carry, at a
// code point boundary: the reason must stay UTF-8 (§5.5.1), or the peer
// fails the connection with 1007.
func AppendClose(dst []byte, code ws.StatusCode, reason string) []byte {
	if len(reason) > MaxControlPayload-2 {
		cut := MaxControlPayload - 2
		// Back over at most the continuation bytes of one code point.
		for i := 1; i < utf8.UTFMax && !utf8.RuneStart(reason[cut]); i++ {
			cut--
		}
		reason = reason[:cut]
	}
	dst = appendHeader(dst, ws.OpClose, true, int64(2+len(reason)), nil)
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// Prepared is a frame encoded once and written to many connections, the
// unit of fan-out: a publication is framed once however many subscribers
// get it. It is immutable and safe to share between goroutines; each holder
// calls Release once, and the last one returns the bytes to the pool.
type Prepared struct {
	buf  *bytebufferpool.ByteBuffer
	refs atomic.Int32
}

// Prepare encodes one unmasked frame carrying payload, with one reference
// held by the caller.
func Prepare(op ws.OpCode, payload []byte) *Prepared {
	p := &Prepared{buf: bytebufferpool.Get()}
	p.buf.B = AppendFrame(p.buf.B, op, true, payload)
	p.refs.Store(1)
	return p
}

// Bytes returns the encoded frame. It is valid until the caller's reference
// is released and must not be modified.
func (p *Prepared) Bytes() []byte { return p.buf.B }

// Retain adds n references, one for each goroutine the frame is handed to.
func (p *Prepared) Retain(n int) { p.refs.Add(int32(n)) }

// Release drops one reference; the last release recycles the bytes.
func (p *Prepared) Release() {
	if p.refs.Add(-1) == 0 {
		bytebufferpool.Put(p.buf)
		p.buf = nil
	}
}
