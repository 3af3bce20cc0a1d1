package wsproto

import (
	"encoding/binary"
	"sync"
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
//
// For permessage-deflate connections Deflated compresses it, once, on first
// demand: a publication no such connection receives is never compressed,
// and one many receive is compressed once. Variant does the same for a
// second encoding of the message (another subprotocol's).
type Prepared struct {
	buf         *bytebufferpool.ByteBuffer // the plain frame
	deflated    *bytebufferpool.ByteBuffer // the compressed frame; nil until Deflated, or if it did not shrink
	once        sync.Once                  // guards deflated
	variant     *Prepared                  // the second encoding; nil until Variant
	variantOnce sync.Once                  // guards variant
	refs        atomic.Int32
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

// Deflated returns the frame for permessage-deflate connections: the
// payload compressed as AppendDeflatedFrame does, computed by the first call
// only. Any number of goroutines may call it at once; all get the same
// bytes, after the one compression has finished, and first reports whether
// this call did it (so callers can count compressions). The frame is valid,
// like Bytes, until the caller's reference is released, and must not be
// modified.
//
// A payload shorter than minSize, or that compression does not shrink, is
// sent plain: Deflated then returns Bytes(). minSize is CompressionMinSize
// unless the caller has a reason; only the first call's counts.
func (p *Prepared) Deflated(minSize int) (frame []byte, first bool) {
	p.once.Do(func() {
		first = true
		plain := p.buf.B
		payload := plain[headerSize(plain[1]):] // Prepare frames are unmasked
		if len(payload) < minSize {
			return
		}
		b := bytebufferpool.Get()
		var compressed bool
		b.B, compressed = appendDeflated(b.B[:0], ws.OpCode(plain[0]&0x0f), payload)
		if !compressed {
			bytebufferpool.Put(b)
			return
		}
		p.deflated = b
	})
	if p.deflated != nil {
		return p.deflated.B, first
	}
	return p.buf.B, first
}

// Variant returns the same message in a second encoding (wsgate: the
// Protobuf frame of a publication beside its JSON one), made by build from
// this frame's payload by the first call only. Any number of goroutines
// may call it at once; all get the same Prepared, after build has
// returned, and first reports whether this call built it. The variant
// belongs to p: callers do not Retain or Release it, and it is valid, like
// Bytes, until the caller's reference to p is released (p's last Release
// releases it). build must return a Prepared with its one reference, not
// p itself; only the first call's build counts.
func (p *Prepared) Variant(build func(payload []byte) *Prepared) (v *Prepared, first bool) {
	p.variantOnce.Do(func() {
		first = true
		plain := p.buf.B
		p.variant = build(plain[headerSize(plain[1]):])
	})
	return p.variant, first
}

// Release drops one reference; the last release recycles the bytes, the
// compressed frame's and the variant's included.
func (p *Prepared) Release() {
	if p.refs.Add(-1) == 0 {
		bytebufferpool.Put(p.buf)
		p.buf = nil
		if p.deflated != nil {
			bytebufferpool.Put(p.deflated)
			p.deflated = nil
		}
		if p.variant != nil {
			p.variant.Release()
			p.variant = nil
		}
	}
}
