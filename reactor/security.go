package reactor

import (
	"time"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/wire"
)

// maxExpiryTicks keeps an expiry within the wheel's signed-difference
// horizon; a later expiry is re-checked when this many ticks have passed.
const maxExpiryTicks = 1 << 30

// setClaims gives c its verified claims. Runs on c's loop; the caller
// reschedules c when it is open.
func (c *conn) setClaims(claims *auth.Claims) { c.claims = claims }

// expireAt is the wheel tick at which c's token runs out, worked out when
// c is scheduled rather than kept (it would cost every connection 4 bytes).
// An expiry past maxExpiryTicks comes round early and is put back.
func (c *conn) expireAt() uint32 {
	l := c.loop
	d := time.Until(c.claims.ValidUntil)
	switch {
	case d <= 0:
		return l.clock()
	case d >= time.Duration(maxExpiryTicks)*l.eng.tick:
		return l.clock() + maxExpiryTicks
	}
	return l.clock() + l.ticks(d)
}

// expired reports whether c's token has run out.
func (c *conn) expired() bool {
	return c.claims != nil && !time.Now().Before(c.claims.ValidUntil)
}

// maySubscribe reports whether c may subscribe to ch: public channels to
// anyone; otherwise the token's "subscribe" patterns, or anything for an
// anonymous client when authentication is not required.
func (c *conn) maySubscribe(ch string) bool {
	cfg := &c.loop.eng.cfg
	if auth.MatchAny(cfg.PublicChannels, ch) {
		return true
	}
	if c.claims != nil {
		return c.claims.CanSubscribe(ch)
	}
	return !cfg.AuthRequired
}

// mayPublish reports whether c may publish on ch: the token's "publish"
// patterns, or anything for an anonymous client when authentication is not
// required. Public channels are read-only for anonymous clients.
func (c *conn) mayPublish(ch string) bool {
	if c.claims != nil {
		return c.claims.CanPublish(ch)
	}
	return !c.loop.eng.cfg.AuthRequired
}

// rateLimited answers a message dropped by the rate limit. On /ws it
// counts as an error frame, so a client that keeps sending over the limit
// is closed with 1008 "rate limit exceeded" (replyText); /echo has no
// error frames, so it is closed at once.
func (c *conn) rateLimited() {
	c.loop.stats.rateLimited.Add(1)
	if c.endpoint.kind() == endpointEcho {
		c.closeWith(wire.ClosePolicyViolation, wire.ReasonRateLimited)
		return
	}
	c.replyError(nil, wire.ErrRateLimited)
}

// refresh replaces c's token with cmd's, which must verify and name the
// same subject. Subscriptions the new token no longer allows are dropped,
// each announced with {"type":"unsubscribed","channel":C,"reason":"forbidden"}
// before the ack: a refresh can revoke access. It reports whether the
// refresh succeeded (an error frame has been queued when not). Runs on c's
// loop.
func (c *conn) refresh(cmd wire.Command) bool {
	l := c.loop
	v := l.eng.cfg.Auth
	grant := l.hookGrants[c] // what the connect hook added, kept across refreshes
	switch {
	case v == nil:
		c.replyError(cmd.ID, wire.ErrAuthNotConfigured)
		return false
	case c.claims == nil, grant != nil && !grant.hadToken:
		c.replyError(cmd.ID, wire.ErrAnonymousRefresh)
		return false
	}
	claims, err := v.Verify(cmd.Token)
	if err != nil {
		c.replyText(cmd.ID, wire.CodeUnauthorized, err.Error())
		return false
	}
	subject := c.claims.Subject
	if grant != nil {
		subject = grant.tokenSub
	}
	if claims.Subject != subject {
		c.replyError(cmd.ID, wire.ErrOtherSubject)
		return false
	}
	if grant != nil {
		claims = grant.over(claims)
	}
	c.setClaims(claims)
	l.eng.stats.refreshes.Add(1)
	var revoked []*topic
	c.subs.each(func(t *topic) {
		if !c.maySubscribe(t.name) {
			revoked = append(revoked, t)
		}
	})
	for _, t := range revoked {
		c.queueUnsubscribed(t.name, wire.UnsubscribedForbidden)
		l.leave(c, t)
		c.hookEvent("unsubscribe", t.name)
	}
	l.scheduleOpen(c)
	return true
}
