package client

import (
	"time"
)

// Presence: a subscription made WithPresence asks the server, in every
// subscribe it sends (the first and each one after a reconnection or a
// gap), for its channel's join and leave frames, and hands them to its
// callbacks (docs/backend.md, "Presence").

// Member is the connection a join or leave names: a subscriber of a
// channel with presence (the server's --presence patterns).
type Member struct {
	Channel string
	// ConnID is the member's connection ID, "<node>.<32 hex digits>"
	// (Client.ClientID on its side): what the backend's control API
	// names it by.
	ConnID string
	// User is its token's subject ("" for an anonymous connection, or the
	// user the backend's connect hook gave it).
	User string
	// Node is the node it is connected to.
	Node string
	// Joined is when it subscribed, to the millisecond.
	Joined time.Time
}

// WithPresence asks for the channel's join and leave frames: onJoin is
// called when a connection subscribes to the channel, onLeave when it
// unsubscribes or closes (either may be nil). They run on the
// subscription's goroutine, in order with its messages and events, like
// the handler.
//
// They report changes, not the member list: the members already there
// when the subscription starts come from the backend (GET /api/presence
// is on the admin listener, not for clients), and changes made while the
// client was disconnected are not replayed, so read the list again after
// each reconnection (OnState's StateConnected). A join or leave may come
// twice: apply them as set operations keyed by ConnID. On a channel
// without presence none comes, or the server refuses the subscribe with
// an error (Subscribe returns it; a refused resubscription ends the
// subscription, EventEnded).
func WithPresence(onJoin, onLeave func(Member)) SubscribeOption {
	return func(o *subscribeOptions) { o.presence, o.onJoin, o.onLeave = true, onJoin, onLeave }
}

// onPresenceLocked passes a join or leave on to the channel's
// subscription, if it asked for them. It is delivered whatever the
// subscription's resume state: presence changes are not replayed, so a
// subscription waiting for a subscribe's ack must not drop them.
func (c *Client) onPresenceLocked(f *frame) {
	sub := c.subs[f.channel]
	if sub == nil || !sub.presence {
		return
	}
	sub.push(presenceChange{join: f.kind == frameJoin, member: f.member})
}
