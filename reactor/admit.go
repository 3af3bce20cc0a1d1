package reactor

import (
	"errors"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

// admit routes an upgrade request and applies the gateway's policies:
// the client's address behind a trusted proxy (peer.go; 429), host and
// origin (403), token (400/401), channel permissions
// (400/401/403), connection and channel caps (503). On success c counts against the caps until it closes, and
// admit returns the subprotocol to echo (nil for none). Runs on c's loop.
func (e *Engine) admit(c *conn, req *wsproto.Request) ([]byte, error) {
	if !e.cfg.TrustedProxies.Empty() {
		if err := e.learnForwarded(c, req); err != nil {
			return nil, err
		}
	}
	var channels []string
	switch {
	case string(req.Path) == EchoPath && e.cfg.Echo == EchoOn:
		c.endpoint = endpointEcho
	case string(req.Path) == PubSubPath:
		c.endpoint = endpointPubSub
		var err error
		l := c.loop
		channels, err = handshakeChannels(req.Query, e.cfg.MaxSubscriptions, l.channels[:0])
		defer func() {
			clear(channels) // they alias the request
			l.channels = channels[:0]
		}()
		if err != nil {
			return nil, err
		}
		if wantsHeartbeat(req.Query) {
			c.endpoint = endpointHeartbeat
		}
	default:
		return nil, errNotFound
	}
	if !e.hosts.allows(req.Host) {
		e.stats.forbidden.Add(1)
		return nil, errHost
	}
	if !e.origins.allows(req.Origin, req.Host) {
		e.stats.forbidden.Add(1)
		return nil, errOrigin
	}
	authorizations := 0
	for range req.Values("Authorization") {
		authorizations++
	}
	if authorizations > 1 {
		// Which one would a proxy in front have checked? Refuse to guess.
		return nil, errDuplicateAuthorization
	}
	protocol, err := e.authenticate(c, req)
	if err != nil {
		e.stats.unauthorized.Add(1)
		return nil, err
	}
	if c.endpoint.kind() != endpointEcho {
		protocol = negotiateProtobuf(c, req, protocol)
		if e.cfg.Hooks != nil && e.cfg.HookConnect {
			v := c.loop.verdicts[c]
			if v == nil {
				if err := e.askConnect(c, req, channels); err != nil {
					return nil, err
				}
				v = c.loop.verdicts[c]
			}
			delete(c.loop.verdicts, c)
			if err := e.applyVerdict(c, v); err != nil {
				return nil, err
			}
		}
	}
	for _, ch := range channels {
		if !c.maySubscribe(ch) {
			if c.claims == nil {
				e.stats.unauthorized.Add(1)
				e.lastTokenRefusal.Store(&errChannelNeedsToken.Reason)
				return nil, errChannelNeedsToken
			}
			e.stats.forbidden.Add(1)
			return nil, errChannelForbidden
		}
	}
	if e.upgrade.Add(1) > int64(e.cfg.MaxConns) {
		e.upgrade.Add(-1)
		return nil, errNodeFull
	}
	if e.connsPerIP != nil {
		if key, ok := e.clientKey(c); ok && !e.connsPerIP.add(key) {
			e.upgrade.Add(-1)
			return nil, errIPFull
		}
	}
	c.counted = true
	for _, ch := range channels {
		var err error
		if e.cfg.Relay.Retains(ch) {
			// Its ack, with the channel's position, follows the upgrade.
			switch c.loop.subscribeHistory(c, ch, nil, nil) {
			case nil:
			case wire.ErrTooManyChannels:
				err = errTooManyChannels
			default:
				err = errHistoryBusy
			}
		} else {
			_, err = c.loop.subscribe(c, ch)
		}
		if err != nil {
			e.release(c)
			return nil, err
		}
	}
	return protocol, nil
}

// authenticate finds and verifies the handshake's token, setting c.claims,
// and returns the subprotocol to echo. Without a token c stays anonymous,
// which AuthRequired refuses unless there are public channels to read or
// a connect hook to ask.
// Verifying costs up to ~70 µs (ES256) of the loop's time, once per
// connection. Runs on c's loop.
func (e *Engine) authenticate(c *conn, req *wsproto.Request) ([]byte, error) {
	var protocols [][]byte
	for p := range req.Tokens("Sec-WebSocket-Protocol") {
		protocols = append(protocols, p)
	}
	token, protocol, err := auth.Extract(auth.Handshake{
		Query: req.Query, Authorization: req.Header("Authorization"), Protocols: protocols,
	})
	switch {
	case e.cfg.Auth == nil:
		return protocol, nil // no key: tokens are not looked at
	case errors.Is(err, auth.ErrNoToken):
		// With a connect hook the backend may admit a client by its own
		// session (a cookie, say): the hook decides, and grants channels.
		hooked := e.cfg.Hooks != nil && e.cfg.HookConnect
		if e.cfg.AuthRequired && len(e.cfg.PublicChannels) == 0 && !hooked {
			return nil, e.refuseToken(err)
		}
		return protocol, nil
	case err != nil:
		return nil, e.refuseToken(err)
	}
	claims, err := e.cfg.Auth.Verify(token)
	if err != nil {
		// The client learns the class (401 "invalid token claims"); the
		// operator's log gets the detail (which claim), at a limited rate.
		return nil, e.refuseToken(err)
	}
	c.setClaims(claims)
	return protocol, nil
}

// release undoes admit's counting when c closes.
func (e *Engine) release(c *conn) {
	if !c.counted {
		return
	}
	c.counted = false
	e.upgrade.Add(-1)
	if e.connsPerIP != nil {
		if key, ok := e.clientKey(c); ok {
			e.connsPerIP.done(key)
		}
	}
}

// refuseToken maps an auth error to its 401 and keeps the error's own text
// (the verifier's detail: which claim failed) for the ticker's report.
func (e *Engine) refuseToken(err error) error {
	detail := err.Error()
	e.lastTokenRefusal.Store(&detail)
	return rejectAuth(err)
}
