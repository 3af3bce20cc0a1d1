package reactor

import (
	"encoding/json"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

// maxConsecutiveErrs is how many error frames in a row (no successful
// command between them) a connection gets before it is closed with 1008:
// a broken or hostile client cannot keep the loop busy answering it.
const maxConsecutiveErrs = 16

// onPubSubMessage runs one client command (parsed by wire.ParseCommand, or
// wireproto.ParseCommand on a Protobuf connection)
// against the connection, the loop's topics and the relay. Runs on c's
// loop; replies are queued in the loop's scratch buffer, written by the
// caller.
func (c *conn) onPubSubMessage(m wsproto.Message) {
	l := c.loop
	cmd, perr := c.parseCommand(m) // JSON, or Protobuf (protobuf.go)
	if perr != nil {
		c.replyError(cmd.ID, perr)
		return
	}
	switch cmd.Kind {
	case wire.Pong:
		return // any frame answers a ping (readFrames); this one asks for nothing
	case wire.Send:
		c.hookMessage(cmd) // answered when the backend has
		return
	case wire.Subscribe:
		if !c.maySubscribe(cmd.Channel) {
			c.forbid(cmd.ID, wire.ErrSubscribeForbidden)
			return
		}
		history := l.eng.cfg.Relay.Retains(cmd.Channel)
		if cmd.Since != nil && !history {
			c.replyError(cmd.ID, wire.ErrNoHistory)
			return
		}
		if c.subs.len() >= l.eng.cfg.MaxSubscriptions && !c.subscribed(cmd.Channel) {
			c.replyError(cmd.ID, wire.ErrTooManySubscriptions)
			return
		}
		if cmd.Presence && !l.eng.hasPresence(cmd.Channel) {
			c.replyError(cmd.ID, wire.ErrNoPresence)
			return
		}
		if history {
			was := c.subscribed(cmd.Channel)
			// The ack comes with the channel's position (resume.go).
			if e := l.subscribeHistory(c, cmd.Channel, cmd.ID, cmd.Since); e != nil {
				c.replyError(cmd.ID, e)
				return
			}
			if !was {
				c.subscribedTo(cmd.Channel)
			}
			l.setWatch(c, cmd.Channel, cmd.Presence)
			c.errors = 0
			return
		}
		added, err := l.subscribe(c, cmd.Channel)
		if err != nil {
			c.replyError(cmd.ID, wire.ErrTooManyChannels)
			return
		}
		if added {
			c.subscribedTo(cmd.Channel)
		}
		l.setWatch(c, cmd.Channel, cmd.Presence)
	case wire.Unsubscribe:
		if !l.unsubscribe(c, cmd.Channel) {
			c.replyError(cmd.ID, wire.ErrNotSubscribed)
			return
		}
		c.hookEvent("unsubscribe", cmd.Channel)
	case wire.Publish:
		if !c.mayPublish(cmd.Channel) {
			c.forbid(cmd.ID, wire.ErrPublishForbidden)
			return
		}
		if l.eng.cfg.Hooks != nil && l.eng.cfg.HookPublish {
			c.hookPublish(cmd) // answered when the backend has decided
			return
		}
		if err := l.eng.publish(cmd.Channel, cmd.Data, cmd.Key, sourceClient); err != nil {
			c.replyText(cmd.ID, wire.CodePublishFailed, err.Error())
			return
		}
	case wire.Refresh:
		if !c.refresh(cmd) {
			return
		}
	case wire.History:
		switch {
		case !c.maySubscribe(cmd.Channel):
			c.forbid(cmd.ID, wire.ErrSubscribeForbidden)
		case !l.eng.cfg.Relay.Retains(cmd.Channel):
			c.replyError(cmd.ID, wire.ErrNoHistory)
		default:
			if e := c.history(cmd); e != nil {
				c.replyError(cmd.ID, e)
				return
			}
			c.errors = 0 // the answer comes later, as a history frame
		}
		return
	}
	c.errors = 0
	if len(cmd.ID) > 0 {
		c.queueAck(cmd.ID)
	}
}

// subscribed reports whether c is a subscriber (or resume) of channel.
func (c *conn) subscribed(channel string) bool {
	t := c.loop.topics[channel]
	return t != nil && c.subs.find(t) != nil
}

// forbid answers a command the token's patterns do not allow.
func (c *conn) forbid(id json.RawMessage, e *wire.Error) {
	c.loop.stats.forbidden.Add(1)
	c.replyError(id, e)
}

// replyError queues the error frame of e, repeating id (nil for none).
func (c *conn) replyError(id json.RawMessage, e *wire.Error) {
	c.replyText(id, e.Code, e.Message)
}

// replyText queues an error frame with code and a text of its own; after
// maxConsecutiveErrs in a row it closes c with 1008.
func (c *conn) replyText(id json.RawMessage, code, message string) {
	l := c.loop
	c.errors++
	l.stats.errorFrames.Add(1)
	c.queueError(id, code, message)
	if c.errors >= maxConsecutiveErrs {
		reason := wire.ReasonTooManyErrors
		if code == wire.CodeRateLimited {
			reason = wire.ReasonRateLimited
		}
		c.closeWith(wire.ClosePolicyViolation, reason)
	}
}
