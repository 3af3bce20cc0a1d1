package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wsgate/wsgate/wire"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventResumed: a subscribe with since (after a reconnection, a gap,
	// or WithSince) was answered recovered:true: nothing was lost, the
	// missed publications follow in order.
	EventResumed EventKind = iota + 1
	// EventNotRecovered: publications may have been lost (the server
	// answered recovered:false, in the subscribe's ack or unasked while
	// replaying, or the channel no longer keeps history): the
	// subscription goes on from Position. Read what is retained with
	// History, or reload the state from its source.
	EventNotRecovered
	// EventDropped: the server dropped publications of the channel
	// because the connection did not read fast enough (slow policy
	// drop). On a channel with history the client resumes by itself and
	// the lost publications follow; Position.Offset is the last offset
	// before the gap (0 when not given).
	EventDropped
	// EventEnded: the subscription is over and its handler is not called
	// again; it is not subscribed again on later connections. Err says
	// why: an *Error whose Code is the server's reason, as Reason
	// (wire.UnsubscribedForbidden: a refreshed token no longer allows the
	// channel; wire.UnsubscribedServer: the backend ended it through the
	// control API), or its refusal of a resubscription, or the client's
	// end (ErrClosed, a final refusal).
	EventEnded
)

func (k EventKind) String() string {
	switch k {
	case EventResumed:
		return "resumed"
	case EventNotRecovered:
		return "not_recovered"
	case EventDropped:
		return "dropped"
	case EventEnded:
		return "ended"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is something that happened to a subscription besides a message.
// Events are delivered on the subscription's goroutine, in order with its
// messages.
type Event struct {
	Kind     EventKind
	Channel  string
	Position Position // the position after the event (EventDropped: see there)
	Reason   string   // EventEnded by an unsubscribed notice: its "reason" (forbidden, server)
	Message  string   // EventDropped: the server's text
	Err      error    // EventEnded (always), EventNotRecovered (when history went away)
}

// SubscribeOption changes one Subscribe.
type SubscribeOption func(*subscribeOptions)

type subscribeOptions struct {
	since           *Position
	onEvent         func(Event)
	presence        bool // WithPresence
	onJoin, onLeave func(Member)
}

// WithSince resumes from a position kept from an earlier run (a
// Subscription's Position): the subscribe carries since, and the
// publications after it follow, or EventNotRecovered says they cannot. A
// zero Position (a channel without history) subscribes without since.
func WithSince(p Position) SubscribeOption {
	return func(o *subscribeOptions) { o.since = &p }
}

// WithEvents has fn called with the subscription's events, on the
// subscription's goroutine, in order with its messages.
func WithEvents(fn func(Event)) SubscribeOption {
	return func(o *subscribeOptions) { o.onEvent = fn }
}

// Subscription is a client's subscription to one channel. It lives across
// reconnections: the client subscribes again on each new connection, with
// since on a channel with history, until Unsubscribe, the server ends it,
// or the client closes.
type Subscription struct {
	c        *Client
	channel  string
	presence bool // every subscribe asks for join and leave frames (WithPresence)
	q        *queue

	// Guarded by c.mu.
	tr        tracker
	reqID     uint64 // the subscribe in flight (0: none)
	sentSince bool   // it carries since
	acked     bool   // the server acknowledged a subscribe of it
	settled   bool   // first is closed
	first     chan struct{}
	firstErr  error
	recovered bool
	ended     bool
	unsubSent bool        // an unsubscribe went out for it
	retry     *time.Timer // a resubscription after a refusal, pending
}

// Channel returns the subscription's channel.
func (s *Subscription) Channel() string { return s.channel }

// Recovered reports whether the last subscribe with since (a resume) was
// answered recovered:true: every publication after the position was, or is
// being, delivered. False before any resume and after recovered:false.
func (s *Subscription) Recovered() bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.recovered
}

// Position returns the subscription's position: the offset of the last
// publication delivered (or of the last ack that set it) and its epoch.
// Zero on a channel without history. Keep it to resume in a later run
// (WithSince).
func (s *Subscription) Position() Position {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.tr.position()
}

// Offset returns Position().Offset.
func (s *Subscription) Offset() uint64 { return s.Position().Offset }

// Epoch returns Position().Epoch.
func (s *Subscription) Epoch() string { return s.Position().Epoch }

// Subscribe subscribes to channel and returns once the server acknowledged
// it (an error frame is returned as an *Error, e.g. wire.CodeForbidden, or
// wire.CodeHistoryUnavailable: nothing was subscribed, try again). handler
// is called with each message, on a goroutine of the subscription's own,
// one message at a time, in order; it should return quickly (messages
// queue up while it runs, without bound). The subscription then lives
// across reconnections (see the package doc) until Unsubscribe.
//
// Subscribe before Connect waits for the connection. A channel may have
// one subscription per client (ErrSubscribed).
func (c *Client) Subscribe(ctx context.Context, channel string, handler func(Message), opts ...SubscribeOption) (*Subscription, error) {
	if !wire.ValidChannel(channel) {
		return nil, &Error{Code: wire.CodeBadChannel, Message: wire.ChannelRule}
	}
	if handler == nil {
		return nil, errors.New("wsgate: Subscribe needs a handler")
	}
	var so subscribeOptions
	for _, o := range opts {
		o(&so)
	}
	sub := &Subscription{c: c, channel: channel, presence: so.presence, first: make(chan struct{}),
		q: newQueue(handlers{message: handler, event: so.onEvent, join: so.onJoin, leave: so.onLeave})}
	if so.since != nil && so.since.Epoch != "" {
		if !wire.ValidEpoch(so.since.Epoch) {
			return nil, &Error{Code: wire.CodeBadSince, Message: wire.ErrBadSince.Message}
		}
		sub.tr.history, sub.tr.last, sub.tr.epoch = true, so.since.Offset, so.since.Epoch
	}
	c.mu.Lock()
	if c.closed {
		defer c.mu.Unlock()
		return nil, c.closedErr()
	}
	if c.subs[channel] != nil {
		c.mu.Unlock()
		return nil, ErrSubscribed
	}
	c.subs[channel] = sub
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		sub.q.run()
	}()
	if c.cur != nil {
		c.subscribeLocked(sub)
	} else {
		sub.tr.subscribing() // attach sends it
	}
	c.mu.Unlock()

	select {
	case <-sub.first:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if sub.settled {
		if sub.firstErr != nil {
			return nil, sub.firstErr
		}
		return sub, nil
	}
	c.unsubscribeLocked(sub) // ctx ended first: give it up
	return nil, fmt.Errorf("wsgate: subscribe to %s: %w", channel, c.ctxErrLocked(ctx))
}

// Unsubscribe ends the subscription: its handler is not called again once
// Unsubscribe returns, except for a call already under way. It waits for
// the server's ack when connected (within ctx); the subscription is over
// on the client side whatever the answer.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	c := s.c
	c.mu.Lock()
	if s.ended {
		c.mu.Unlock()
		return nil
	}
	req := c.unsubscribeLocked(s)
	c.mu.Unlock()
	if req == nil {
		return nil
	}
	rep, err := c.wait(ctx, req)
	if err != nil {
		return fmt.Errorf("wsgate: unsubscribe from %s: %w", s.channel, err)
	}
	return rep.err
}

// unsubscribeLocked ends s and, when the server may hold it, sends an
// unsubscribe, returned for its answer (nil when none was sent).
func (c *Client) unsubscribeLocked(s *Subscription) *request {
	c.endLocked(s, Event{}, true)
	if c.cur == nil || c.subs[s.channel] != nil || (!s.acked && s.reqID == 0) {
		return nil // no connection, another subscription took the channel, or nothing was sent
	}
	s.unsubSent = true
	return c.sendUnsubscribeLocked(s.channel)
}

func (c *Client) sendUnsubscribeLocked(channel string) *request {
	req := newRequest(cmdUnsubscribe, false)
	req.id = c.nextIDLocked()
	req.frame = c.codec.encode(command{kind: cmdUnsubscribe, channel: channel, id: req.id})
	c.pending[req.id] = req
	c.sendLocked(req)
	return req
}

// subscribeLocked sends a subscribe for sub on the current connection,
// with since when it has a position, and ignores the channel's messages
// until its ack. Without a connection, attach sends it.
func (c *Client) subscribeLocked(sub *Subscription) {
	sub.tr.subscribing()
	sub.reqID = 0
	if c.cur == nil {
		return
	}
	req := newRequest(cmdSubscribe, false)
	req.sub = sub
	req.id = c.nextIDLocked()
	since := sub.tr.since()
	req.frame = c.codec.encode(command{kind: cmdSubscribe, channel: sub.channel, since: since, presence: sub.presence, id: req.id})
	sub.reqID, sub.sentSince = req.id, since != nil
	c.pending[req.id] = req
	c.sendLocked(req)
}

// subscribedLocked applies the ack f of the subscribe req.
func (c *Client) subscribedLocked(req *request, f *frame) {
	sub := req.sub
	if sub.ended || c.subs[sub.channel] != sub {
		// Given up while the subscribe was out: undo it on the server,
		// unless another subscription of the channel took over (its
		// subscribe went out later, so it is the one in force).
		if c.subs[sub.channel] == nil && !sub.unsubSent && c.cur != nil {
			sub.unsubSent = true
			c.sendUnsubscribeLocked(sub.channel)
		}
		return
	}
	if req.id != sub.reqID {
		return // a later subscribe replaced it: its ack decides
	}
	sub.reqID, sub.acked = 0, true
	lost := sub.tr.ack(f.offset, f.epoch, f.recovered)
	sub.recovered = f.recovered != nil && *f.recovered
	if !sub.settled {
		sub.settled = true
		close(sub.first)
	}
	switch {
	case lost:
		c.log.Warn("wsgate: resume refused: publications may have been lost", "channel", sub.channel, "offset", f.offset, "epoch", f.epoch)
		sub.push(Event{Kind: EventNotRecovered, Channel: sub.channel, Position: sub.tr.position()})
	case sub.sentSince && sub.recovered:
		sub.push(Event{Kind: EventResumed, Channel: sub.channel, Position: sub.tr.position()})
	}
}

// subscribeFailedLocked applies an error answering the subscribe req.
func (c *Client) subscribeFailedLocked(req *request, err *Error) {
	sub := req.sub
	if sub.ended || c.subs[sub.channel] != sub || req.id != sub.reqID {
		return
	}
	sub.reqID = 0
	if !sub.acked {
		// Subscribe is still waiting: it returns the refusal, nothing was
		// subscribed.
		sub.firstErr = err
		c.endLocked(sub, Event{}, true)
		return
	}
	switch err.Code {
	case wire.CodeHistoryUnavailable, wire.CodeRateLimited, wire.CodeTooManyChannels:
		c.log.Warn("wsgate: resubscribe refused, retrying", "channel", sub.channel, "err", err)
		c.retrySubscribeLocked(c.cur, sub)
	case wire.CodeNoHistory, wire.CodeBadSince:
		// The channel keeps no history (any more): go on without since.
		sub.tr.reset()
		sub.recovered = false
		sub.push(Event{Kind: EventNotRecovered, Channel: sub.channel, Err: err})
		c.subscribeLocked(sub)
	default: // forbidden, too_many_subscriptions, ...
		c.log.Warn("wsgate: resubscribe refused, subscription ended", "channel", sub.channel, "err", err)
		c.endLocked(sub, Event{Kind: EventEnded, Channel: sub.channel, Err: err}, false)
	}
}

// retrySubscribeLocked subscribes sub again on cn after 1 to 2 s (the
// store, the rate limit or the node's channel limit needs a moment; the
// JavaScript client waits alike), ignoring its messages meanwhile. A new
// connection subscribes anyway. One timer per subscription: a server
// refusing for hours must not pile them up.
func (c *Client) retrySubscribeLocked(cn *conn, sub *Subscription) {
	sub.tr.subscribing()
	sub.reqID = 0
	sub.stopRetryLocked()
	if cn == nil {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(time.Second+jitter(time.Second, nil), func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if sub.retry != t {
			return // stopped or replaced meanwhile
		}
		sub.retry = nil
		if c.cur == cn && !sub.ended && c.subs[sub.channel] == sub && sub.reqID == 0 {
			c.subscribeLocked(sub)
		}
	})
	sub.retry = t
}

// stopRetryLocked cancels sub's pending resubscription, if any.
func (s *Subscription) stopRetryLocked() {
	if s.retry != nil {
		s.retry.Stop()
		s.retry = nil
	}
}

// endLocked ends sub: no more resubscriptions or messages. With silent
// the queued messages are dropped and ev is not delivered; else ev is
// delivered after them.
func (c *Client) endLocked(sub *Subscription, ev Event, silent bool) {
	if sub.ended {
		return
	}
	sub.ended = true
	sub.stopRetryLocked()
	if c.subs[sub.channel] == sub {
		delete(c.subs, sub.channel)
	}
	if !sub.settled {
		sub.settled = true
		if sub.firstErr == nil {
			sub.firstErr = ev.Err
		}
		if sub.firstErr == nil {
			sub.firstErr = ErrClosed
		}
		close(sub.first)
	}
	if silent {
		sub.q.stop()
		return
	}
	sub.q.push(ev)
	sub.q.finish()
}

// push queues a message or an event for the handler.
func (s *Subscription) push(item any) { s.q.push(item) }
