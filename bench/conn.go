package bench

import (
	"bytes"
	"strconv"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/wsproto"
)

type connState uint8

const (
	stateHandshake connState = iota // upgrade request sent, waiting for 101
	stateOpen                       // exchanging frames
	stateClosing                    // our close frame sent, waiting for the server to close
	stateDone                       // failure recorded; waiting for OnClose
)

// role is what a connection does once open.
type role uint8

const (
	roleSubscriber role = iota // receives broadcasts (or holds idle, in connect)
	roleEcho                   // sends stamped messages to /echo and times the replies
)

// wire is the byte stream under a conn, used only on its loop: a
// gnet.Conn, or a tlsWire for a wss:// target. The read side has gnet's
// semantics: Peek and Next with -1 take everything buffered.
type wire interface {
	Peek(n int) ([]byte, error)
	Next(n int) ([]byte, error)
	Discard(n int) (int, error)
	Write(b []byte) (int, error)
}

// conn is one client connection's whole state, touched only by its loop
// (and, before it is enrolled, by the dialer that created it).
type conn struct {
	gc   wire
	loop *loop

	started int64 // unix nanos the dial was due (connect latency counts from here)
	// dialed is when the dial began (unix nanos), the start of the
	// handshake deadline; once our close frame is out, when it went out.
	dialed int64
	extra  *connExtra // echo state, or more publishers; nil for most

	id      uint32 // global connection number: picks target, channel and key
	slot    int32  // index in loop.conns
	target  uint16
	state   connState
	role    role
	stable  bool // subscriber from before the load: its losses count
	opened  bool // got its 101
	greeted greeting
	deflate bool // permessage-deflate negotiated: messages may come compressed

	// dec holds a frame that arrived in part; nil between frames, when
	// the loop's decoder serves (an idle connection carries no decoder).
	dec *wsproto.Decoder
	seq seqTrack // publisher 0
}

// greeting is where a connection is in its first messages, as seen by
// readFrames.
type greeting uint8

const (
	ungreeted   greeting = iota // nothing yet; on wsgate's /ws the connected frame comes first
	greeted                     // a first message came (skipped when it is the connected frame)
	subscribing                 // greeted or not, its subscribe frame is out (Plan.SubscribeFrame) and the handshake counts at the ack
)

// connExtra is the state only some connections need, kept out of line so
// an idle subscriber stays at 96 bytes.
type connExtra struct {
	echoNext int64      // when the next echo message is due (fixed rate)
	echoSent int64      // when the outstanding echo message went out; 0: none
	echoSeq  uint32     // last echo sequence number sent
	more     []seqTrack // publishers 1 and up, grown on first use
}

func (c *conn) ext() *connExtra {
	if c.extra == nil {
		c.extra = new(connExtra)
	}
	return c.extra
}

// track returns the sequence tracker for publisher p, or nil past max.
func (c *conn) track(p uint32, max int) *seqTrack {
	if p == 0 {
		return &c.seq
	}
	if int(p) >= max {
		return nil
	}
	x := c.ext()
	for len(x.more) < int(p) {
		x.more = append(x.more, seqTrack{})
	}
	return &x.more[p-1]
}

// trackOf returns c's tracker of publisher p, or nil when it has none.
func (c *conn) trackOf(p int) *seqTrack {
	if p == 0 {
		return &c.seq
	}
	if c.extra == nil || p > len(c.extra.more) {
		return nil
	}
	return &c.extra.more[p-1]
}

// onTraffic handles bytes from the server, counting every byte taken off
// the socket (loopStats.wireBytes). Runs on c's loop.
func (c *conn) onTraffic(now int64) gnet.Action {
	switch c.state {
	case stateHandshake:
		return c.readHandshake(now)
	case stateOpen, stateClosing:
		buf, _ := c.gc.Next(-1)
		c.loop.stats.wireBytes.Add(int64(len(buf)))
		return c.readFrames(buf, now)
	default:
		n, _ := c.gc.Discard(-1)
		c.loop.stats.wireBytes.Add(int64(n))
		return gnet.None
	}
}

func (c *conn) readHandshake(now int64) gnet.Action {
	l := c.loop
	buf, _ := c.gc.Peek(-1)
	key := connKey(l.sh.salt, uint64(c.id))
	n, deflate, err := parseUpgradeResponse(buf, &key, l.sh.plan.Deflate, l.sh.plan.Subprotocols)
	if err != nil {
		c.fail(err.Error())
		return gnet.Close
	}
	if n == 0 {
		return gnet.None
	}
	if l.sh.plan.Deflate && !deflate {
		// Asked for, not given: the run measures something else than
		// it says, so the connection fails and the run with it.
		l.stats.deflateDeclined.Add(1)
		c.fail(kindDeflateDeclined)
		return gnet.Close
	}
	_, _ = c.gc.Discard(n)
	l.stats.wireBytes.Add(int64(n))
	c.state, c.deflate = stateOpen, deflate
	l.stats.open.Add(1)
	if deflate {
		l.stats.deflated.Add(1)
	}
	if ch := l.sh.channelOf(c.id); l.sh.plan.SubscribeFrame && ch >= 0 {
		c.greeted = subscribing
		l.pay = appendSubscribe(l.pay[:0], l.sh.plan.ChannelPrefix, ch)
		l.write(c, ws.OpText, l.pay)
	} else {
		l.handshaken(c, now)
	}
	if c.role == roleEcho && l.echoing {
		l.startEcho(c, now)
	}
	rest, _ := c.gc.Next(-1)
	l.stats.wireBytes.Add(int64(len(rest)))
	return c.readFrames(rest, now)
}

// readFrames decodes every frame in buf.
func (c *conn) readFrames(buf []byte, now int64) gnet.Action {
	l := c.loop
	d := c.dec
	if d == nil {
		d = &l.dec
	}
	defer c.parkDecoder(d)
	// The loop's decoder serves every connection between frames: it takes
	// this one's mode for this read (a message begun keeps its own).
	d.SetDeflate(c.deflate)
	for len(buf) > 0 && (c.state == stateOpen || c.state == stateClosing) {
		m, n, err := d.Next(buf)
		buf = buf[n:]
		if err != nil {
			c.fail(kindProtocol)
			return gnet.Close
		}
		switch m.Op {
		case ws.OpText, ws.OpBinary:
			first, waiting := c.greeted == ungreeted, c.greeted == subscribing
			if !waiting {
				c.greeted = greeted
			}
			switch {
			case waiting && m.Op == ws.OpText && isConnected(m.Payload):
				// wsgate's greeting, before the ack
			case waiting && m.Op == ws.OpText && bytes.HasPrefix(m.Payload, []byte(ackPrefix)):
				c.greeted = greeted
				l.handshaken(c, now)
			case waiting && m.Op == ws.OpText && bytes.HasPrefix(m.Payload, []byte(errorPrefix)):
				c.fail(kindSubscribeRefused)
				return gnet.Close
			case c.role == roleEcho:
				l.onEchoReply(c, m.Payload, now)
			case first && m.Op == ws.OpText && isConnected(m.Payload):
				// wsgate's greeting on /ws, not a delivery
			default:
				l.onDelivery(c, m.Payload, now)
			}
		case ws.OpPing:
			// "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
			// in response" (§5.5.2), with the same application data.
			l.write(c, ws.OpPong, m.Payload)
		case ws.OpClose:
			return c.onClose(m.Payload)
		}
	}
	return gnet.None
}

// handshaken counts c's handshake as done: its 101, or with
// Plan.SubscribeFrame the ack of its subscription.
func (l *loop) handshaken(c *conn, now int64) {
	c.opened = true // else, closed, it counts as failed (Progress.Failed)
	l.connect.RecordNanos(now - c.started)
	l.connectRaw.RecordNanos(now - c.dialed)
	l.stats.handshakes.Add(1)
}

// The replies to a subscribe frame: wsgate's ack, or its error frame.
const (
	ackPrefix   = `{"type":"ack",`
	errorPrefix = `{"type":"error",`
)

// appendSubscribe appends the subscribe command for channel ch (prefix +
// ch): {"type":"subscribe","channel":"bench.3","id":1}.
func appendSubscribe(dst []byte, prefix string, ch int) []byte {
	dst = append(dst, `{"type":"subscribe","channel":"`...)
	dst = append(dst, prefix...)
	dst = strconv.AppendInt(dst, int64(ch), 10)
	return append(dst, `","id":1}`...)
}

// connectedPrefix starts the connected frame wsgate sends first on /ws:
// {"type":"connected","client":…,"node":…,"version":…,"ping_interval_ms":…}.
const connectedPrefix = `{"type":"connected",`

// isConnected reports whether a message is wsgate's connected frame. Only
// a connection's first message is checked: a later one is data (a stamp
// or, if not, unstamped).
func isConnected(payload []byte) bool {
	return bytes.HasPrefix(payload, []byte(connectedPrefix)) && bytes.HasSuffix(payload, []byte("}"))
}

// parkDecoder keeps d's state with c only while a frame is incomplete;
// otherwise c goes back to sharing the loop's decoder.
func (c *conn) parkDecoder(d *wsproto.Decoder) {
	l := c.loop
	shared := d == &l.dec
	switch {
	case c.state != stateOpen && c.state != stateClosing: // nothing more to decode
		d.Reset()
		c.dec = nil
	case shared && !d.Idle():
		c.dec = new(wsproto.Decoder)
		*c.dec = *d // c takes over the buffers
		l.dec = wsproto.Decoder{}
		l.dec.Init(wsproto.ClientSide, &l.sh.limits)
	case !shared && d.Idle():
		c.dec = nil
	}
}

// onClose handles the server's close frame: the answer to ours, or its own
// decision, which is recorded as an error kind by code.
func (c *conn) onClose(payload []byte) gnet.Action {
	if c.state == stateClosing {
		return gnet.Close
	}
	code, reason, _ := wsproto.ParseClose(payload)
	c.fail(closeKind(code, reason))
	// "If an endpoint receives a Close frame and did not previously send a
	// Close frame, the endpoint MUST send a Close frame in response." (§5.5.1)
	c.loop.write(c, ws.OpClose, payload[:min(len(payload), 2)])
	return gnet.Close
}

// fail records why c is going away; only the first reason counts.
func (c *conn) fail(kind string) {
	if c.state == stateDone {
		return
	}
	if c.state == stateOpen {
		c.loop.stats.open.Add(-1)
	}
	c.state = stateDone
	c.loop.countError(kind)
}

// closeGracefully sends a close frame (1000) and waits, up to the shard's
// CloseTimeout, for the server to answer and close.
func (c *conn) closeGracefully(now int64) {
	if c.state != stateOpen {
		return
	}
	c.state = stateClosing
	c.loop.stats.open.Add(-1)
	c.dialed = now
	c.loop.write(c, ws.OpClose, []byte{0x03, 0xe8})
}
