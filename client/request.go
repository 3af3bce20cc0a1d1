package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wsgate/wsgate/wire"
)

// cmdKind is what a command waiting for its answer asked for.
type cmdKind uint8

const (
	cmdSubscribe cmdKind = iota + 1
	cmdUnsubscribe
	cmdPublish
	cmdHistory
	cmdRefresh
	cmdSend
	cmdPong // never waits for an answer
)

// request is a command waiting for its answer, keyed by its id in
// Client.pending. Its fields are guarded by the client's mutex.
type request struct {
	id     uint64
	kind   cmdKind
	frame  []byte        // the command as sent, id included
	resend bool          // sent again on the next connection when this one ends unanswered
	conn   *conn         // the connection it was sent on; nil: not sent (yet, or again): attach sends it
	sub    *Subscription // cmdSubscribe
	done   chan reply    // receives exactly one reply
}

type reply struct {
	frame *frame // the ack or history frame
	err   error  // an *Error, or why no answer came
}

func newRequest(kind cmdKind, resend bool) *request {
	return &request{kind: kind, resend: resend, done: make(chan reply, 1)}
}

// finish hands the reply to whoever waits (never blocks: at most one
// reply is ever given).
func (r *request) finish(rep reply) {
	select {
	case r.done <- rep:
	default:
	}
}

// sendLocked sends req on the current connection, if there is one; else
// attach sends it. c.mu is held.
func (c *Client) sendLocked(req *request) {
	if c.cur != nil {
		req.conn = c.cur
		c.cur.send(req.frame)
	}
}

// PublishOption changes one Publish.
type PublishOption func(*publishOptions)

type publishOptions struct{ key string }

// WithIdempotencyKey publishes with key (1 to 64 printable ASCII bytes, no
// space) instead of a random one: a publisher retrying a publication after
// Publish failed (a timeout) passes the same key, and the server publishes
// it once within its dedup window (docs/history.md, "Idempotent publish").
func WithIdempotencyKey(key string) PublishOption {
	return func(o *publishOptions) { o.key = key }
}

// newKey returns a random idempotency key: 128 bits, in hex.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// commandContext bounds ctx by the PublishTimeout when it has no earlier
// deadline.
func (c *Client) commandContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && d.Before(time.Now().Add(c.opts.PublishTimeout)) {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.opts.PublishTimeout)
}

// Publish sends data to every subscriber of channel and returns once the
// server acknowledged it. data is a json.RawMessage sent byte for byte
// (valid JSON), or any value encoding/json encodes, except with
// FormatProtobuf a []byte:
//
//   - FormatJSON: a []byte becomes a base64 string, as encoding/json
//     has it (wrap raw JSON in json.RawMessage).
//   - FormatProtobuf: a []byte is sent as it is, any bytes. Protobuf
//     subscribers get them back exactly; JSON subscribers get them as
//     their JSON value when they are one JSON value in UTF-8, else as
//     {"$binary":"<standard base64>"} (docs/protocol.md, "Data: bytes,
//     and JSON subscribers"). Other values go as their JSON text, so
//     JSON subscribers get the same value from either format.
//
// Each publication carries an idempotency key, random unless
// WithIdempotencyKey gives one. While no acknowledgement has come, the
// publication waits for a connection and is sent again, with the same key,
// after every reconnection, so it is published at most once within the
// server's dedup window (2 min by default) however often it is sent. It
// gives up when ctx ends or after Options.PublishTimeout, whichever is
// first: the error then wraps ctx's, and the publication may or may not
// have been made (publish again with WithIdempotencyKey and the same key to
// make sure, once).
//
// An error frame is returned as an *Error: wire.CodeForbidden,
// wire.CodeTooLarge, wire.CodeRateLimited, wire.CodePublishFailed, ...;
// on a node with a publish hook also wire.CodeBusy and
// wire.CodeHookUnavailable (the publication was not made: publish again
// later), and wire.CodeForbidden with the backend's reason as Message.
// An acknowledgement means the node took the publication: on a channel
// with history on NATS, that it queued it for JetStream (docs/history.md).
func (c *Client) Publish(ctx context.Context, channel string, data any, opts ...PublishOption) error {
	if !wire.ValidChannel(channel) {
		return &Error{Code: wire.CodeBadChannel, Message: wire.ChannelRule}
	}
	raw, err := c.codec.data(data)
	if err != nil {
		return err
	}
	var po publishOptions
	for _, o := range opts {
		o(&po)
	}
	if po.key == "" {
		po.key = newKey()
	} else if !wire.ValidKey(po.key) {
		return &Error{Code: wire.CodeBadKey, Message: wire.ErrBadKey.Message}
	}
	ctx, cancel := c.commandContext(ctx)
	defer cancel()
	req := newRequest(cmdPublish, true)
	c.mu.Lock()
	if c.closed {
		defer c.mu.Unlock()
		return c.closedErr()
	}
	req.id = c.nextIDLocked()
	req.frame = c.codec.encode(command{kind: cmdPublish, channel: channel, data: raw, key: po.key, id: req.id})
	c.pending[req.id] = req
	c.sendLocked(req)
	c.mu.Unlock()
	rep, err := c.wait(ctx, req)
	if err != nil {
		return fmt.Errorf("wsgate: publish on %s (idempotency key %s) not acknowledged: %w", channel, po.key, err)
	}
	return rep.err
}

// HistoryPage is one answer to History.
type HistoryPage struct {
	Channel string
	// Position is the channel's position when the server read it.
	Position Position
	// Recovered reports whether Publications follow since with nothing
	// lost; when false they start at the oldest retained.
	Recovered bool
	// More reports that publications after the last were left out (the
	// limit, or the page's size bound): ask again with since set to the
	// last one's offset and Position.Epoch.
	More         bool
	Publications []Publication
}

// Publication is a retained publication in a HistoryPage. Data is as in
// Message: the JSON value with FormatJSON, the publisher's bytes with
// FormatProtobuf.
type Publication struct {
	Offset uint64          `json:"offset"`
	Prev   uint64          `json:"prev"`
	Data   json.RawMessage `json:"data"`
}

// History reads the publications channel retains after since (from the
// oldest retained when since is nil), at most limit of them (0: the
// server's default, 100; at most 1000). It needs the token's subscribe
// permission and a channel that keeps history (else an *Error with
// wire.CodeNoHistory). Like a publication, the read waits for a
// connection and is sent again after a reconnection, within ctx and
// Options.PublishTimeout. A since with no epoch (a zero Position) reads
// from the oldest retained, as nil does.
func (c *Client) History(ctx context.Context, channel string, since *Position, limit int) (HistoryPage, error) {
	if !wire.ValidChannel(channel) {
		return HistoryPage{}, &Error{Code: wire.CodeBadChannel, Message: wire.ChannelRule}
	}
	if since != nil && since.Epoch == "" {
		since = nil
	}
	if since != nil && !wire.ValidEpoch(since.Epoch) {
		return HistoryPage{}, &Error{Code: wire.CodeBadSince, Message: wire.ErrBadSince.Message}
	}
	ctx, cancel := c.commandContext(ctx)
	defer cancel()
	req := newRequest(cmdHistory, true)
	c.mu.Lock()
	if c.closed {
		defer c.mu.Unlock()
		return HistoryPage{}, c.closedErr()
	}
	req.id = c.nextIDLocked()
	req.frame = c.codec.encode(command{kind: cmdHistory, channel: channel, since: since, limit: max(limit, 0), id: req.id})
	c.pending[req.id] = req
	c.sendLocked(req)
	c.mu.Unlock()
	rep, err := c.wait(ctx, req)
	switch {
	case err != nil:
		return HistoryPage{}, fmt.Errorf("wsgate: history of %s: %w", channel, err)
	case rep.err != nil:
		return HistoryPage{}, rep.err
	case rep.frame == nil || rep.frame.kind != frameHistory:
		return HistoryPage{}, fmt.Errorf("wsgate: history of %s: unexpected answer", channel)
	}
	f := rep.frame
	return HistoryPage{
		Channel:      f.channel,
		Position:     Position{Offset: f.offset, Epoch: f.epoch},
		Recovered:    f.recovered != nil && *f.recovered,
		More:         f.more,
		Publications: f.publications,
	}, nil
}
