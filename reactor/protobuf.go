package reactor

import (
	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
	"github.com/wsgate/wsgate/wsproto"
)

// The Protobuf protocol (wireproto, subprotocol "wsgate.v1.proto") on /ws.
// A connection that negotiated it carries the endpointProto flag bit in
// conn.endpoint (the conn stays in its size class) and speaks binary frames both
// ways; everything else (subscriptions, limits, history, slow consumers)
// is the JSON protocol's, since both parse into the same wire.Command.
//
//   - Commands: a binary frame is a ClientFrame (wireproto.ParseCommand);
//     a text frame is refused with unsupported, as a binary frame is on a
//     JSON connection.
//   - Replies (acks, errors, notices, history, the greeting, the
//     heartbeat's ping) are built by wireproto's twins of wire's Append
//     functions (replies.go), a few allocations each, off the hot path.
//   - Publications: the hub frames each one once in JSON (prepareMessage);
//     the first Protobuf subscriber's loop to need it makes its Protobuf
//     frame from that, once (wsproto.Prepared.Variant, prepareProto), and
//     every Protobuf subscriber on every loop gets the same bytes, as
//     deflate subscribers share one compressed frame (frameFor). A
//     publication no Protobuf client receives is never encoded again.
//     With permessage-deflate the Protobuf frame is compressed once too.

// negotiateProtobuf picks the connection's format from the subprotocols
// the client offered, in its order of preference: the first of
// "wsgate.v1" (JSON, as auth.Extract echoes it) and "wsgate.v1.proto" that
// it lists decides. For the Protobuf protocol it marks c and returns the
// name to echo; otherwise it returns protocol, what authenticate chose.
// /ws only. Runs on c's loop.
func negotiateProtobuf(c *conn, req *wsproto.Request, protocol []byte) []byte {
	for p := range req.Tokens("Sec-WebSocket-Protocol") {
		switch string(p) {
		case auth.Protocol:
			return protocol
		case wireproto.Protocol:
			c.endpoint |= endpointProto
			return []byte(wireproto.Protocol)
		}
	}
	return protocol
}

// parseCommand parses one data message of a /ws connection in its format.
func (c *conn) parseCommand(m wsproto.Message) (wire.Command, *wire.Error) {
	maxData := c.loop.eng.cfg.MaxDataSize
	switch {
	case !c.endpoint.proto() && m.Op == ws.OpText:
		return wire.ParseCommand(m.Payload, maxData)
	case !c.endpoint.proto():
		return wire.Command{}, wire.ErrBinaryFrame
	case m.Op == ws.OpBinary:
		return wireproto.ParseCommand(m.Payload, maxData)
	}
	return wire.Command{}, wireproto.ErrTextFrame
}

// prepareProto makes the Protobuf frame of a publication from the body of
// its JSON frame (prepareMessage's), which holds everything it needs: the
// channel, offset and prev, and the data as published. It is the builder
// wsproto.Prepared.Variant runs once per publication (frameFor).
func prepareProto(body []byte) *wsproto.Prepared {
	buf := bytebufferpool.Get()
	channel, offset, prev, data, ok := wire.SplitMessage(body)
	if !ok {
		// prepareMessage's bodies always split (wire's tests): should a
		// body ever not, the subscriber sees it whole rather than nothing.
		channel, offset, prev, data = nil, 0, 0, body
	}
	buf.B = wireproto.AppendMessage(buf.B, channel, offset, prev, data)
	p := wsproto.Prepare(ws.OpBinary, buf.B)
	bytebufferpool.Put(buf)
	return p
}
