package wsproto

import (
	"encoding/binary"

	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
)

// Message is a complete message or control frame. (It stays two fields:
// Next returns it on the hot path, and a larger one costs a third more per
// small frame.)
type Message struct {
	Op      ws.OpCode // OpText, OpBinary, OpClose, OpPing or OpPong
	Payload []byte    // unmasked; see Decoder.Next for how long it stays valid
}

// Side says which end of the connection a Decoder reads for: a server reads
// masked client frames, a client reads unmasked server frames.
type Side uint8

const (
	ServerSide Side = iota
	ClientSide
)

// Decoder is the receive half of one connection: an incremental RFC 6455
// frame parser that resumes at any byte boundary. Its zero value is not
// ready; use NewDecoder or Init. It is used by one goroutine at a time.
type Decoder struct {
	limits *Limits

	hdr     [ws.MaxHeaderSize]byte // a frame header split across reads
	hdrLen  uint8                  // bytes of it held in hdr
	side    Side
	payload bool // reading a frame's payload (else its header)

	deflate    bool // RSV1 may start a compressed message (SetDeflate)
	compressed bool // the data message in progress is compressed
	gate       bool // announce each data message before reading it (SetGate)
	begins     bool // a data message's first header was just read: announce it
	started    bool // Next stopped at a data message's start (Starting)
	skip       bool // the data message in progress is being dropped (Skip)
	inflated   bool // the last data message returned arrived compressed

	op        ws.OpCode // the current frame's opcode
	fin       bool
	masked    bool
	mask      [4]byte
	maskPos   uint8 // offset of the next payload byte modulo 4, for ws.Cipher
	frameLen  int64 // the current frame's payload length
	remaining int64 // payload bytes of the current frame not yet read

	fragOp ws.OpCode // opcode of the data message in progress; 0 between messages
	msgLen int64     // bytes of that message so far
	utf8   utf8State

	msg        *bytebufferpool.ByteBuffer // data message spanning reads or frames
	ctl        *bytebufferpool.ByteBuffer // control frame spanning reads
	recycleMsg bool                       // msg was handed out: recycle on the next call
	recycleCtl bool
}

// NewDecoder returns a Decoder for side, enforcing limits (nil: defaults).
// limits is read, never written, and may be shared by many decoders.
func NewDecoder(side Side, limits *Limits) *Decoder {
	d := new(Decoder)
	d.Init(side, limits)
	return d
}

var defaultLimits = Limits{}.WithDefaults()

// Init readies a zero or Reset Decoder, for callers that embed it.
func (d *Decoder) Init(side Side, limits *Limits) {
	switch {
	case limits == nil:
		limits = &defaultLimits
	case limits.MaxFrameSize <= 0 || limits.MaxMessageSize <= 0:
		// A zero field means its default (see Limits), not zero bytes. Only
		// limits the caller left partly unset take this copy.
		l := limits.WithDefaults()
		limits = &l
	}
	d.side, d.limits = side, limits
}

// SetDeflate allows, when on, RSV1 on the first frame of a data message: a
// compressed message (RFC 7692 §6), which Next inflates before returning
// it. Call it with on set for a connection that negotiated permessage-deflate
// (NegotiateDeflate). It is one store: a caller whose Decoder serves many
// connections between messages calls it before each Next with the
// connection's flag. A message already begun keeps the mode of its first
// frame. Reset turns it off.
//
// With it on, RSV1 on a control frame or a continuation is
// ErrRSV1Misplaced; with it off, RSV1 anywhere is a protocol error as
// before. RSV2 and RSV3 are always errors.
func (d *Decoder) SetDeflate(on bool) { d.deflate = on }

// Reset returns the decoder's buffers to the pool and clears its state,
// keeping side and limits. Call it when the connection is done.
func (d *Decoder) Reset() {
	if d.msg != nil {
		bytebufferpool.Put(d.msg)
	}
	if d.ctl != nil {
		bytebufferpool.Put(d.ctl)
	}
	*d = Decoder{side: d.side, limits: d.limits}
}

// Next consumes bytes from in, unmasking payload in place, and returns the
// number of bytes consumed. When a message or control frame completes within
// those bytes it is returned and Next stops there: call it again with
// in[n:] for the rest. When in ends inside a frame, every byte is consumed
// and the state is kept for the next call.
//
// Payload aliases in when the message arrived whole in one call, else the
// decoder's pooled buffer. Either way it is valid until the next call to
// Next or Reset, and no longer than in itself.
//
// A compressed message (see SetDeflate) is gathered compressed in the
// pooled buffer, its compressed length bounded by Limits.MaxMessageSize like
// any message's, and inflated when its last frame arrives, into a pooled
// buffer whose Payload is valid until the next Next or Reset. Inflating
// stops as soon as the output passes Limits.MaxMessageSize
// (ErrMessageTooBig); data that does not inflate is ErrBadCompressedData. A
// compressed text message is checked as UTF-8 once inflated, not as it
// arrives. The DEFLATE reader and its 32 KiB window come from a pool for
// the inflation only.
//
// A non-nil error is a protocol violation (CloseCode gives its close code);
// the decoder is then unusable.
func (d *Decoder) Next(in []byte) (m Message, n int, err error) {
	d.recycle()
	d.started = false
	// An empty frame announced last call completes without a byte more.
	if len(in) == 0 && !(d.payload && d.remaining == 0) {
		return Message{}, 0, nil
	}
	for {
		if !d.payload {
			k, done, err := d.readHeader(in[n:])
			n += k
			if err != nil || !done {
				return Message{}, n, err
			}
			if d.begins {
				d.begins, d.started = false, true
				return Message{}, n, nil
			}
		}
		chunk := in[n : n+int(min(d.remaining, int64(len(in)-n)))]
		n += len(chunk)
		m, done, err := d.readPayload(chunk)
		if err != nil || done || n == len(in) {
			return m, n, err
		}
	}
}

// Idle releases the pooled buffer of the last message Next returned (its
// Payload is invalid from then on) and reports whether the decoder is
// between messages with nothing held: no partial header, payload or
// fragmented message. An idle decoder carries no state but its side and
// limits, so a caller holding many mostly quiet connections may drop it and
// decode the next bytes with a fresh one.
func (d *Decoder) Idle() bool {
	d.recycle()
	return !d.payload && d.hdrLen == 0 && d.fragOp == 0 && d.msg == nil && d.ctl == nil
}

func (d *Decoder) recycle() {
	if d.recycleMsg {
		bytebufferpool.Put(d.msg)
		d.msg, d.recycleMsg = nil, false
	}
	if d.recycleCtl {
		bytebufferpool.Put(d.ctl)
		d.ctl, d.recycleCtl = nil, false
	}
}

// headerSize is the length of a frame header from its first two bytes.
func headerSize(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// readHeader consumes header bytes from p, parsing the header once whole.
// It parses straight from p when the header is all there (the common case)
// and otherwise gathers it in d.hdr.
func (d *Decoder) readHeader(p []byte) (n int, done bool, err error) {
	if d.hdrLen == 0 && len(p) >= 2 {
		if size := headerSize(p[1]); len(p) >= size {
			return size, true, d.parseHeader(p[:size])
		}
	}
	if d.hdrLen < 2 {
		k := copy(d.hdr[d.hdrLen:2], p)
		d.hdrLen += uint8(k)
		n += k
		if d.hdrLen < 2 {
			return n, false, nil
		}
	}
	size := headerSize(d.hdr[1])
	k := copy(d.hdr[d.hdrLen:size], p[n:])
	d.hdrLen += uint8(k)
	n += k
	if int(d.hdrLen) < size {
		return n, false, nil
	}
	d.hdrLen = 0
	return n, true, d.parseHeader(d.hdr[:size])
}

// parseHeader decodes a whole frame header (RFC 6455 §5.2) and checks it
// against the connection's state and limits.
func (d *Decoder) parseHeader(b []byte) error {
	h := ws.Header{
		Fin:    b[0]&0x80 != 0,
		Rsv:    (b[0] >> 4) & 0x07,
		OpCode: ws.OpCode(b[0] & 0x0f),
		Masked: b[1]&0x80 != 0,
		Length: int64(b[1] & 0x7f),
	}
	i := 2
	switch h.Length {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		i += 2
	case 127:
		// "the most significant bit MUST be 0"
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return ErrLengthOverflow
		}
		h.Length = int64(u)
		i += 8
	}
	if h.Masked {
		copy(d.mask[:], b[i:i+4])
	}
	state := ws.StateServerSide
	if d.side == ClientSide {
		state = ws.StateClientSide
	}
	if d.fragOp != 0 {
		state |= ws.StateFragmented
	}
	// RSV1 is the "Per-Message Compressed" bit once permessage-deflate is
	// negotiated (RFC 7692 §6); RFC 6455 §5.2 fails every other RSV bit:
	// "MUST be 0 unless an extension is negotiated that defines meanings
	// for non-zero values".
	compressed := d.deflate && h.Rsv&(rsv1>>4) != 0
	if compressed {
		h.Rsv &^= rsv1 >> 4
	}
	if err := ws.CheckHeader(h, state); err != nil {
		return err
	}
	if compressed && (h.OpCode.IsControl() || h.OpCode == ws.OpContinuation) {
		return ErrRSV1Misplaced
	}
	if h.OpCode.IsData() {
		if h.Length > d.limits.MaxFrameSize {
			return ErrFrameTooBig
		}
		if h.OpCode != ws.OpContinuation {
			d.fragOp, d.msgLen, d.utf8 = h.OpCode, 0, utf8Accept
			d.compressed, d.begins = compressed, d.gate
		}
		// Subtract rather than add: with limits near MaxInt64 the sum wraps.
		if h.Length > d.limits.MaxMessageSize-d.msgLen {
			return ErrMessageTooBig
		}
	}
	d.op, d.fin, d.masked, d.maskPos = h.OpCode, h.Fin, h.Masked, 0
	d.frameLen, d.remaining, d.payload = h.Length, h.Length, true
	return nil
}

// readPayload takes the next piece of the current frame's payload. done
// reports that a message or control frame completed and is returned.
func (d *Decoder) readPayload(chunk []byte) (m Message, done bool, err error) {
	if d.skip && !d.op.IsControl() {
		return d.skipPayload(chunk)
	}
	if d.masked {
		ws.Cipher(chunk, d.mask, int(d.maskPos))
		d.maskPos = uint8((int(d.maskPos) + len(chunk)) % 4)
	}
	d.remaining -= int64(len(chunk))
	whole := d.remaining == 0 && int64(len(chunk)) == d.frameLen
	if d.op.IsControl() {
		return d.readControl(chunk, whole)
	}
	d.msgLen += int64(len(chunk))
	if d.fragOp == ws.OpText && !d.compressed {
		// "When an endpoint is to interpret a byte stream as UTF-8 but finds
		// that the byte stream is not, in fact, a valid UTF-8 stream, that
		// endpoint MUST _Fail the WebSocket Connection_." (§8.1)
		if d.utf8 = d.utf8.next(chunk); d.utf8 == utf8Reject {
			return Message{}, false, ErrInvalidUTF8
		}
	}
	payload := chunk
	if !whole || !d.fin || d.msg != nil || d.compressed {
		d.msg = appendPooled(d.msg, chunk)
		payload = d.msg.B
	}
	if d.remaining > 0 {
		return Message{}, false, nil
	}
	d.payload = false
	if !d.fin {
		return Message{}, false, nil
	}
	if d.compressed {
		if payload, err = d.inflate(); err != nil {
			return Message{}, false, err
		}
		if d.fragOp == ws.OpText && !ValidUTF8(payload) {
			return Message{}, false, ErrInvalidUTF8
		}
	}
	if d.fragOp == ws.OpText && d.utf8 != utf8Accept {
		return Message{}, false, ErrInvalidUTF8 // ends inside a code point
	}
	m = Message{Op: d.fragOp, Payload: payload}
	d.inflated = d.compressed
	d.fragOp, d.msgLen, d.compressed = 0, 0, false
	d.recycleMsg = d.msg != nil
	return m, true, nil
}

// inflate replaces the compressed message gathered in d.msg by its
// inflation (RFC 7692 §7.2.2), in a buffer from the pool, and returns it.
func (d *Decoder) inflate() ([]byte, error) {
	in := d.msg
	in.B = append(in.B, deflateTail...)
	out := bytebufferpool.Get()
	var err error
	out.B, err = inflate(out.B[:0], in.B, d.limits.MaxMessageSize)
	bytebufferpool.Put(in)
	d.msg = out // Reset or recycle returns it, error or not
	return out.B, err
}

func (d *Decoder) readControl(chunk []byte, whole bool) (m Message, done bool, err error) {
	payload := chunk
	if !whole {
		d.ctl = appendPooled(d.ctl, chunk)
		payload = d.ctl.B
	}
	if d.remaining > 0 {
		return Message{}, false, nil
	}
	d.payload = false
	d.recycleCtl = d.ctl != nil
	if d.op == ws.OpClose {
		if _, _, err := ParseClose(payload); err != nil {
			return Message{}, false, err
		}
	}
	return Message{Op: d.op, Payload: payload}, true, nil
}

func appendPooled(b *bytebufferpool.ByteBuffer, p []byte) *bytebufferpool.ByteBuffer {
	if b == nil {
		b = bytebufferpool.Get()
	}
	b.B = append(b.B, p...)
	return b
}
