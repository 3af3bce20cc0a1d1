package reactor

import (
	"time"

	"github.com/panjf2000/gnet/v2"

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
