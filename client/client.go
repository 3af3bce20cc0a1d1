package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// State returns the client's current state.
func (c *Client) State() State { return State(c.state.Load()) }

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
	pushes   *queue // Options.OnPush's delivery; nil until the first push
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

// ClientID is the current (or last) connection's ID, from its connected
// frame: "<node>.<32 hex digits>", unguessable, what the backend's control
// API, hooks and presence (Member.ConnID) name the connection by
// (docs/backend.md, "Connection IDs"). Every connection has a new one: a
// backend that keeps it must learn the new ID after a reconnection (from
// its connect hook, or from the client).
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
// subscription and the delivery of pushes: silently (Close: handlers stop
// at once), or after what is queued, with an EventEnded for each
// subscription (a final refusal). c.mu is held.
func (c *Client) shutLocked(err error, silent bool) {
	for id, req := range c.pending {
		delete(c.pending, id)
		req.finish(reply{err: err})
	}
	for _, sub := range c.subs {
		c.endLocked(sub, Event{Kind: EventEnded, Channel: sub.channel, Err: err}, silent)
	}
	if c.pushes != nil {
		if silent {
			c.pushes.stop()
		} else {
			c.pushes.finish()
		}
	}
}

// nextIDLocked returns a fresh command id, unique for the client's life
// (so a command sent again on another connection keeps its id).
func (c *Client) nextIDLocked() uint64 {
	c.ids++
	return c.ids
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
