package wsproto

import "github.com/gobwas/ws"

// The gate: a caller that admits messages (a rate limit) learns of each
// data message before any of its payload is kept, and may drop it; and
// sees how much a message in progress holds.

// SetGate makes Next, when on, stop at each data message's start, as soon
// as its first frame's header is read and before any of its payload is
// buffered, unmasked or inflated, returning no message (Starting tells),
// so that the caller can drop it with Skip: a message refused by a rate
// limit then costs only the reading of its bytes. Like SetDeflate it is
// one store, to make before each Next. Reset turns it off.
func (d *Decoder) SetGate(on bool) { d.gate = on }

// Starting reports the opcode (OpText or OpBinary) of the data message at
// whose start the last call to Next stopped (SetGate), or 0.
func (d *Decoder) Starting() ws.OpCode {
	if d.started {
		return d.fragOp
	}
	return 0
}

// Skip drops the data message at whose start Next just stopped: its
// frames are still read and checked (headers, sizes), their payload is
// neither buffered, unmasked, checked as UTF-8 nor inflated, and Next
// returns nothing for it. Control frames between its fragments are
// returned as usual.
func (d *Decoder) Skip() { d.skip = true }

// Inflated reports whether the last data message Next returned arrived
// compressed (its Payload was the inflation).
func (d *Decoder) Inflated() bool { return d.inflated }

// Held is the memory the decoder holds for a message or control frame in
// progress: the capacity of its pooled buffers.
func (d *Decoder) Held() int {
	n := 0
	if d.msg != nil && !d.recycleMsg {
		n += cap(d.msg.B)
	}
	if d.ctl != nil && !d.recycleCtl {
		n += cap(d.ctl.B)
	}
	return n
}

// skipPayload reads past a piece of a dropped message (Skip).
func (d *Decoder) skipPayload(chunk []byte) (m Message, done bool, err error) {
	d.remaining -= int64(len(chunk))
	d.msgLen += int64(len(chunk))
	if d.remaining > 0 {
		return Message{}, false, nil
	}
	d.payload = false
	if d.fin {
		d.fragOp, d.msgLen, d.compressed, d.skip = 0, 0, false, false
	}
	return Message{}, false, nil
}
