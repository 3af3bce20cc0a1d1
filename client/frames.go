package client

import (
	"github.com/wsgate/wsgate/wire"
)

// What the server sends, applied under the client's mutex.

// handle acts on one frame from the server.
func (c *Client) handle(cn *conn, payload []byte) {
	var f frame
	if err := c.codec.decode(payload, &f); err != nil {
		c.log.Warn("wsgate: unreadable frame", "frame", truncate(payload), "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != cn {
		return // a late frame of a connection already detached
	}
	switch f.kind {
	case frameMessage:
		c.onMessageLocked(&f)
	case frameAck:
		c.onAckLocked(&f)
	case frameError:
		c.onErrorLocked(&f)
	case frameDropped:
		c.onDroppedLocked(&f)
	case frameHistory:
		if req := c.takeLocked(f.id); req != nil {
			req.finish(reply{frame: &f})
		}
	case frameUnsubscribed:
		c.onUnsubscribedLocked(cn, &f)
	case framePing:
		// The application heartbeat (/ws?heartbeat=1): answer it.
		cn.send(c.codec.encode(command{kind: cmdPong}))
	case framePush:
		c.onPushLocked(&f)
	case frameJoin, frameLeave:
		c.onPresenceLocked(&f)
	case frameConnected:
	default:
		c.log.Debug("wsgate: unknown frame", "frame", truncate(payload))
	}
}

// takeLocked removes and returns the command a reply's id names, or nil.
func (c *Client) takeLocked(id uint64) *request {
	if id == 0 {
		return nil
	}
	req := c.pending[id]
	if req != nil {
		delete(c.pending, id)
	}
	return req
}

func (c *Client) onAckLocked(f *frame) {
	if f.id == 0 {
		// Unasked: the history a subscription was replaying was lost.
		if sub := c.subs[f.channel]; sub != nil && sub.tr.unasked(f.offset, f.epoch) {
			sub.recovered = false
			c.log.Warn("wsgate: publications may have been lost", "channel", f.channel, "offset", f.offset, "epoch", f.epoch)
			sub.push(Event{Kind: EventNotRecovered, Channel: f.channel, Position: sub.tr.position()})
		}
		return
	}
	req := c.takeLocked(f.id)
	if req == nil {
		return
	}
	if req.kind == cmdSubscribe {
		c.subscribedLocked(req, f)
		return
	}
	req.finish(reply{frame: f})
}

// onDroppedLocked passes a dropped notice on and, on a channel with
// history, resumes at once when the gap starts at or after L.
func (c *Client) onDroppedLocked(f *frame) {
	sub := c.subs[f.channel]
	if sub == nil {
		return
	}
	sub.push(Event{Kind: EventDropped, Channel: f.channel, Position: Position{Offset: f.offset}, Message: f.message})
	if sub.tr.dropped(f.hasOffset, f.offset) {
		c.subscribeLocked(sub)
	}
}

func (c *Client) onErrorLocked(f *frame) {
	if f.id == 0 {
		c.log.Warn("wsgate: error frame", "code", f.code, "message", f.message)
		return
	}
	req := c.takeLocked(f.id)
	if req == nil {
		return
	}
	err := &Error{Code: f.code, Message: f.message}
	if req.kind == cmdSubscribe {
		c.subscribeFailedLocked(req, err)
		return
	}
	if req.kind == cmdUnsubscribe && f.code == wire.CodeNotSubscribed {
		req.finish(reply{}) // the goal is reached
		return
	}
	req.finish(reply{err: err})
}

func (c *Client) onMessageLocked(f *frame) {
	sub := c.subs[f.channel]
	if sub == nil {
		return
	}
	switch sub.tr.message(f.hasOffset, f.offset, f.prev) {
	case deliver:
		sub.push(Message{Channel: f.channel, Data: f.data, Offset: f.offset, Prev: f.prev})
	case resubscribe:
		c.log.Info("wsgate: gap, resuming", "channel", f.channel, "offset", f.offset, "prev", f.prev, "last", sub.tr.last)
		c.subscribeLocked(sub)
	}
}

func (c *Client) onUnsubscribedLocked(cn *conn, f *frame) {
	sub := c.subs[f.channel]
	if sub == nil {
		return
	}
	if f.reason == wire.UnsubscribedHistoryUnavailable {
		// The replay could not go on: subscribe again with since, after
		// a backoff (the store was just unreachable).
		c.retrySubscribeLocked(cn, sub)
		return
	}
	// forbidden, server: over, and not subscribed again on the next
	// connection (endLocked forgets it).
	err := &Error{Code: f.reason, Message: unsubscribedText(f.reason)}
	c.endLocked(sub, Event{Kind: EventEnded, Channel: f.channel, Reason: f.reason, Err: err}, false)
}

// unsubscribedText says what an unsubscribed notice's reason means.
func unsubscribedText(reason string) string {
	switch reason {
	case wire.UnsubscribedForbidden:
		return "the refreshed token does not allow the channel"
	case wire.UnsubscribedServer:
		return "the backend ended the subscription"
	}
	return "the server ended the subscription"
}

// truncate shortens a frame for a log line.
func truncate(p []byte) string {
	if len(p) > 200 {
		return string(p[:200]) + "..."
	}
	return string(p)
}
