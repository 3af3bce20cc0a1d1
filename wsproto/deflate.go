package wsproto

import (
	"bytes"
	"io"
	"sync"

	"github.com/gobwas/ws"
	"github.com/klauspost/compress/flate"
)

// CompressionMinSize is the payload size below which a permessage-deflate
// connection is sent a message uncompressed (RFC 7692 §6 lets any message
// go either way): the value the reactor passes to Prepared.Deflated. Below
// it DEFLATE's block header and Huffman tables eat most of the gain on the
// short JSON a gateway carries, and the compression still costs a
// compressor's reset.
const CompressionMinSize = 256

// DeflateLevel is the compression level of AppendDeflatedFrame and
// Prepared.Deflated: klauspost/compress's level 1 (flate.BestSpeed). On a
// 1 KB JSON publication (BenchmarkDeflateLevels1KJSON, 2-core VM) its
// levels all cost 6–8 µs, mostly building the Huffman tables, for 34% to
// 32% of the size; level 1 is the fastest (6.2 µs against 7.6 at level 6,
// 23 at level 9, and 8.9 for the standard library's level 1). A publication
// is compressed once for every subscriber on the publishing path, so the
// last two per cent of bytes are not worth the time.
const DeflateLevel = flate.BestSpeed

// rsv1 is the "Per-Message Compressed" bit of a frame's first byte
// (RFC 7692 §6).
const rsv1 = 0x40

// deflateTail is what the receiver appends to a compressed message before
// inflating it: the 4 octets the sender removed (RFC 7692 §7.2.2: "Append 4
// octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the
// message"), then an empty final stored block, so that a valid message ends
// the DEFLATE stream with io.EOF rather than an unexpected end of input.
// After a final block of the message's own (§7.2.3.4) it is never read.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// inflateMinGrow is the least the output buffer grows by while inflating.
const inflateMinGrow = 512

// inflater is a pooled DEFLATE reader with its input. It holds the 32 KiB
// window, so it is taken only for one inflate call: no connection keeps
// one between messages.
type inflater struct {
	src bytes.Reader  // the compressed message (a flate.Reader: no bufio)
	fr  io.ReadCloser // klauspost flate reader, also a flate.Resetter
}

var inflaters = sync.Pool{New: func() any {
	inf := new(inflater)
	inf.fr = flate.NewReader(&inf.src)
	return inf
}}

// inflate appends to dst the inflation of src, a compressed message with
// deflateTail already appended, producing at most limit+1 bytes: it reads
// into the free capacity of dst, never more than one byte past the limit,
// and fails with ErrMessageTooBig as soon as the output passes it, so a
// decompression bomb costs at most the limit and one window.
func inflate(dst, src []byte, limit int64) ([]byte, error) {
	inf := inflaters.Get().(*inflater)
	inf.src.Reset(src)
	// A Reset to a bytes.Reader cannot fail: the error is for dictionaries.
	_ = inf.fr.(flate.Resetter).Reset(&inf.src, nil)
	defer func() {
		inf.src.Reset(nil)
		inflaters.Put(inf)
	}()
	for {
		left := limit - int64(len(dst)) // output still allowed, >= 0
		if len(dst) == cap(dst) {
			// Double, but never past limit+1: append's growth could
			// overshoot it by a quarter.
			grow := max(cap(dst), 2*len(src), inflateMinGrow)
			if int64(grow) > left {
				grow = int(left) + 1
			}
			grown := make([]byte, len(dst), len(dst)+grow)
			copy(grown, dst)
			dst = grown
		}
		room := dst[len(dst):cap(dst)]
		if int64(len(room)) > left {
			room = room[:left+1]
		}
		n, err := inf.fr.Read(room)
		dst = dst[:len(dst)+n]
		switch {
		case int64(len(dst)) > limit:
			return dst, ErrMessageTooBig
		case err == io.EOF:
			return dst, nil
		case err != nil:
			return dst, ErrBadCompressedData
		}
	}
}

// deflater is a pooled compressor and the buffer it writes into. The
// compressor is reset before every message (no context takeover), so
// nothing of one message reaches the next.
type deflater struct {
	fw  *flate.Writer
	out appendWriter
}

var deflaters = sync.Pool{New: func() any {
	d := new(deflater)
	d.fw, _ = flate.NewWriter(nil, DeflateLevel) // fails only for a bad level
	return d
}}

// appendWriter appends what is written to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// syncMarker ends the output of a sync flush; RFC 7692 §7.2.1: "Remove 4
// octets (that are 0x00 0x00 0xff 0xff) from the tail end."
var syncMarker = []byte{0x00, 0x00, 0xff, 0xff}

// AppendDeflatedFrame appends one unmasked, final frame carrying payload
// compressed as RFC 7692 §7.2.1 says (RSV1 set; the compressor is reset for
// every message, so no context is taken over), or the plain frame (RSV1
// clear) when compression does not make the payload smaller. It may be
// called from any goroutine; the compressor comes from a pool and goes back
// before it returns. With room in dst it allocates nothing in steady state.
func AppendDeflatedFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	dst, _ = appendDeflated(dst, op, payload)
	return dst
}

// appendDeflated is AppendDeflatedFrame, reporting whether the frame it
// appended is compressed.
func appendDeflated(dst []byte, op ws.OpCode, payload []byte) ([]byte, bool) {
	start := len(dst)
	var reserve [ws.MaxHeaderSize - 4]byte // the longest unmasked header
	dz := deflaters.Get().(*deflater)
	dz.out.b = append(dst, reserve[:]...)
	dz.fw.Reset(&dz.out)
	// Writes to an appendWriter cannot fail, so neither can these.
	_, _ = dz.fw.Write(payload)
	_ = dz.fw.Flush()
	dst, dz.out.b = dz.out.b, nil // the pool keeps no reference to dst
	deflaters.Put(dz)

	body := dst[start+len(reserve):]
	if !bytes.HasSuffix(body, syncMarker) || len(body)-len(syncMarker) >= len(payload) {
		return AppendFrame(dst[:start], op, true, payload), false
	}
	body = body[:len(body)-len(syncMarker)]
	hdr := appendHeader(dst[:start], op, true, int64(len(body)), nil)
	hdr[start] |= rsv1
	n := copy(dst[len(hdr):], body) // overlapping: copy moves like memmove
	return dst[:len(hdr)+n], true
}
