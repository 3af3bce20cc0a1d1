package client

import (
	"context"
	"fmt"
)

// The backend's side of the conversation (docs/backend.md): Send hands
// data to its message hook, and pushes (the hook's replies, the control
// API's sends) come back to Options.OnPush.

// Send hands data to the backend's message hook (a node run with
// --hook-message), not to a channel, and returns once the server
// acknowledged it. data is encoded as Publish's (JSON; with
// FormatProtobuf a []byte goes as it is), and reaches the backend as a
// JSON value. The hook's reply, if any, arrives as a push (OnPush) before
// the acknowledgement: it is queued for OnPush before Send returns, and
// OnPush may run after.
//
// Made while disconnected, the send waits for a connection, within ctx and
// Options.PublishTimeout. Unlike a publication it carries no idempotency
// key and is never sent twice: one whose connection ends before the
// answer fails with an error wrapping ErrConnectionLost, and may or may
// not have reached the backend.
//
// An error frame is returned as an *Error: wire.CodeUnsupported (the node
// has no message hook), wire.CodeBusy (the node's hook calls are all in
// flight: try again later), wire.CodeHookUnavailable (the hook failed or
// did not answer in time: the data may have reached the backend),
// wire.CodeTooLarge, wire.CodeRateLimited, ....
func (c *Client) Send(ctx context.Context, data any) error {
	raw, err := c.codec.data(data)
	if err != nil {
		return err
	}
	ctx, cancel := c.commandContext(ctx)
	defer cancel()
	req := newRequest(cmdSend, false)
	c.mu.Lock()
	if c.closed {
		defer c.mu.Unlock()
		return c.closedErr()
	}
	req.id = c.nextIDLocked()
	req.frame = c.codec.encode(command{kind: cmdSend, data: raw, id: req.id})
	c.pending[req.id] = req
	c.sendLocked(req) // else attach sends it
	c.mu.Unlock()
	rep, err := c.wait(ctx, req)
	if err != nil {
		return fmt.Errorf("wsgate: send not acknowledged: %w", err)
	}
	return rep.err
}

// onPushLocked queues a push for Options.OnPush, starting its delivery
// goroutine at the first one. Without OnPush pushes are dropped.
func (c *Client) onPushLocked(f *frame) {
	if c.opts.OnPush == nil {
		c.log.Debug("wsgate: push dropped: no OnPush", "bytes", len(f.data))
		return
	}
	if c.pushes == nil {
		q := newQueue(handlers{push: c.opts.OnPush})
		c.pushes = q
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			q.run()
		}()
	}
	c.pushes.push(pushed(f.data))
}
