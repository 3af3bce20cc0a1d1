package reactor

import (
	"encoding/json"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
	"github.com/wsgate/wsgate/wsproto"
)

// The node's own frames to one connection (replies, notices, replayed
// history, the greeting), each in the connection's format: JSON text
// frames (wire) or, on a wsgate.v1.proto connection, Protobuf binary
// frames (wireproto). Each builds the body in l.body and queues it after
// what l.out holds for c, to be written by the caller (conn.flush). Run on
// c's loop.

// queue frames body as one frame of c's format after what l.out holds.
// body must have been built on l.body[:0]: its memory becomes l.body
// again, so replies allocate nothing once it has grown.
func (c *conn) queue(body []byte) {
	l := c.loop
	if !c.endpoint.proto() {
		l.queueText(body)
		return
	}
	l.out = wsproto.AppendFrame(l.out, ws.OpBinary, true, body)
	if cap(body) <= maxScratch {
		l.body = body[:0]
	}
}

func (c *conn) queueAck(id json.RawMessage) {
	if c.endpoint.proto() {
		c.queue(wireproto.AppendAck(c.loop.body[:0], id))
		return
	}
	c.queue(wire.AppendAck(c.loop.body[:0], id))
}

func (c *conn) queueError(id json.RawMessage, code, message string) {
	if c.endpoint.proto() {
		c.queue(wireproto.AppendError(c.loop.body[:0], id, code, message))
		return
	}
	c.queue(wire.AppendError(c.loop.body[:0], id, code, message))
}

func (c *conn) queuePosition(id json.RawMessage, channel string, offset uint64, epoch string, recovered *bool) {
	if c.endpoint.proto() {
		c.queue(wireproto.AppendPosition(c.loop.body[:0], id, channel, offset, epoch, recovered))
		return
	}
	c.queue(wire.AppendPosition(c.loop.body[:0], id, channel, offset, epoch, recovered))
}

func (c *conn) queueHistory(id json.RawMessage, channel string, offset uint64, epoch string, recovered, more bool, entries []wire.HistoryEntry) {
	if c.endpoint.proto() {
		c.queue(wireproto.AppendHistory(c.loop.body[:0], id, channel, offset, epoch, recovered, more, entries))
		return
	}
	c.queue(wire.AppendHistory(c.loop.body[:0], id, channel, offset, epoch, recovered, more, entries))
}

func (c *conn) queueUnsubscribed(channel, reason string) {
	if c.endpoint.proto() {
		c.queue(wireproto.AppendUnsubscribed(c.loop.body[:0], channel, reason))
		return
	}
	c.queue(wire.AppendUnsubscribed(c.loop.body[:0], channel, reason))
}

func (c *conn) queueDropped(channel string, count, offset uint64) {
	if c.endpoint.proto() {
		c.queue(wireproto.AppendDroppedOn(c.loop.body[:0], channel, count, offset))
		return
	}
	c.queue(wire.AppendDroppedOn(c.loop.body[:0], channel, count, offset))
}

// queueReplayed queues a publication read from history for c alone (a
// resume's replay, resume.go).
func (c *conn) queueReplayed(channel string, offset, prev uint64, data []byte) {
	if c.endpoint.proto() {
		c.queue(wireproto.AppendMessage(c.loop.body[:0], channel, offset, prev, data))
		return
	}
	c.queue(wire.AppendMessageAt(c.loop.body[:0], channel, offset, prev, data))
}

func (c *conn) queueConnected(client, node, version string, pingIntervalMS int64) {
	if c.endpoint.proto() {
		c.queue(wireproto.AppendConnected(c.loop.body[:0], client, node, version, pingIntervalMS))
		return
	}
	c.queue(wire.AppendConnected(c.loop.body[:0], client, node, version, pingIntervalMS))
}

// appendHeartbeatPing appends the ping a /ws?heartbeat=1 connection gets
// in place of a ping control frame: one its page can see.
func (c *conn) appendHeartbeatPing(dst []byte) []byte {
	if c.endpoint.proto() {
		return wsproto.AppendFrame(dst, ws.OpBinary, true, wireproto.PingFrame)
	}
	return wsproto.AppendFrame(dst, ws.OpText, true, wire.Ping)
}
