package reactor

import (
	"context"
	"errors"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/hook"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

// The backend's event hooks (package hook does the HTTP): a loop never
// waits for one. The connect hook parks the handshake in stateHook, its
// bytes left in gnet's inbound buffer, and the verdict comes back through
// Execute and runs the handshake again with it; the handshake timeout and
// the handshake limits (per node, per address) still hold while it waits,
// so pending hooks are bounded like handshakes. Publish and message hooks
// answer their command later, the same way. Disconnect, subscribe and
// unsubscribe events are queued (hook.Client.Emit never blocks).

// errHookPending is admit's answer while the connect hook decides.
var errHookPending = errors.New("reactor: waiting for the connect hook")

// errHookInput refuses a handshake whose client keeps sending while the
// connect hook decides: it may send its first frames, not more than a
// handshake's worth.
var errHookInput = &wsproto.RejectError{Status: http.StatusBadRequest, Reason: "too much data before the handshake completed"}

// askConnect hands the handshake to the connect hook. It returns
// errHookPending when the hook was asked, nil when it could not be (all
// its slots busy) and the busy outcome was recorded as the verdict
// instead, or the refusal. Runs on c's loop.
func (e *Engine) askConnect(c *conn, req *wsproto.Request, channels []string) error {
	headers := make(map[string][]string)
	for n, v := range req.Headers() {
		k := textproto.CanonicalMIMEHeaderKey(string(n))
		headers[k] = append(headers[k], string(v))
	}
	hr := hook.ConnectRequest{
		Conn: c.identify(), Node: e.cfg.NodeID, RemoteAddr: e.clientAddr(c),
		Path: string(req.Path), Query: string(req.Query), Headers: headers,
		Channels: make([]string, len(channels)), User: c.user(),
	}
	for i, ch := range channels {
		hr.Channels[i] = strings.Clone(ch) // channels alias the request
	}
	if e.cfg.Hooks.Connect(hr, func(res hook.ConnectResult) { e.connectVerdict(c, res) }) {
		c.state = stateHook
		return errHookPending
	}
	res := e.cfg.Hooks.Busy()
	c.loop.verdicts[c] = &res
	return nil
}

// connectVerdict takes the connect hook's verdict back to c's loop and
// runs the handshake again with it. Any goroutine.
func (e *Engine) connectVerdict(c *conn, res hook.ConnectResult) {
	l := c.loop
	_ = l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		if c.state != stateHook {
			return nil // timed out or closed meanwhile
		}
		c.state = stateHandshake
		l.verdicts[c] = &res
		if c.readHandshake() == gnet.Close {
			_ = l.el.Close(c.gc)
		}
		return nil
	}))
}

// applyVerdict applies the connect hook's verdict to c: a refusal, or the
// user and extra grants it names. Runs on c's loop.
func (e *Engine) applyVerdict(c *conn, v *hook.ConnectResult) error {
	if v.Err != nil {
		e.stats.hookFailures.Add(1)
	}
	if !v.Allow {
		status := v.Status
		if status < 400 || status > 599 {
			status = http.StatusForbidden
		}
		reason := v.Reason
		if reason == "" {
			reason = "refused by the connect hook"
		}
		e.stats.hookDenied.Add(1)
		return &wsproto.RejectError{Status: status, Reason: reason}
	}
	if v.User == "" && len(v.Subscribe) == 0 && len(v.Publish) == 0 {
		return nil
	}
	g := &hookGrant{user: v.User, hadToken: c.claims != nil}
	var err error
	if g.sub, err = auth.CompilePatterns(v.Subscribe); err != nil {
		return errHookGrants
	}
	if g.pub, err = auth.CompilePatterns(v.Publish); err != nil {
		return errHookGrants
	}
	if g.hadToken {
		g.tokenSub = c.claims.Subject
	} else if !e.cfg.AuthRequired {
		// An anonymous client of a node without required tokens may use
		// any channel: naming its user must not take that away.
		g.sub, g.pub = append(g.sub, anyChannel...), append(g.pub, anyChannel...)
	}
	c.loop.hookGrants[c] = g
	c.setClaims(g.over(c.claims))
	return nil
}

// hookGrant is what the connect hook added to a connection: a user and
// channel patterns, kept apart from its token's claims so that a refresh,
// which replaces the token, keeps them (security.go).
type hookGrant struct {
	user     string // "" keeps the token's subject
	sub, pub []auth.Pattern
	hadToken bool   // the connection was admitted with a token
	tokenSub string // that token's subject, which a refresh must repeat
}

// over is the connection's claims: the token's (nil without one) with g
// added. Without a token they do not expire.
func (g *hookGrant) over(token *auth.Claims) *auth.Claims {
	claims := &auth.Claims{ValidUntil: farFuture}
	if token != nil {
		*claims = *token
	}
	if g.user != "" {
		claims.Subject = g.user
	}
	claims.Subscribe = append(claims.Subscribe[:len(claims.Subscribe):len(claims.Subscribe)], g.sub...)
	claims.Publish = append(claims.Publish[:len(claims.Publish):len(claims.Publish)], g.pub...)
	return claims
}

// anyChannel is the pattern list that allows every channel.
var anyChannel = func() []auth.Pattern {
	p, err := auth.CompilePatterns([]string{">"})
	if err != nil {
		panic(err)
	}
	return p
}()

// farFuture is the expiry of claims the connect hook made for a
// connection without a token: they do not expire.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

var errHookGrants = &wsproto.RejectError{Status: http.StatusBadGateway, Reason: "the connect hook's channel patterns are invalid"}

// clientAddr is c's client's address: learnt behind a trusted proxy, else
// the socket's peer.
func (e *Engine) clientAddr(c *conn) string {
	if p, ok := c.loop.peers[c]; ok && p.addr.IsValid() {
		return p.addr.String()
	}
	if a := c.gc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// hookEvent queues an event about c for the backend, if hooks are on.
// Runs on c's loop.
func (c *conn) hookEvent(kind, channel string) {
	e := c.loop.eng
	if e.cfg.Hooks == nil {
		return
	}
	ev := hook.Event{Type: kind, Conn: c.identify(), User: c.user(), Node: e.cfg.NodeID, Channel: channel}
	if kind == "disconnect" {
		ev.Code, ev.Reason = int(ws.StatusAbnormalClosure), ""
		if n, ok := c.loop.closes[c]; ok {
			ev.Code, ev.Reason = int(n.code), n.reason
			delete(c.loop.closes, c)
		}
	}
	e.cfg.Hooks.Emit(ev)
}

// subscribedTo tells the hooks and presence that c, greeted, subscribed
// to channel. Runs on c's loop.
func (c *conn) subscribedTo(channel string) {
	c.hookEvent("subscribe", channel)
	c.presenceJoin(channel)
}

// closeNote is how a connection's closing handshake went, for its
// disconnect event.
type closeNote struct {
	code   ws.StatusCode
	reason string
}

// noteClose records the first close code of c's closing handshake (ours,
// or the peer's), when hooks want it. Runs on c's loop.
func (c *conn) noteClose(code ws.StatusCode, reason string) {
	l := c.loop
	if l.eng.cfg.Hooks == nil || c.since == 0 {
		return
	}
	if _, ok := l.closes[c]; !ok {
		l.closes[c] = closeNote{code, reason}
	}
}

// maxHookCallsPerConn bounds the publish and message calls one
// connection has in flight: one client cannot take the node's hook slots.
const maxHookCallsPerConn = 8

// hookCall counts a call c starts, refusing it (error busy, not counted
// as the client's error) past maxHookCallsPerConn. Runs on c's loop.
func (c *conn) hookCall(id []byte) bool {
	l := c.loop
	if l.hookCalls[c] >= maxHookCallsPerConn {
		c.serverError(id, wire.ErrHookBusy)
		return false
	}
	l.hookCalls[c]++
	return true
}

// hookDone undoes hookCall. Runs on c's loop.
func (c *conn) hookDone() {
	l := c.loop
	if n := l.hookCalls[c]; n > 1 {
		l.hookCalls[c] = n - 1
	} else {
		delete(l.hookCalls, c)
	}
}

// serverError queues an error frame for a failure that is not the
// client's doing (the backend busy or down): it does not count toward
// the consecutive errors that close a broken client. Runs on c's loop.
func (c *conn) serverError(id []byte, e *wire.Error) {
	c.loop.stats.errorFrames.Add(1)
	c.queueError(id, e.Code, e.Message)
}

// hookPublish hands a client publication to the publish hook, which
// decides, and publishes it (as is, or rewritten) if allowed; the client
// gets its ack or error then. Runs on c's loop.
func (c *conn) hookPublish(cmd wire.Command) {
	e := c.loop.eng
	if !c.hookCall(cmd.ID) {
		return
	}
	req := hook.PublishRequest{Conn: c.identify(), User: c.user(), Node: e.cfg.NodeID, Channel: cmd.Channel, Data: cmd.Data}
	ok := e.cfg.Hooks.Publish(req, func(res hook.PublishResult) {
		var reply *wire.Error
		switch {
		case res.Err != nil:
			e.stats.hookFailures.Add(1)
			reply = wire.ErrHookUnavailable
		case res.Allow && len(res.Data) > e.cfg.MaxDataSize:
			e.stats.hookFailures.Add(1)
			reply = wire.ErrHookUnavailable // the rewrite breaks the node's own bound
		case !res.Allow:
			reason := res.Reason
			if reason == "" {
				reason = "refused by the publish hook"
			}
			reply = &wire.Error{Code: wire.CodeForbidden, Message: reason}
		default:
			data := cmd.Data
			if res.Data != nil {
				data = res.Data
			}
			if err := e.publish(cmd.Channel, data, cmd.Key, sourceClient); err != nil {
				reply = &wire.Error{Code: wire.CodePublishFailed, Message: err.Error()}
			}
		}
		c.answerLater(cmd.ID, reply, nil)
	})
	if !ok {
		c.hookDone()
		c.serverError(cmd.ID, wire.ErrHookBusy)
	}
}

// hookMessage hands a send command's data to the message hook; the
// backend's reply, if any, comes back as a push before the ack. Runs on
// c's loop.
func (c *conn) hookMessage(cmd wire.Command) {
	e := c.loop.eng
	if e.cfg.Hooks == nil || !e.cfg.HookMessage {
		c.replyError(cmd.ID, wire.ErrNoMessageHook)
		return
	}
	if !c.hookCall(cmd.ID) {
		return
	}
	req := hook.MessageRequest{Conn: c.identify(), User: c.user(), Node: e.cfg.NodeID, Data: cmd.Data}
	ok := e.cfg.Hooks.Message(req, func(res hook.MessageResult) {
		if res.Err != nil || len(res.Reply) > e.cfg.MaxDataSize {
			e.stats.hookFailures.Add(1)
			c.answerLater(cmd.ID, wire.ErrHookUnavailable, nil)
			return
		}
		c.answerLater(cmd.ID, nil, res.Reply)
	})
	if !ok {
		c.hookDone()
		c.serverError(cmd.ID, wire.ErrHookBusy)
	}
}

// answerLater ends a publish or message call of c on its loop and, if c
// is still open, sends the outcome: push (if not nil), then the error or,
// for a command with an id, the ack. The backend's refusals count as the
// client's errors; its failures do not. Any goroutine.
func (c *conn) answerLater(id []byte, e *wire.Error, push []byte) {
	l := c.loop
	_ = l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		c.hookDone()
		if c.state != stateOpen {
			return nil
		}
		if push != nil {
			c.queuePush(push)
			c.msgsOut++
		}
		switch {
		case e == wire.ErrHookUnavailable:
			c.serverError(id, e)
		case e != nil:
			c.replyError(id, e)
		case len(id) > 0:
			c.errors = 0
			c.queueAck(id)
		}
		c.flush()
		return nil
	}))
}
