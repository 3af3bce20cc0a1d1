package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

// Defaults of Options.
const (
	DefaultMinBackoff       = 250 * time.Millisecond
	DefaultMaxBackoff       = 10 * time.Second
	DefaultResetBackoff     = 30 * time.Second
	DefaultPublishTimeout   = 10 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultRefreshBefore    = 30 * time.Second
	DefaultMaxMessageSize   = 16 << 20
)

// Options configure a Client. The zero value works: no token, the
// defaults above.
type Options struct {
	// Token returns the JWT to present. It is called before every
	// connection attempt (so it must be cheap or cache) and, when the
	// token has an "exp", again RefreshBefore its expiry to refresh the
	// connection in place (a refresh frame, no reconnection). nil: connect
	// anonymously. The token goes in the Authorization header, never in
	// the URL (which proxies log).
	Token func(ctx context.Context) (string, error)
	// Format is the protocol's encoding: FormatJSON (the default) or
	// FormatProtobuf (subprotocol wsgate.v1.proto, binary frames; see
	// Format and Publish).
	Format Format
	// Header holds extra handshake header fields (Origin, a tracing id,
	// ...). With Token, an Authorization here is dropped: the token's
	// replaces it (the server refuses two). A Sec-WebSocket-Protocol
	// here is always dropped: Format decides the subprotocol.
	Header http.Header
	// DialContext opens the TCP connection (a proxy, a custom resolver,
	// tests). Default: a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is used for wss:// URLs (nil: the system's roots, the
	// URL's host as server name).
	TLSConfig *tls.Config
	// MinBackoff and MaxBackoff bound the full-jitter exponential backoff
	// between failed attempts. Defaults 250 ms and 10 s.
	MinBackoff, MaxBackoff time.Duration
	// ResetBackoffAfter is how long a connection must have been up for
	// the backoff to start again from MinBackoff when it ends (a server
	// that accepts and closes at once is not retried at the minimum
	// delay). Default 30 s.
	ResetBackoffAfter time.Duration
	// PublishTimeout bounds a Publish whose context has no earlier
	// deadline, re-sends after reconnections included. Default 10 s.
	PublishTimeout time.Duration
	// HandshakeTimeout bounds one connection attempt: TCP, TLS, the
	// upgrade and the connected frame. Default 10 s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one write to the socket. Default 10 s.
	WriteTimeout time.Duration
	// RefreshBefore is how long before its expiry a token is refreshed
	// (half its remaining life for a token shorter than twice this).
	// Default 30 s.
	RefreshBefore time.Duration
	// MaxMessageSize bounds a frame or message the server sends (a
	// history page). Default 16 MiB.
	MaxMessageSize int64
	// Logger receives connection changes and anomalies, never one line
	// per message. Default: discarded.
	Logger *slog.Logger
	// OnState is called at every state change, in order, one call at a
	// time: on the client's connection goroutine, except for the
	// StateClosed of Close, called on Close's caller. It must return
	// quickly and must not call Close (which waits for that goroutine).
	OnState func(State)
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	def(&o.ResetBackoffAfter, DefaultResetBackoff)
	def(&o.PublishTimeout, DefaultPublishTimeout)
	def(&o.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.RefreshBefore, DefaultRefreshBefore)
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DialContext == nil {
		o.DialContext = (&net.Dialer{}).DialContext
	}
	return o
}

// State is where a client is in its life.
type State int32

const (
	StateIdle         State = iota // New: Connect not called (or abandoned)
	StateConnecting                // an attempt is under way
	StateConnected                 // the connected frame arrived: commands flow
	StateDisconnected              // between attempts: a backoff or a server's retry-after
	StateClosed                    // Close was called, or a final refusal (Err)
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Position is a place in a channel's history: an offset in an epoch. An
// offset means nothing in another epoch.
type Position struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
}

// Message is a publication delivered to a subscription. Offset and Prev
// are 0 on a channel without history. Data is the handler's to keep.
//
// With FormatJSON, Data is the JSON value as published, byte for byte (a
// Protobuf publisher's bytes that are not JSON arrive as
// {"$binary":"<base64>"}). With FormatProtobuf, Data is the bytes the
// publisher sent, whatever they are: a Protobuf publisher's bytes, the
// JSON text of a JSON publisher's (or the HTTP API's) value, and the
// decoded bytes of a {"$binary":...} value (docs/protocol.md, "Data:
// bytes, and JSON subscribers"); it is json.RawMessage only by type.
type Message struct {
	Channel      string
	Data         json.RawMessage
	Offset, Prev uint64
}

// Client is a wsgate client: one WebSocket connection at a time, to one of
// its URLs, kept up until Close. Its methods are safe for concurrent use.
type Client struct {
	opts    Options
	urls    []string
	targets []target
	badURL  error // the first URL parseTarget refused: Connect returns it
	dialer  *dialer
	codec   codec // the Format's
	log     *slog.Logger

	state   atomic.Int32
	stateMu sync.Mutex // serialises OnState calls

	mu       sync.Mutex
	closed   bool  // Close called, or a final refusal
	err      error // the final refusal, if that is why
	cur      *conn // the connection commands go to; nil between connections
	ids      uint64
	pending  map[uint64]*request
	subs     map[string]*Subscription
	clientID string
	node     string
	rs       *runState // the connection goroutine; nil when not running

	wg        sync.WaitGroup // every goroutine the client starts
	closeOnce sync.Once
}

// runState is one run of the connection goroutine: from a Connect until
// Close, a final refusal, or every waiting Connect giving up. Its fields
// are guarded by the client's mutex.
type runState struct {
	cancel   context.CancelFunc
	done     chan struct{} // closed when the goroutine has ended
	ready    chan struct{} // closed at the run's first connection
	waiters  int           // Connect calls waiting for ready
	stopping bool          // its last waiter gave up: cancelled
	lastErr  error         // why the last attempt failed, for Connect's error
}

// New returns a client for the given server URLs (ws://host:8080/ws;
// wss:// with TLS; the path defaults to /ws). It does not connect:
// Connect does, trying the URLs in order and failing over between them.
func New(urls []string, opts Options) *Client {
	opts = opts.withDefaults()
	c := &Client{
		opts:    opts,
		urls:    slices.Clone(urls),
		log:     opts.Logger,
		pending: map[uint64]*request{},
		subs:    map[string]*Subscription{},
		codec:   newCodec(opts.Format),
	}
	for _, u := range urls {
		t, err := parseTarget(u)
		if err != nil && c.badURL == nil {
			c.badURL = err
		}
		c.targets = append(c.targets, t)
	}
	if len(urls) == 0 {
		c.badURL = errors.New("wsgate: no server URL")
	}
	var header []string
	for name, values := range opts.Header {
		switch http.CanonicalHeaderKey(name) {
		case "Authorization":
			if opts.Token != nil {
				continue
			}
		case "Sec-Websocket-Protocol":
			continue
		}
		for _, v := range values {
			if strings.ContainsAny(name+v, "\r\n") {
				c.badURL = fmt.Errorf("wsgate: header %q has a line break", name)
			}
			header = append(header, http.CanonicalHeaderKey(name)+": "+v)
		}
	}
	slices.Sort(header)
	if p := c.codec.subprotocol(); p != "" {
		header = append(header, "Sec-WebSocket-Protocol: "+p)
	}
	c.dialer = &dialer{
		codec:            c.codec,
		netDial:          opts.DialContext,
		tls:              opts.TLSConfig,
		header:           header,
		handshakeTimeout: opts.HandshakeTimeout,
		writeTimeout:     opts.WriteTimeout,
		maxMessage:       opts.MaxMessageSize,
	}
	return c
}

// State returns the client's current state.
func (c *Client) State() State { return State(c.state.Load()) }

// ClientID is the server's name for the current (or last) connection, from
// its connected frame.
func (c *Client) ClientID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clientID
}

// Node is the id of the node the client is (or was last) connected to.
func (c *Client) Node() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.node
}

// Err reports why the client closed itself: a final close code or
// handshake refusal (a *CloseError or *HandshakeError, or an error
// wrapping ErrSubprotocolRefused). nil while it runs and after a plain
// Close.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// setState records s and reports it, unless the client is closed: a late
// state (an abandoned run's idle) must not reopen it.
func (c *Client) setState(s State) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	old := State(c.state.Load())
	if old == s || old == StateClosed {
		return
	}
	c.state.Store(int32(s))
	if c.opts.OnState != nil {
		c.opts.OnState(s)
	}
}

// closedErr is what calls on a closed client return.
func (c *Client) closedErr() error {
	if c.err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, c.err)
	}
	return ErrClosed
}

// Connect starts the client and returns once it is connected (the server's
// connected frame arrived), after trying the URLs in turn with backoff as
// long as ctx allows. From then on the client reconnects by itself, until
// Close or a final refusal. It returns the final refusal (a
// *HandshakeError or *CloseError, see the package doc) if one ends the
// attempts, or ctx's error joined with the last attempt's. Calls made
// meanwhile wait for the same attempts; when the last of them gives up the
// attempts stop, the client is idle again, and Connect may be called anew.
// Once the client has connected, later calls return nil at once.
func (c *Client) Connect(ctx context.Context) error {
	for {
		c.mu.Lock()
		if c.closed {
			defer c.mu.Unlock()
			return c.closedErr()
		}
		if c.badURL != nil {
			c.mu.Unlock()
			return c.badURL
		}
		r := c.rs
		if r != nil && r.stopping {
			// Given up by its last waiter: let it end, then start anew.
			c.mu.Unlock()
			select {
			case <-r.done:
				continue
			case <-ctx.Done():
				return fmt.Errorf("wsgate: connect: %w", ctx.Err())
			}
		}
		if r == nil {
			runCtx, cancel := context.WithCancel(context.Background())
			r = &runState{cancel: cancel, done: make(chan struct{}), ready: make(chan struct{})}
			c.rs = r
			c.wg.Add(1)
			go c.run(runCtx, r)
		}
		r.waiters++
		c.mu.Unlock()
		return c.await(ctx, r)
	}
}

// await waits for r's first connection on behalf of one Connect call.
func (c *Client) await(ctx context.Context, r *runState) error {
	select {
	case <-r.ready:
	case <-r.done:
	case <-ctx.Done():
	}
	c.mu.Lock()
	r.waiters--
	select {
	case <-r.ready:
		c.mu.Unlock()
		return nil
	default:
	}
	if c.closed {
		defer c.mu.Unlock()
		if c.err != nil {
			return c.err
		}
		return ErrClosed
	}
	err := fmt.Errorf("wsgate: connect: %w", ctx.Err())
	if r.lastErr != nil {
		err = fmt.Errorf("wsgate: connect: %w (last attempt: %w)", ctx.Err(), r.lastErr)
	}
	// Only the last waiter stops the attempts: the others still want them.
	last := r.waiters == 0 && c.rs == r
	if last {
		r.stopping = true
	}
	c.mu.Unlock()
	if last {
		r.cancel()
		<-r.done // the run sets StateIdle before it ends
	}
	return err
}

// Close ends the client: it stops reconnecting, closes the connection
// (close 1000), fails the calls still waiting with ErrClosed, ends every
// subscription, and returns once every goroutine it started has ended,
// handlers included. It must not be called from a handler, an event
// callback or OnState, which it would wait for. It is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		r := c.rs
		c.mu.Unlock()
		if r != nil {
			r.cancel()
			<-r.done
		}
		c.mu.Lock()
		c.shutLocked(ErrClosed, true)
		c.mu.Unlock()
		c.wg.Wait()
		c.setState(StateClosed)
	})
	return nil
}

// shutLocked fails every waiting call with err and ends every
// subscription: silently (Close: handlers stop at once), or with an
// EventEnded after what is queued (a final refusal). c.mu is held.
func (c *Client) shutLocked(err error, silent bool) {
	for id, req := range c.pending {
		delete(c.pending, id)
		req.finish(reply{err: err})
	}
	for _, sub := range c.subs {
		c.endLocked(sub, Event{Kind: EventEnded, Channel: sub.channel, Err: err}, silent)
	}
}

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
// still waiting for an answer (publications with their idempotency keys,
// history reads), in the order they were made.
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
		if req.resend && req.conn == nil {
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
// subscriptions), refreshes fail.
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

// nextIDLocked returns a fresh command id, unique for the client's life
// (so a command sent again on another connection keeps its id).
func (c *Client) nextIDLocked() uint64 {
	c.ids++
	return c.ids
}

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

// wait waits for req's reply or ctx; on ctx it forgets req.
func (c *Client) wait(ctx context.Context, req *request) (reply, error) {
	select {
	case rep := <-req.done:
		return rep, nil
	case <-ctx.Done():
	}
	c.mu.Lock()
	if c.pending[req.id] == req {
		delete(c.pending, req.id)
	}
	err := c.ctxErrLocked(ctx)
	c.mu.Unlock()
	select {
	case rep := <-req.done: // answered meanwhile
		return rep, nil
	default:
	}
	return reply{}, err
}

// ctxErrLocked is ctx's error for a call that waited for a connection in
// vain, saying why when no Connect is under way: it would have waited
// forever.
func (c *Client) ctxErrLocked(ctx context.Context) error {
	if c.rs == nil && !c.closed {
		return fmt.Errorf("%w (client not started: call Connect)", ctx.Err())
	}
	return ctx.Err()
}

// handle acts on one frame from the server.
func (c *Client) handle(cn *conn, payload []byte) {
	var f frame
	if err := c.codec.decode(payload, &f); err != nil {
		c.log.Warn("wsgate: unreadable frame", "frame", truncate(payload), "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != cn {
		return // a late frame of a connection already detached
	}
	switch f.kind {
	case frameMessage:
		c.onMessageLocked(&f)
	case frameAck:
		c.onAckLocked(&f)
	case frameError:
		c.onErrorLocked(&f)
	case frameDropped:
		c.onDroppedLocked(&f)
	case frameHistory:
		if req := c.takeLocked(f.id); req != nil {
			req.finish(reply{frame: &f})
		}
	case frameUnsubscribed:
		c.onUnsubscribedLocked(cn, &f)
	case framePing:
		// The application heartbeat (/ws?heartbeat=1): answer it.
		cn.send(c.codec.encode(command{kind: cmdPong}))
	case frameConnected:
	default:
		c.log.Debug("wsgate: unknown frame", "frame", truncate(payload))
	}
}

// takeLocked removes and returns the command a reply's id names, or nil.
func (c *Client) takeLocked(id uint64) *request {
	if id == 0 {
		return nil
	}
	req := c.pending[id]
	if req != nil {
		delete(c.pending, id)
	}
	return req
}

func (c *Client) onAckLocked(f *frame) {
	if f.id == 0 {
		// Unasked: the history a subscription was replaying was lost.
		if sub := c.subs[f.channel]; sub != nil && sub.tr.unasked(f.offset, f.epoch) {
			sub.recovered = false
			c.log.Warn("wsgate: publications may have been lost", "channel", f.channel, "offset", f.offset, "epoch", f.epoch)
			sub.push(Event{Kind: EventNotRecovered, Channel: f.channel, Position: sub.tr.position()})
		}
		return
	}
	req := c.takeLocked(f.id)
	if req == nil {
		return
	}
	if req.kind == cmdSubscribe {
		c.subscribedLocked(req, f)
		return
	}
	req.finish(reply{frame: f})
}

// onDroppedLocked passes a dropped notice on and, on a channel with
// history, resumes at once when the gap starts at or after L.
func (c *Client) onDroppedLocked(f *frame) {
	sub := c.subs[f.channel]
	if sub == nil {
		return
	}
	sub.push(Event{Kind: EventDropped, Channel: f.channel, Position: Position{Offset: f.offset}, Message: f.message})
	if sub.tr.dropped(f.hasOffset, f.offset) {
		c.subscribeLocked(sub)
	}
}

func (c *Client) onErrorLocked(f *frame) {
	if f.id == 0 {
		c.log.Warn("wsgate: error frame", "code", f.code, "message", f.message)
		return
	}
	req := c.takeLocked(f.id)
	if req == nil {
		return
	}
	err := &Error{Code: f.code, Message: f.message}
	if req.kind == cmdSubscribe {
		c.subscribeFailedLocked(req, err)
		return
	}
	if req.kind == cmdUnsubscribe && f.code == wire.CodeNotSubscribed {
		req.finish(reply{}) // the goal is reached
		return
	}
	req.finish(reply{err: err})
}

func (c *Client) onMessageLocked(f *frame) {
	sub := c.subs[f.channel]
	if sub == nil {
		return
	}
	switch sub.tr.message(f.hasOffset, f.offset, f.prev) {
	case deliver:
		sub.push(Message{Channel: f.channel, Data: f.data, Offset: f.offset, Prev: f.prev})
	case resubscribe:
		c.log.Info("wsgate: gap, resuming", "channel", f.channel, "offset", f.offset, "prev", f.prev, "last", sub.tr.last)
		c.subscribeLocked(sub)
	}
}

func (c *Client) onUnsubscribedLocked(cn *conn, f *frame) {
	sub := c.subs[f.channel]
	if sub == nil {
		return
	}
	if f.reason == wire.UnsubscribedHistoryUnavailable {
		// The replay could not go on: subscribe again with since, after
		// a backoff (the store was just unreachable).
		c.retrySubscribeLocked(cn, sub)
		return
	}
	c.endLocked(sub, Event{Kind: EventEnded, Channel: f.channel, Reason: f.reason}, false)
}

// truncate shortens a frame for a log line.
func truncate(p []byte) string {
	if len(p) > 200 {
		return string(p[:200]) + "..."
	}
	return string(p)
}
