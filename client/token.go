package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wsgate/wsgate/wire"
)

// tokenExpiry reads the "exp" claim of a JWT without verifying it (the
// server does that): the client only needs to know when to refresh. The
// zero time when the token is not a JWT or has no exp: then it is never
// refreshed, the server's word (a 4001 close) being final.
func tokenExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if dec.Decode(&claims) != nil || claims.Exp == "" {
		return time.Time{}
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 || exp > math.MaxInt32*4 { // past year 2500: nonsense
		return time.Time{}
	}
	sec, frac := math.Modf(exp)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// minRefreshDelay is the shortest wait before a refresh, whatever the
// token says: a client clock ahead of the server's by more than the
// token's life must not refresh in a tight loop.
const minRefreshDelay = time.Second

// refreshDelay is how long from now to wait before refreshing a token that
// expires at exp: margin before it, or half of what is left when that is
// later (a 40 s token is refreshed after 20 s, not at once), and never
// less than minRefreshDelay. The JavaScript client uses the same rule.
func refreshDelay(now, exp time.Time, margin time.Duration) time.Duration {
	left := exp.Sub(now)
	return max(left-margin, left/2, minRefreshDelay)
}

// refreshRetryDelay is the wait after a refresh that failed other than by
// the server's refusal (the token function failed, no answer in time). The
// old token stays in force meanwhile; if it expires first the server
// closes with 4001 and the client reconnects with a fresh one.
const refreshRetryDelay = 5 * time.Second

// refresher refreshes cn's token before it expires, until cn ends. A
// refresh the server refuses (unauthorized) gives the connection up: the
// client reconnects with a fresh token. Another failure is retried
// refreshRetryDelay later.
func (c *Client) refresher(ctx context.Context, cn *conn, exp time.Time) {
	wait := refreshDelay(time.Now(), exp, c.opts.RefreshBefore)
	for {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-cn.readDone:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			return
		}
		newExp, err := c.refresh(ctx, cn)
		var e *Error
		switch {
		case err == nil && !newExp.IsZero():
			exp = newExp
			wait = refreshDelay(time.Now(), exp, c.opts.RefreshBefore)
		case err == nil:
			return // a token without exp: nothing more to refresh
		case errors.Is(err, ErrConnectionLost) || ctx.Err() != nil:
			return
		case errors.As(err, &e) && e.Code == wire.CodeUnauthorized:
			c.log.Warn("wsgate: token refresh refused, reconnecting", "err", err)
			cn.abort(fmt.Errorf("%w: %w", errRefreshRefused, err))
			return
		default:
			wait = refreshRetryDelay
			c.log.Warn("wsgate: token refresh failed", "err", err, "retry_in", wait, "expires_in", time.Until(exp))
		}
	}
}

// refresh gets a fresh token and sends it on cn, waiting for the answer.
// It returns the new token's expiry.
func (c *Client) refresh(ctx context.Context, cn *conn) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.HandshakeTimeout)
	defer cancel()
	token, err := c.opts.Token(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("wsgate: token: %w", err)
	}
	req := newRequest(cmdRefresh, false)
	c.mu.Lock()
	if c.cur != cn {
		c.mu.Unlock()
		return time.Time{}, ErrConnectionLost
	}
	req.id = c.nextIDLocked()
	req.frame = c.codec.encode(command{kind: cmdRefresh, token: token, id: req.id})
	req.conn = cn
	c.pending[req.id] = req
	cn.send(req.frame)
	c.mu.Unlock()
	rep, err := c.wait(ctx, req)
	if err == nil {
		err = rep.err
	}
	if err != nil {
		return time.Time{}, err
	}
	cn.mu.Lock()
	cn.token = token
	cn.mu.Unlock()
	c.log.Debug("wsgate: token refreshed")
	return tokenExpiry(token), nil
}
