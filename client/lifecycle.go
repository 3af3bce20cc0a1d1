package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wsproto"
)

// A connection's life: dial over the URLs, attach it (resubscribe, resend
// what waits), serve it until it fails, detach it, back off and redial.

// run is the connection goroutine: it dials, serves the connection (it is
// its reader), and when the connection ends decides whether and when to
// dial again.
func (c *Client) run(ctx context.Context, r *runState) {
	defer c.wg.Done()
	defer close(r.done)
	defer c.endRun(r)
	b := backoff{min: c.opts.MinBackoff, max: c.opts.MaxBackoff}
	next, unauthorized, connected := 0, 0, false
	readyOnce := sync.OnceFunc(func() { close(r.ready) })
	for ctx.Err() == nil {
		t := c.targets[next]
		next = (next + 1) % len(c.targets)
		c.setState(StateConnecting)
		cn, err := c.connect(ctx, t)
		held := false
		if err == nil {
			unauthorized, connected = 0, true
			up := time.Now()
			c.attach(cn)
			c.setState(StateConnected)
			readyOnce()
			err = c.serve(ctx, cn)
			c.detach(cn, err)
			if held = time.Since(up) >= c.opts.ResetBackoffAfter; held {
				b.reset() // the next failure starts the backoff again
			}
		}
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		r.lastErr = err
		c.mu.Unlock()
		why, hint := classify(err)
		final := false
		switch why {
		case causeTokenExpired:
			final = c.opts.Token == nil // the same token again, or none
		case causeUnauthorized:
			unauthorized++
			// Before the first connection a second 401 in a row, or one
			// without a token function, means the credentials are wrong:
			// Connect says so. Later it may be the identity provider's
			// bad moment: back off and keep trying.
			final = !connected && (unauthorized >= 2 || c.opts.Token == nil)
			if unauthorized >= 2 {
				why = causeTransient
			}
		case causeRefused:
			// Before the first connection the URL or the options are
			// wrong; later it is more likely a proxy or a rollout.
			final = !connected
		}
		if final {
			c.log.Error("wsgate: final refusal, not reconnecting", "url", t.raw, "err", err)
			c.mu.Lock()
			c.closed, c.err = true, err
			c.shutLocked(c.closedErr(), false)
			c.mu.Unlock()
			c.setState(StateClosed)
			return
		}
		delay := reconnectDelay(why, hint, held, &b)
		c.log.Info("wsgate: disconnected", "url", t.raw, "err", err, "retry_in", delay)
		c.setState(StateDisconnected)
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}

// endRun forgets r as it ends; when its Connect callers all gave up (not
// Close, not a final refusal) the client is idle again. It says so before
// forgetting r: a new run, which waits for that, must not be followed by
// this one's idle.
func (c *Client) endRun(r *runState) {
	c.mu.Lock()
	idle := r.stopping && !c.closed
	c.mu.Unlock()
	if idle {
		c.setState(StateIdle)
	}
	c.mu.Lock()
	if c.rs == r {
		c.rs = nil
	}
	c.mu.Unlock()
}

// connect makes one attempt on t: a token, the handshake, the connected
// frame.
func (c *Client) connect(ctx context.Context, t target) (*conn, error) {
	var token string
	if c.opts.Token != nil {
		tctx, cancel := context.WithTimeout(ctx, c.opts.HandshakeTimeout)
		tok, err := c.opts.Token(tctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("wsgate: token: %w", err)
		}
		token = tok
	}
	cn, err := c.dialer.dial(ctx, t, token)
	if err != nil {
		return nil, err
	}
	cn.token = token
	return cn, nil
}

// attach makes cn the connection commands go to: every subscription is
// sent again (with since when it has a position), then every command
// still waiting for an answer and not on a connection (publications with
// their idempotency keys, history reads, sends made while disconnected),
// in the order they were made.
func (c *Client) attach(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = cn
	c.clientID, c.node = cn.hello.Client, cn.hello.Node
	channels := make([]string, 0, len(c.subs))
	for ch := range c.subs {
		channels = append(channels, ch)
	}
	slices.Sort(channels)
	for _, ch := range channels {
		c.subscribeLocked(c.subs[ch])
	}
	ids := make([]uint64, 0, len(c.pending))
	for id, req := range c.pending {
		if req.conn == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		req := c.pending[id]
		req.conn = cn
		cn.send(req.frame)
	}
	c.log.Info("wsgate: connected", "url", cn.url, "node", cn.hello.Node, "client", cn.hello.Client)
}

// detach takes cn out of service after it ended with err: publications and
// history reads wait for the next connection (they are sent again, a
// publication with its key), subscribes are sent again by attach,
// unsubscribes are done (the server forgot the connection's
// subscriptions), refreshes and sends fail (a send has no key: sent
// again, it could reach the backend twice).
func (c *Client) detach(cn *conn, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == cn {
		c.cur = nil
	}
	// 1009: something the client sent was over the server's frame limit.
	// Sending it again would close the next connection too: the commands
	// in flight fail instead.
	var ce *CloseError
	tooBig := errors.As(err, &ce) && ce.Code == int(ws.StatusMessageTooBig)
	for id, req := range c.pending {
		if req.conn != cn {
			continue
		}
		switch {
		case req.resend && !tooBig:
			req.conn = nil
			continue
		case req.kind == cmdUnsubscribe:
			req.finish(reply{})
		case req.kind == cmdSubscribe:
			// attach subscribes again
		case c.closed:
			continue // Close fails it with ErrClosed, as every call still waiting
		default:
			req.finish(reply{err: fmt.Errorf("%w: %w", ErrConnectionLost, err)})
		}
		delete(c.pending, id)
	}
	for _, sub := range c.subs {
		sub.reqID = 0
		sub.stopRetryLocked() // the next connection subscribes anyway
	}
}

// serve runs cn until it ends: the writer and the token refresher on their
// own goroutines, the reader here. It returns why it ended (a *CloseError
// when the server closed it).
func (c *Client) serve(ctx context.Context, cn *conn) error {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		cn.writeLoop(ctx)
	}()
	if exp := tokenExpiry(cn.token); !exp.IsZero() && c.opts.Token != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.refresher(ctx, cn, exp)
		}()
	}
	err := c.read(cn)
	close(cn.readDone)
	if aborted := cn.abortErr(); aborted != nil {
		err = aborted
	}
	cn.stop()
	if cn.closeQueued() {
		// Let the writer send the close frame the reader queued (the
		// answer to the server's, RFC 6455 §5.5.1), then cut the socket.
		t := time.NewTimer(closeGrace)
		select {
		case <-cn.writerDone:
		case <-t.C:
		}
		t.Stop()
	}
	_ = cn.nc.Close()
	<-cn.writerDone
	cn.dec.Reset()
	return err
}

// read is the connection's reader: it answers pings and hands each frame
// of the client's format (text for JSON, binary for Protobuf) to handle,
// until the socket fails, stays silent too long, or a close frame
// arrives.
func (c *Client) read(cn *conn) error {
	for {
		m, err := cn.next()
		if err != nil {
			var pe ws.ProtocolError
			if errors.As(err, &pe) {
				// The server broke the protocol: say so before leaving.
				cn.queue(ws.OpClose, closePayload(wsproto.CloseCode(err), ""))
			}
			return err
		}
		switch m.Op {
		case c.codec.opcode():
			c.handle(cn, m.Payload)
		case ws.OpText, ws.OpBinary:
			c.log.Debug("wsgate: frame of the other format ignored", "op", m.Op, "format", c.opts.Format)
		case ws.OpPing:
			cn.queue(ws.OpPong, append([]byte(nil), m.Payload...))
		case ws.OpClose:
			code, reason, _ := wsproto.ParseClose(m.Payload)
			cn.queue(ws.OpClose, closePayload(code, "")) // nothing when the client sent its own first
			return &CloseError{Code: int(code), Reason: string(reason)}
		}
	}
}
