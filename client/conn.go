package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wsproto"
)

const (
	// maxResponseHeader bounds the handshake response's header block.
	maxResponseHeader = 16 << 10
	// maxRefusalBody bounds what is read of a refused handshake's body.
	maxRefusalBody = 1 << 10
	// closeGrace is how long a closing client waits for the server's
	// close frame before cutting the socket.
	closeGrace = time.Second
	// defaultPingInterval stands for a connected frame without one.
	defaultPingInterval = 25 * time.Second
)

// target is a parsed server URL.
type target struct {
	raw      string
	tls      bool
	host     string // the Host header: as in the URL
	hostport string // what to dial: the port made explicit
	name     string // the TLS server name
	path     string // request target: path and query, "/ws" when the URL has no path
}

// parseTarget checks a server URL: ws:// or wss:// (http:// and https://
// are taken as their WebSocket twins), a host, and a path ("/ws" when
// empty).
func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("wsgate: server URL %q: %w", raw, err)
	}
	t := target{raw: raw, host: u.Host, name: u.Hostname()}
	port := "80"
	switch u.Scheme {
	case "ws", "http":
	case "wss", "https":
		t.tls, port = true, "443"
	default:
		return target{}, fmt.Errorf("wsgate: server URL %q: scheme must be ws or wss", raw)
	}
	if u.Host == "" {
		return target{}, fmt.Errorf("wsgate: server URL %q has no host", raw)
	}
	t.hostport = u.Host
	if u.Port() == "" {
		t.hostport = net.JoinHostPort(u.Hostname(), port)
	}
	t.path = u.EscapedPath()
	if t.path == "" {
		t.path = "/ws"
	}
	if u.RawQuery != "" {
		t.path += "?" + u.RawQuery
	}
	return t, nil
}

// outFrame is one frame waiting for the writer.
type outFrame struct {
	op      ws.OpCode
	payload []byte
}

// conn is one WebSocket connection: read by the client's connection
// goroutine (next), written by its own writer goroutine (writeLoop) from a
// queue, so that no caller ever writes to the socket, or waits for it,
// under the client's mutex.
type conn struct {
	nc      net.Conn
	url     string
	codec   codec
	hello   connected
	token   string        // the token in force on it (mu, once the refresher runs)
	silence time.Duration // no frame for this long: the socket is dead
	dec     *wsproto.Decoder
	rbuf    []byte
	pending []byte // read but not yet decoded: a slice of rbuf

	writeTimeout time.Duration

	mu       sync.Mutex
	out      []outFrame
	stopping bool // no more frames: the writer flushes and ends
	closing  bool // a close frame is queued or sent: nothing may follow it
	wake     chan struct{}

	readDone   chan struct{} // closed when the reader is done with the socket
	writerDone chan struct{} // closed when the writer has ended
	aborted    error         // why the client gave the connection up (mu)
	cut        *time.Timer   // closes the socket if the server does not answer the abort (mu)
}

// abort gives the connection up for err: a close frame, and the socket cut
// if the server has not answered it within closeGrace. serve returns err.
func (cn *conn) abort(err error) {
	cn.mu.Lock()
	if cn.aborted != nil {
		cn.mu.Unlock()
		return
	}
	cn.aborted = err
	cn.cut = time.AfterFunc(closeGrace, func() { _ = cn.nc.Close() })
	cn.mu.Unlock()
	cn.queue(ws.OpClose, closePayload(ws.StatusNormalClosure, "giving up"))
}

// abortErr returns why the client gave the connection up, nil if it did
// not, and stops the abort's timer.
func (cn *conn) abortErr() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.cut != nil {
		cn.cut.Stop()
	}
	return cn.aborted
}

// send queues a command's frame (text or binary, as the codec's format
// has it); false once the connection is stopping.
func (cn *conn) send(payload []byte) bool { return cn.queue(cn.codec.opcode(), payload) }

func (cn *conn) queue(op ws.OpCode, payload []byte) bool {
	cn.mu.Lock()
	if cn.stopping || cn.closing {
		cn.mu.Unlock()
		return false
	}
	if op == ws.OpClose {
		cn.closing = true
	}
	cn.out = append(cn.out, outFrame{op, payload})
	cn.mu.Unlock()
	select {
	case cn.wake <- struct{}{}:
	default:
	}
	return true
}

// closeQueued reports whether a close frame is queued or sent.
func (cn *conn) closeQueued() bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.closing
}

// stop makes the writer flush what is queued and end.
func (cn *conn) stop() {
	cn.mu.Lock()
	cn.stopping = true
	cn.mu.Unlock()
	select {
	case cn.wake <- struct{}{}:
	default:
	}
}

// writeLoop writes the queued frames, masked, several per write. When ctx
// ends (the client closes) it sends close 1000, waits up to closeGrace for
// the reader to see the server's answer, and cuts the socket.
func (cn *conn) writeLoop(ctx context.Context) {
	defer close(cn.writerDone)
	var buf []byte
	for {
		cn.mu.Lock()
		frames, stopping := cn.out, cn.stopping
		cn.out = nil
		cn.mu.Unlock()
		if len(frames) > 0 {
			buf = buf[:0]
			for _, f := range frames {
				buf = wsproto.AppendMaskedFrame(buf, f.op, true, ws.NewMask(), f.payload)
			}
			_ = cn.nc.SetWriteDeadline(time.Now().Add(cn.writeTimeout))
			if _, err := cn.nc.Write(buf); err != nil {
				_ = cn.nc.Close() // the reader ends on it
				return
			}
			continue
		}
		if stopping {
			return
		}
		select {
		case <-cn.wake:
		case <-ctx.Done():
			if cn.queue(ws.OpClose, closePayload(ws.StatusNormalClosure, "client closing")) {
				cn.mu.Lock()
				frames := cn.out
				cn.out = nil
				cn.mu.Unlock()
				buf = buf[:0]
				for _, f := range frames {
					buf = wsproto.AppendMaskedFrame(buf, f.op, true, ws.NewMask(), f.payload)
				}
				_ = cn.nc.SetWriteDeadline(time.Now().Add(closeGrace))
				if _, err := cn.nc.Write(buf); err == nil {
					t := time.NewTimer(closeGrace)
					select {
					case <-cn.readDone:
					case <-t.C:
					}
					t.Stop()
				}
			}
			_ = cn.nc.Close()
			return
		}
	}
}

// closePayload is a close frame's body: the code, then the reason; empty
// for 1005, which says no code was given and never goes on the wire.
func closePayload(code ws.StatusCode, reason string) []byte {
	if code == ws.StatusNoStatusRcvd {
		return nil
	}
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

// next returns the next complete message or control frame, reading as
// needed; with silence set, each read must see a byte within it. The
// payload is valid until the next call.
func (cn *conn) next() (wsproto.Message, error) {
	for {
		for len(cn.pending) > 0 {
			m, n, err := cn.dec.Next(cn.pending)
			cn.pending = cn.pending[n:]
			if err != nil {
				return m, err
			}
			if m.Op != 0 {
				return m, nil
			}
		}
		if cn.silence > 0 {
			_ = cn.nc.SetReadDeadline(time.Now().Add(cn.silence))
		}
		n, err := cn.nc.Read(cn.rbuf)
		cn.pending = cn.rbuf[:n]
		if err != nil && n == 0 {
			return wsproto.Message{}, err
		}
	}
}

// silenceFor is how long a connection may stay silent before it counts as
// dead: the server pings after pingInterval of quiet, so something
// arrives within it plus the round trip; the margin is half the interval,
// at least 5 s (37.5 s with the default 25 s, as the JavaScript client's
// heartbeat).
func silenceFor(pingInterval time.Duration) time.Duration {
	return pingInterval + max(pingInterval/2, 5*time.Second)
}

// dialer is what dial needs of the client's options.
type dialer struct {
	codec            codec
	netDial          func(ctx context.Context, network, addr string) (net.Conn, error)
	tls              *tls.Config
	header           []string // extra header lines, "Name: value"
	handshakeTimeout time.Duration
	writeTimeout     time.Duration
	maxMessage       int64
}

// dial connects to t, completes the opening handshake (with token as
// "Authorization: Bearer", when not empty) and reads the connected frame.
// A refusal is a *HandshakeError.
func (d *dialer) dial(ctx context.Context, t target, token string) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.handshakeTimeout)
	defer cancel()
	nc, err := d.netDial(ctx, "tcp", t.hostport)
	if err != nil {
		return nil, err
	}
	// A context that ends interrupts whatever read or write is under way.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	cn, err := d.handshake(ctx, nc, t, token)
	if !stop() {
		err = errors.Join(ctx.Err(), err) // the deadline was cut under the handshake
	}
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return cn, nil
}

func (d *dialer) handshake(ctx context.Context, nc net.Conn, t target, token string) (*conn, error) {
	if deadline, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(deadline)
	}
	if t.tls {
		cfg := d.tls.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = t.name
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		nc = tc
	}
	key := wsproto.NewKey()
	header := d.header
	if token != "" {
		header = append(slices.Clip(header), "Authorization: Bearer "+token)
	}
	if _, err := nc.Write(wsproto.AppendRequest(nil, t.host, []byte(t.path), key[:], header...)); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		n, rerr := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		resp, hn, err := wsproto.ParseResponse(buf, key[:], maxResponseHeader)
		switch {
		case errors.Is(err, wsproto.ErrUpgradeRefused):
			return nil, refusal(nc, t, &resp, buf[hn:])
		case err != nil:
			return nil, fmt.Errorf("wsgate: handshake with %s: %w", t.raw, err)
		case hn > 0:
			if want := d.codec.subprotocol(); want != "" {
				if got := string(bytes.TrimSpace(resp.Header("Sec-WebSocket-Protocol"))); got != want {
					// Fail the WebSocket connection (RFC 6455 §4.1): the
					// server would speak another format.
					_, _ = nc.Write(wsproto.AppendMaskedFrame(nil, ws.OpClose, true, ws.NewMask(), closePayload(ws.StatusProtocolError, "subprotocol not accepted")))
					return nil, fmt.Errorf("%w: %s answered Sec-WebSocket-Protocol %q", ErrSubprotocolRefused, t.raw, got)
				}
			}
			cn := &conn{
				nc:           nc,
				url:          t.raw,
				codec:        d.codec,
				dec:          wsproto.NewDecoder(wsproto.ClientSide, &wsproto.Limits{MaxFrameSize: d.maxMessage, MaxMessageSize: d.maxMessage}),
				rbuf:         make([]byte, max(32<<10, len(buf)-hn)),
				writeTimeout: d.writeTimeout,
				wake:         make(chan struct{}, 1),
				readDone:     make(chan struct{}),
				writerDone:   make(chan struct{}),
			}
			cn.pending = cn.rbuf[:copy(cn.rbuf, buf[hn:])]
			if err := cn.readConnected(); err != nil {
				return nil, fmt.Errorf("wsgate: %s: %w", t.raw, err)
			}
			return cn, nil
		case rerr != nil:
			return nil, fmt.Errorf("wsgate: handshake with %s: %w", t.raw, rerr)
		}
	}
}

// readConnected reads the first frame, which must be the connected frame.
func (cn *conn) readConnected() error {
	m, err := cn.next()
	switch {
	case err != nil:
		return fmt.Errorf("reading the connected frame: %w", err)
	case m.Op == ws.OpClose:
		code, reason, _ := wsproto.ParseClose(m.Payload)
		return &CloseError{Code: int(code), Reason: string(reason)}
	case m.Op != cn.codec.opcode():
		return fmt.Errorf("first frame is %v, want the connected frame", m.Op)
	}
	var f frame
	if err := cn.codec.decode(m.Payload, &f); err != nil || f.kind != frameConnected {
		return fmt.Errorf("first frame %.200q is not a connected frame", m.Payload)
	}
	cn.hello = f.hello
	cn.silence = silenceFor(pingInterval(cn.hello.PingIntervalMS))
	return nil
}

// pingInterval reads the connected frame's ping_interval_ms: the default
// when absent, at most maxServerDelay, so that a huge value neither
// overflows the silence timeout nor disables it.
func pingInterval(ms int64) time.Duration {
	switch {
	case ms <= 0:
		return defaultPingInterval
	case ms > int64(maxServerDelay/time.Millisecond):
		return maxServerDelay
	}
	return time.Duration(ms) * time.Millisecond
}

// refusal builds the *HandshakeError of a refused upgrade, reading up to
// maxRefusalBody of its body (have is what already arrived of it).
func refusal(nc net.Conn, t target, resp *wsproto.Response, have []byte) error {
	he := &HandshakeError{URL: t.raw, Status: resp.Status}
	he.RetryAfter, _ = parseRetryAfter(string(resp.Header("Retry-After")), time.Now())
	length, err := strconv.Atoi(string(bytes.TrimSpace(resp.Header("Content-Length"))))
	if err != nil || length < 0 {
		length = 0
	}
	length = min(length, maxRefusalBody)
	body := append([]byte(nil), have[:min(len(have), length)]...)
	for len(body) < length {
		chunk := make([]byte, length-len(body))
		n, err := nc.Read(chunk)
		body = append(body, chunk[:n]...)
		if err != nil {
			break
		}
	}
	he.Body = strings.TrimSpace(string(body))
	return he
}
