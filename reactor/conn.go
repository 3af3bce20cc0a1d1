package reactor

import (
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

type connState uint8

const (
	stateHandshake connState = iota // reading the upgrade request
	stateOpen                       // exchanging frames
	stateClosing                    // our close frame sent; waiting for the peer to go
	stateRefused                    // stateClosing for a refused handshake: it keeps its handshake slot
	stateClosed                     // gnet closed it (OnClose ran); nothing may touch its fd
	stateHook                       // stateHandshake waiting for the connect hook's verdict (hooks.go)
)

// closing reports whether c is waiting for its peer to go after our close
// frame or refusal.
func (c *conn) closing() bool { return c.state == stateClosing || c.state == stateRefused }

// endpoint is what an upgraded connection speaks: a kind, and whether it
// negotiated permessage-deflate and the Protobuf protocol (flag bits, so
// the conn stays within its size class).
type endpoint uint8

const (
	endpointEcho   endpoint = iota + 1 // /echo: every message back
	endpointPubSub                     // /ws: the JSON channel protocol
	// /ws?heartbeat=1: the same, pinged with a {"type":"ping"} text frame,
	// which a browser's client can see, where a ping control frame is not.
	endpointHeartbeat

	// endpointProto marks a /ws connection speaking wsgate.v1.proto
	// (protobuf.go): Protobuf in binary frames instead of JSON in text.
	endpointProto endpoint = 0x40
	// endpointDeflate marks a connection with permessage-deflate (deflate.go).
	endpointDeflate endpoint = 0x80
)

// kind is the endpoint without its flags.
func (e endpoint) kind() endpoint { return e &^ (endpointDeflate | endpointProto) }

// proto reports whether the connection speaks the Protobuf protocol.
func (e endpoint) proto() bool { return e&endpointProto != 0 }

// deflate reports whether the connection negotiated permessage-deflate.
func (e endpoint) deflate() bool { return e&endpointDeflate != 0 }

// conn is one connection's whole state: flat, no goroutine, lock, channel or
// timer of its own. It is touched only by its loop.
type conn struct {
	gc   gnet.Conn
	loop *loop

	// Timers (see loop.fire). Times are wheel ticks.
	prev, next *conn  // links in the loop's timer wheel slot
	at         uint32 // next timer event
	closeAt    uint32 // closing: close TCP anyway; stateOpen while draining: send 1001
	lastRead   uint32 // last bytes from the peer
	lastData   uint32 // last data message from the peer (idle timeout)
	pingAt     uint32 // when the unanswered ping was sent
	pingSent   bool   // a ping awaits any frame in reply
	draining   bool   // closeAt is the drain close time
	halfClosed bool   // closing: our side shut down for writing
	counted    bool   // counts against the node's and its address's limits
	state      connState
	endpoint   endpoint
	errors     uint8 // consecutive error frames sent (abuse guard)
	parked     bool  // a frame or message arrived in part: its decoder is in loop.parked
	// scan sits here to fill what would be padding before claims.
	scan wsproto.HandshakeScanner // stateHandshake

	// Trust (see security.go): who the peer is and how fast it may send.
	claims     *auth.Claims // nil: anonymous; shared and immutable
	rateAt     uint32       // last refill of the rate buckets (wheel tick)
	msgCredit  int32        // message bucket, in thousandths of a message
	byteCredit int32        // byte bucket; may go into debt (see allow)

	// Fan-out bookkeeping for the loop's current batch (see drainInbox).
	first, frames uint32 // frames is 0 outside drainInbox
	dropped       uint32 // publications dropped or conflated and not yet caught up (loop.slow)

	subs subscriptions

	// Identity and traffic, for the control API (identity.go, control.go).
	gen               uint32 // this connection's generation on its descriptor; 0 before it has an ID
	since             uint32 // when it was greeted, unix seconds
	msgsIn, msgsOut   uint32 // data messages from the peer; publications and pushes to it
	bytesIn, bytesOut uint64 // bytes read and written, frames and all
}

// onTraffic handles bytes that arrived for c. Runs on c's loop.
func (c *conn) onTraffic() gnet.Action {
	c.lastRead = c.loop.clock()
	switch c.state {
	case stateHandshake:
		return c.readHandshake()
	case stateOpen:
		buf, _ := c.gc.Next(-1)
		c.loop.stats.bytesIn.Add(int64(len(buf)))
		c.bytesIn += uint64(len(buf))
		return c.readFrames(buf)
	case stateHook:
		// The request stays in gnet's buffer for the verdict; a client may
		// send its first frames, not more than a handshake's worth.
		if c.gc.InboundBuffered() > 2*c.loop.eng.cfg.Limits.MaxHeaderBytes {
			c.state = stateHandshake
			return c.reject(errHookInput)
		}
		return gnet.None
	default: // after our close, what still arrives is ignored
		n, _ := c.gc.Discard(-1)
		// but charged like the rest: a peer that sends on, past its
		// byte rate, after being told to stop is reset, not read for
		// CloseTimeout more.
		if c.state == stateClosing && !c.chargeBytes(n) {
			resetOnClose(c.gc.Fd())
			return gnet.Close
		}
		return gnet.None
	}
}

// readHandshake waits for the whole upgrade request, answers it, and passes
// the bytes that followed it in the same reads to the frame decoder.
func (c *conn) readHandshake() gnet.Action {
	l := c.loop
	if p, ok := l.peers[c]; ok && p.awaitHeader {
		if action, done := c.readProxyHeader(&p); !done {
			return action
		}
	}
	buf, _ := c.gc.Peek(-1)
	end, err := c.scan.Scan(buf, l.eng.cfg.Limits.MaxHeaderBytes)
	if err != nil {
		return c.reject(err)
	}
	if end == 0 {
		return gnet.None // bytes stay in gnet's inbound buffer until the rest arrives
	}
	req, err := wsproto.ParseRequest(buf[:end])
	if err != nil {
		return c.reject(err)
	}
	protocol, err := l.eng.admit(c, &req)
	if err == errHookPending {
		return gnet.None // connectVerdict runs this again
	}
	if err != nil {
		return c.reject(err)
	}
	l.out = wsproto.AppendAcceptExtensions(l.out[:0], req.Key, protocol, l.eng.negotiateDeflate(c, &req))
	if c.endpoint.kind() != endpointEcho {
		c.greet()
	}
	_, _ = c.gc.Discard(end)
	c.setState(stateOpen)
	if l.eng.connsPerIP == nil {
		delete(l.peers, c) // nothing needs the client's address any more
	}
	c.lastData = l.clock()
	c.fillBuckets()
	l.scheduleOpen(c)
	l.eng.stats.handshakes.Add(1)
	rest, _ := c.gc.Next(-1)
	return c.readFrames(rest)
}

// greet queues the connected frame, the first a /ws client gets: its
// connection ID (identity.go), which node it is on, and how often the
// server pings.
func (c *conn) greet() {
	e := c.loop.eng
	id := c.identify()
	c.since = uint32(time.Now().Unix())
	if u := c.user(); u != "" {
		e.users.add(u, c)
	}
	c.subs.each(func(t *topic) { c.subscribedTo(t.name) })
	c.queueConnected(id, e.cfg.NodeID, e.cfg.Version, e.cfg.PingInterval.Milliseconds())
}

// reject answers a refused handshake with its HTTP status and closes.
func (c *conn) reject(err error) gnet.Action {
	c.loop.eng.stats.rejected.Add(1)
	c.loop.out = wsproto.AppendReject(c.loop.out[:0], err)
	c.flush()
	c.startClosing()
	return gnet.None
}

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
	if c.state == stateOpen && !d.Idle() {
		counted := 0
		if !shared {
			counted = l.parked[c].held
		}
		if l.partialBytes-counted+d.Held() > l.partialBudget {
			l.stats.partialCloses.Add(1)
			c.closeWith(wire.CloseTryAgainLater, wire.ReasonTooManyPartial)
		}
	}
	switch {
	case c.state != stateOpen: // nothing more will be decoded
		d.Reset()
		c.unpark()
	case shared && !d.Idle():
		p := &parkedDecoder{Decoder: *d, held: d.Held()} // c takes over the buffers
		l.parked[c], c.parked = p, true
		l.countPartial(p.held)
		l.resetDecoder()
	case !shared && d.Idle():
		c.unpark()
	case !shared:
		p := l.parked[c]
		held := d.Held()
		l.countPartial(held - p.held)
		p.held = held
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

// closeWith queues a close frame after whatever is already queued this
// turn, writes, and starts the closing handshake.
func (c *conn) closeWith(code ws.StatusCode, reason string) {
	if c.state != stateOpen {
		return
	}
	c.loop.eng.stats.closeSent(code)
	c.noteClose(code, reason)
	c.loop.out = wsproto.AppendClose(c.loop.out, code, reason)
	c.write()
	c.startClosing()
}

// flush writes the loop's scratch buffer (c's replies: acks, errors,
// pongs, pings, notices, echoes) to c. What the socket does not take gnet
// keeps, and that is bounded like deliveries: past MaxOutboundBytes c is
// closed with 1008 "slow consumer". Replies are never dropped, whatever
// SlowPolicy says: a client is owed the answers to what it sent, in order.
func (c *conn) flush() {
	c.write()
	if c.state == stateOpen && c.gc.OutboundBuffered() > c.loop.eng.cfg.MaxOutboundBytes {
		c.loop.stats.slowCloses.Add(1)
		c.closeWith(wire.ClosePolicyViolation, wire.ReasonSlowConsumer)
	}
}

// write writes the loop's scratch buffer to c in one call; gnet keeps what
// the socket does not take. A failed write makes gnet close c on the spot
// (OnClose runs inside Write), which leaves c in stateClosed.
func (c *conn) write() {
	l := c.loop
	if len(l.out) > 0 && c.state != stateClosed {
		c.bytesOut += uint64(len(l.out))
		_, _ = c.gc.Write(l.out)
	}
	l.resetOut()
}

// startClosing waits for the peer to close after our close frame or
// rejection: reading the rest and discarding it, instead of closing at once,
// keeps the kernel from answering unread data with a reset that would
// destroy the response in flight. CloseTimeout bounds the wait. A refused
// handshake keeps counting as one (stateRefused) until the socket is gone:
// otherwise refusing a request would free a slot for the next while the
// refused socket lingers.
func (c *conn) startClosing() {
	if c.state == stateClosed {
		return // gnet closed it while we wrote: its fd may already be reused
	}
	l := c.loop
	if c.state == stateHandshake || c.state == stateHook {
		c.setState(stateRefused)
	} else {
		c.setState(stateClosing)
	}
	l.leaveAll(c)
	c.closeAt = l.clock() + l.ticks(l.eng.cfg.CloseTimeout)
	c.tryHalfClose()
	l.scheduleClosing(c)
}

// abandon closes c on a peer that has stopped reading: its closing
// handshake or its pong did not come in time. Bytes still unsent, in gnet
// or in the kernel, would leave the socket to the kernel in FIN-WAIT-1,
// its send buffer full, retrying for minutes toward a window that never
// opens; a reset frees it at once and tells the peer.
func (c *conn) abandon() {
	fd := c.gc.Fd()
	if c.gc.OutboundBuffered() > 0 || unsent(fd) {
		resetOnClose(fd)
	}
	_ = c.loop.el.Close(c.gc)
}

// unsent reports whether the kernel still holds bytes of fd's that the
// peer has not acknowledged (or cannot say).
func unsent(fd int) bool {
	n, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
	return err != nil || n > 0
}

// resetOnClose makes fd's close send RST and drop what is unsent (SO_LINGER
// 0), leaving nothing behind in FIN-WAIT-1 or TIME_WAIT.
func resetOnClose(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
}

// tryHalfClose shuts our side for writing once gnet has sent everything, so
// the peer sees EOF after our last byte.
func (c *conn) tryHalfClose() {
	if c.closing() && !c.halfClosed && c.gc.OutboundBuffered() == 0 {
		_ = unix.Shutdown(c.gc.Fd(), unix.SHUT_WR)
		c.halfClosed = true
	}
}
