package reactor

import (
	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

// Bytes in, once upgraded: frames decoded where gnet read them, each
// admitted against the rate limits, and messages in part held within
// MaxPartialBytes.

// readFrames decodes every frame in buf, queues the answers in the loop's
// scratch buffer and writes them with one call.
func (c *conn) readFrames(buf []byte) gnet.Action {
	l := c.loop
	// Between messages the loop's decoder serves: most connections are
	// idle most of the time, and this keeps ~100 bytes of decoder state
	// off every one of them.
	d := &l.dec
	if c.parked {
		d = &l.parked[c].Decoder
	}
	limited := l.eng.limits.on()
	d.SetDeflate(c.endpoint.deflate())
	d.SetGate(limited) // admit each message before it is kept or inflated
	defer c.parkDecoder(d)
	for c.state == stateOpen {
		m, n, err := d.Next(buf)
		buf = buf[n:]
		if err != nil {
			c.fail(err)
			return gnet.None
		}
		c.pingSent = false // any frame answers a ping
		if limited && !c.chargeBytes(n) {
			c.closeWith(wire.ClosePolicyViolation, wire.ReasonRateLimited)
			break
		}
		switch m.Op {
		case ws.OpContinuation:
			if d.Starting() != 0 { // a data message begins: admit it or drop it
				if !c.admit() {
					c.countMessageIn()
					d.Skip()
					c.rateLimited()
				}
				continue
			}
			c.flush() // nothing complete: buf is used up
			return gnet.None
		case ws.OpText, ws.OpBinary:
			c.countMessageIn()
			if limited && d.Inflated() {
				c.chargeBytes(len(m.Payload)) // past the floor, the next read closes
			}
			if c.endpoint.kind() == endpointEcho {
				l.out = c.appendEcho(l.out, m)
			} else {
				c.onPubSubMessage(m)
			}
		case ws.OpPing:
			if limited && !c.admit() {
				c.rateLimited() // a ping flood costs a pong each: limited like messages
				continue
			}
			// "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
			// response ... the same Application data as found in the message body."
			l.out = wsproto.AppendFrame(l.out, ws.OpPong, true, m.Payload)
		case ws.OpClose:
			c.answerClose(m.Payload)
			if c.state == stateOpen && c.gc.OutboundBuffered() == 0 {
				return gnet.Close // all sent: close TCP first, as the server should (§7.1.1)
			}
			// gnet would discard what the socket has not taken yet: wait
			// for it to go out, then for the peer to close.
			c.startClosing()
			return gnet.None
		}
		// An unsolicited pong needs no answer (§5.5.3).
	}
	c.flush()
	return gnet.None
}

// countMessageIn counts a data message from the peer, admitted or not.
func (c *conn) countMessageIn() {
	c.loop.stats.messagesIn.Add(1)
	c.msgsIn++
	c.lastData = c.lastRead // stamped by this read
}

// parkedDecoder is the decoder of a connection with a frame or message in
// part, and what it held when last counted in loop.partialBytes.
type parkedDecoder struct {
	wsproto.Decoder
	held int
}

// parkDecoder keeps d's state with c only if a frame or message is still
// incomplete; otherwise c goes back to sharing the loop's decoder. What
// parked decoders hold is bounded per loop (its share of
// MaxPartialBytes): the connection whose read would pass it is closed
// 1013, since each may hold up to MaxMessageSize and together they could
// hold far more than the node has.
func (c *conn) parkDecoder(d *wsproto.Decoder) {
	l := c.loop
	shared := d == &l.dec
	idle, held := d.Idle(), d.Held()
	counted := 0 // what l.partialBytes has of c's so far
	if !shared {
		counted = l.parked[c].held
	}
	if c.state == stateOpen && !idle && l.partialBytes-counted+held > l.partialBudget {
		l.stats.partialCloses.Add(1)
		c.closeWith(wire.CloseTryAgainLater, wire.ReasonTooManyPartial)
	}
	switch {
	case c.state != stateOpen: // nothing more will be decoded
		d.Reset()
		c.unpark()
	case idle:
		c.unpark()
	case shared:
		l.parked[c], c.parked = &parkedDecoder{Decoder: *d, held: held}, true // c takes over the buffers
		l.countPartial(held)
		l.resetDecoder()
	default:
		l.countPartial(held - counted)
		l.parked[c].held = held
	}
}

// countPartial adds n to what the loop's parked decoders hold.
func (l *loop) countPartial(n int) {
	l.partialBytes += n
	l.stats.partialBytes.Store(int64(l.partialBytes))
}

// unpark forgets c's own decoder, if it has one, returning its buffers.
func (c *conn) unpark() {
	if !c.parked {
		return
	}
	l := c.loop
	p := l.parked[c]
	l.countPartial(-p.held)
	p.Reset()
	delete(l.parked, c)
	c.parked = false
}

// answerClose echoes the peer's close code (§5.5.1: "the endpoint typically
// echos the status code it received"); the caller then closes TCP, as the
// server should (§7.1.1).
func (c *conn) answerClose(payload []byte) {
	code, reason, _ := wsproto.ParseClose(payload)
	c.loop.eng.stats.closeReceived(code)
	c.noteClose(code, string(reason))
	if code == ws.StatusNoStatusRcvd {
		c.loop.out = wsproto.AppendFrame(c.loop.out, ws.OpClose, true, nil)
	} else {
		c.loop.out = wsproto.AppendClose(c.loop.out, code, "")
	}
	c.write() // the connection is ending: no slow-consumer close on top
}

// fail sends a close frame for a protocol violation and starts closing.
func (c *conn) fail(err error) {
	c.closeWith(wsproto.CloseCode(err), err.Error())
}
