package reactor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
)

// The backend's control of single connections on this node: push a
// message, close, describe, subscribe and unsubscribe, by connection ID or
// for every connection of a user. The control package carries the same
// operations across the cluster; here each one hops onto the
// connection's loop through gnet's Execute and waits for it there, so the
// loop's ownership of its connections is never broken.

// ConnOp is one control operation on a connection.
type ConnOp struct {
	Kind    ConnOpKind
	Data    json.RawMessage // OpSend: a JSON value of at most Config.MaxDataSize bytes
	Code    int             // OpClose: 1000, or 3000-4999
	Reason  string          // OpClose: at most 123 bytes of UTF-8
	Channel string          // OpSubscribe, OpUnsubscribe: a valid channel name
}

// ConnOpKind names a control operation.
type ConnOpKind uint8

const (
	OpInfo        ConnOpKind = iota + 1 // describe it (ConnInfo)
	OpSend                              // {"type":"push","data":Data} to it alone
	OpClose                             // close it with Code and Reason
	OpSubscribe                         // subscribe it to Channel (no permission check: the backend decides)
	OpUnsubscribe                       // unsubscribe it, with an {"type":"unsubscribed","reason":"server"} notice
)

// ConnInfo describes a connection: GET /api/connections/{id}.
type ConnInfo struct {
	ID          string    `json:"id"`
	Node        string    `json:"node"`
	User        string    `json:"user"`
	Channels    []string  `json:"channels"`
	ConnectedAt time.Time `json:"connected_at"`
	Protocol    string    `json:"protocol"` // "json" or "protobuf"
	MessagesIn  uint32    `json:"messages_in"`
	MessagesOut uint32    `json:"messages_out"`
	BytesIn     uint64    `json:"bytes_in"`
	BytesOut    uint64    `json:"bytes_out"`
}

// The control operations' refusals. An *OpError is the caller's mistake
// (HTTP 400); the others say what happened to a well-formed operation.
var (
	// ErrUnknownConn: no open connection has this ID (it closed, or never
	// existed, or the ID is forged or of another node).
	ErrUnknownConn = errors.New("unknown connection")
	// ErrNotSubscribed: OpUnsubscribe of a channel it is not subscribed to.
	ErrNotSubscribed = errors.New("not subscribed to this channel")
	// ErrSubscriptionLimit: OpSubscribe past Config.MaxSubscriptions.
	ErrSubscriptionLimit = errors.New("the connection's subscription limit is reached")
	// ErrChannelLimit: OpSubscribe of a new channel past Config.MaxChannels.
	ErrChannelLimit = errors.New("the node's channel limit is reached")
)

// OpError is an operation refused before it reached a connection.
type OpError struct{ Message string }

func (e *OpError) Error() string { return e.Message }

// maxCloseReason is the longest close reason: a close frame's payload is
// at most 125 bytes, 2 of them the code.
const maxCloseReason = 123

// Check validates op against this node's limits.
func (e *Engine) Check(op ConnOp) error {
	switch op.Kind {
	case OpInfo:
	case OpSend:
		switch {
		case len(op.Data) == 0 || !json.Valid(op.Data):
			return &OpError{`"data" must be a JSON value`}
		case len(op.Data) > e.cfg.MaxDataSize:
			return &OpError{fmt.Sprintf(`"data" is larger than the node's --max-data-size (%d bytes)`, e.cfg.MaxDataSize)}
		}
	case OpClose:
		if op.Code != int(ws.StatusNormalClosure) && (op.Code < 3000 || op.Code > 4999) {
			return &OpError{`"code" must be 1000 or 3000-4999`}
		}
		if len(op.Reason) > maxCloseReason || !utf8.ValidString(op.Reason) {
			return &OpError{`"reason" must be at most 123 bytes of UTF-8`}
		}
	case OpSubscribe, OpUnsubscribe:
		if !wire.ValidChannel(op.Channel) {
			return &OpError{wire.ChannelRule}
		}
	default:
		return &OpError{"unknown operation"}
	}
	return nil
}

// Control runs op on the connection id names, on its loop, and returns
// the connection's description (after the operation). It waits for the
// loop up to ctx.
func (e *Engine) Control(ctx context.Context, id string, op ConnOp) (ConnInfo, error) {
	if err := e.Check(op); err != nil {
		return ConnInfo{}, err
	}
	fd, gen, ok := e.ids.parse(id)
	if !ok {
		return ConnInfo{}, ErrUnknownConn
	}
	c := e.ids.conns.load(fd)
	if c == nil {
		return ConnInfo{}, ErrUnknownConn
	}
	return e.onConn(ctx, c, fd, gen, op)
}

// UserResult is what a per-user operation did on this node.
type UserResult struct {
	Conns     int  `json:"connections"`        // the user's connections the operation reached
	AtLimit   int  `json:"at_limit,omitempty"` // OpSubscribe: connections at their subscription limit, or the node at its channel limit
	Truncated bool `json:"truncated"`          // the user has more than the fan-out bound here: the rest were not reached
}

// ControlUser runs op on each of user's connections on this node, up to
// limit of them (the fan-out bound), one task per loop. It returns
// ErrUnknownConn when the user has none here (none reached, for an
// operation other than OpUnsubscribe); a connection that closed meanwhile,
// or is not on the channel to leave, is skipped.
func (e *Engine) ControlUser(ctx context.Context, user string, op ConnOp, limit int) (UserResult, error) {
	if err := e.Check(op); err != nil {
		return UserResult{}, err
	}
	conns, total := e.users.of(user, limit)
	if total == 0 {
		return UserResult{}, ErrUnknownConn
	}
	type target struct {
		c   *conn
		fd  int
		gen uint32
	}
	byLoop := make(map[*loop][]target)
	for _, c := range conns {
		byLoop[c.loop] = append(byLoop[c.loop], target{c, c.gc.Fd(), c.gen})
	}
	type outcome struct{ reached, atLimit int }
	done := make(chan outcome, len(byLoop))
	pending := 0
	for l, targets := range byLoop {
		err := l.el.Execute(ctx, gnet.RunnableFunc(func(ctx context.Context) error {
			var o outcome
			for _, t := range targets {
				if ctx.Err() != nil {
					break // the caller has been answered: do no more
				}
				if e.ids.conns.load(t.fd) != t.c || t.c.gen != t.gen || t.c.state != stateOpen {
					continue
				}
				switch err := t.c.apply(op); {
				case err == nil:
					o.reached++
				case errors.Is(err, ErrSubscriptionLimit), errors.Is(err, ErrChannelLimit):
					o.atLimit++
				}
			}
			done <- o
			return nil
		}))
		if err == nil {
			pending++
		}
	}
	res := UserResult{Truncated: total > len(conns)}
	for range pending {
		select {
		case o := <-done:
			res.Conns += o.reached
			res.AtLimit += o.atLimit
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	if res.Conns == 0 && res.AtLimit == 0 && op.Kind != OpUnsubscribe {
		return res, ErrUnknownConn
	}
	return res, nil
}

// onConn runs op on c's loop if c is still the connection on fd with
// generation gen, and open, and the caller still waits.
func (e *Engine) onConn(ctx context.Context, c *conn, fd int, gen uint32, op ConnOp) (ConnInfo, error) {
	type result struct {
		info ConnInfo
		err  error
	}
	done := make(chan result, 1)
	err := c.loop.el.Execute(ctx, gnet.RunnableFunc(func(ctx context.Context) error {
		switch {
		case ctx.Err() != nil:
			done <- result{err: ctx.Err()} // answered already (a timeout): do not act late
		case e.ids.conns.load(fd) != c || c.gen != gen || c.state != stateOpen:
			done <- result{err: ErrUnknownConn}
		default:
			err := c.apply(op)
			done <- result{c.info(), err}
		}
		return nil
	}))
	if err != nil {
		return ConnInfo{}, fmt.Errorf("reactor: reach the connection's loop: %w", err)
	}
	select {
	case r := <-done:
		return r.info, r.err
	case <-ctx.Done():
		return ConnInfo{}, ctx.Err()
	}
}

// apply runs op on c. Runs on c's loop.
func (c *conn) apply(op ConnOp) error {
	l := c.loop
	switch op.Kind {
	case OpSend:
		c.queuePush(op.Data)
		c.msgsOut++
		c.flush()
	case OpClose:
		c.closeWith(ws.StatusCode(op.Code), op.Reason)
	case OpSubscribe:
		if c.subscribed(op.Channel) {
			return nil
		}
		if c.subs.len() >= l.eng.cfg.MaxSubscriptions {
			return ErrSubscriptionLimit
		}
		if l.eng.cfg.Relay.Retains(op.Channel) {
			// The client learns the channel's position from the ack.
			if e := l.subscribeHistory(c, op.Channel, nil, nil); e != nil {
				if e == wire.ErrTooManyChannels {
					return ErrChannelLimit
				}
				return errors.New(e.Message)
			}
			c.subscribedTo(op.Channel)
			return nil
		}
		if _, err := l.subscribe(c, op.Channel); err != nil {
			return ErrChannelLimit
		}
		c.subscribedTo(op.Channel)
	case OpUnsubscribe:
		if !l.unsubscribe(c, op.Channel) {
			return ErrNotSubscribed
		}
		c.hookEvent("unsubscribe", op.Channel)
		c.queueUnsubscribed(op.Channel, wire.UnsubscribedServer)
		c.flush()
	}
	return nil
}

// info describes c. Runs on c's loop.
func (c *conn) info() ConnInfo {
	e := c.loop.eng
	info := ConnInfo{
		ID:          e.ids.format(&c.loop.idBuf, c.gc.Fd(), c.gen),
		Node:        e.cfg.NodeID,
		User:        c.user(),
		Channels:    make([]string, 0, c.subs.len()),
		ConnectedAt: time.Unix(int64(c.since), 0).UTC(),
		Protocol:    "json",
		MessagesIn:  c.msgsIn,
		MessagesOut: c.msgsOut,
		BytesIn:     c.bytesIn,
		BytesOut:    c.bytesOut,
	}
	if c.endpoint.proto() {
		info.Protocol = "protobuf"
	}
	c.subs.each(func(t *topic) { info.Channels = append(info.Channels, t.name) })
	return info
}

// queuePush queues a push frame of data for c.
func (c *conn) queuePush(data []byte) {
	if c.endpoint.proto() {
		c.queue(wireproto.AppendPush(c.loop.body[:0], data))
		return
	}
	c.queue(wire.AppendPush(c.loop.body[:0], data))
}
