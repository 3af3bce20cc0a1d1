package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// TLS connections (wss:// targets).
//
// gnet's loops read raw sockets, so they cannot carry TLS. A wss://
// connection is a crypto/tls client with one reader goroutine, on one of
// the shard's taskLoops: the dialer does the TLS handshake, the reader
// hands each read to the loop, and the loop runs the same code as for a
// plain connection (upgrade, frame decoding, accounting, timers). The
// difference is the client's cost, a goroutine and crypto/tls's buffers
// per connection, which is not what wsbench measures: the server's CPU and
// memory come from /proc of its processes (--server-pid), the TLS proxy's
// included when its PID is given.

const (
	tlsReadBuffer   = 4 << 10 // one read handed to the loop; crypto/tls keeps a record's worth itself
	tlsWriteTimeout = 10 * time.Second
)

// tlsWire is a TLS connection as its loop sees it: gnet.Conn's read
// semantics over what the reader goroutine handed over.
type tlsWire struct {
	tc     *tls.Conn
	c      *conn
	tl     *taskLoop
	in     []byte // read and not yet consumed; loop only
	owned  bool   // in is the wire's own copy, not the reader's buffer
	closed bool   // loop only

	// The reader's hand-off: valid from its post until the loop acks.
	read      []byte
	readErr   error
	ack       chan struct{}
	deliverFn func()
}

// enrollTLS completes a dialled connection to a wss:// target: the PROXY
// header (before TLS, as a load balancer in front of a TLS proxy sends it),
// the TLS handshake within the connect timeout, then the loop takes over.
// Runs on a dialer goroutine.
func (s *Shard) enrollTLS(nc net.Conn, c *conn, cfg *tls.Config) {
	if s.plan.Proxy.Version != "" {
		hdr, err := s.plan.Proxy.appendProxyHeader(nil, c.id, nc.LocalAddr(), nc.RemoteAddr())
		if err == nil {
			_, err = nc.Write(hdr)
		}
		if err != nil {
			_ = nc.Close()
			s.dialError(kindProxyHeader)
			return
		}
	}
	ctx, cancel := context.WithDeadline(s.ctx, time.Unix(0, c.dialed).Add(s.plan.ConnectTimeout))
	defer cancel()
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		s.dialError(tlsErrorKind(err))
		return
	}
	s.noteTLS(tc)
	l := s.tlsLoops[int(c.id)%len(s.tlsLoops)]
	tl := l.el.(*taskLoop)
	w := &tlsWire{tc: tc, c: c, tl: tl, ack: make(chan struct{}, 1)}
	w.deliverFn = w.deliver
	c.gc, c.loop = w, l
	if err := tl.post(s.ctx, w.open); err != nil {
		_ = nc.Close()
		s.dialError(kindEnroll)
		return
	}
	go w.readLoop()
}

// noteTLS keeps the first handshake's parameters for the report.
func (s *Shard) noteTLS(tc *tls.Conn) {
	if s.tlsState.Load() == nil {
		st := tlsState(tc.ConnectionState())
		s.tlsState.CompareAndSwap(nil, &st)
	}
}

// open is OnOpen for a TLS connection. Runs on the loop.
func (w *tlsWire) open() {
	l := w.c.loop
	l.add(w.c)
	l.out = l.sh.appendUpgrade(l.out[:0], w.c)
	_, _ = w.Write(l.out)
}

// readLoop hands each read to the loop and waits until the loop is done
// with it, so one buffer serves, until the connection or the loop ends.
func (w *tlsWire) readLoop() {
	buf := make([]byte, tlsReadBuffer)
	for {
		n, err := w.tc.Read(buf)
		w.read, w.readErr = buf[:n], err
		if w.tl.post(context.Background(), w.deliverFn) != nil {
			return
		}
		select {
		case <-w.ack:
		case <-w.tl.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// deliver is OnTraffic, then OnClose once the reader has met the end. Runs
// on the loop.
func (w *tlsWire) deliver() {
	data, err := w.read, w.readErr
	defer func() { w.ack <- struct{}{} }()
	if w.closed {
		return
	}
	if len(data) > 0 {
		w.take(data)
		if w.c.onTraffic(time.Now().UnixNano()) == gnet.Close {
			w.close(nil)
			return
		}
		w.keep()
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = nil // the server closed in order
		}
		w.close(err)
	}
}

// take makes data readable, after what an earlier read left.
func (w *tlsWire) take(data []byte) {
	if len(w.in) == 0 {
		w.in, w.owned = data, false
		return
	}
	w.in = append(w.in, data...)
}

// keep copies what the loop left unread (a partial handshake response)
// out of the reader's buffer, which the next read reuses.
func (w *tlsWire) keep() {
	switch {
	case len(w.in) == 0:
		w.in, w.owned = nil, false
	case !w.owned:
		w.in, w.owned = bytes.Clone(w.in), true
	}
}

// Peek returns the first n buffered bytes (n < 0 or more than buffered:
// all), valid until the loop's task returns.
func (w *tlsWire) Peek(n int) ([]byte, error) {
	if n < 0 || n > len(w.in) {
		n = len(w.in)
	}
	return w.in[:n], nil
}

// Next is Peek, consuming what it returns.
func (w *tlsWire) Next(n int) ([]byte, error) {
	b, _ := w.Peek(n)
	w.in = w.in[len(b):]
	return b, nil
}

// Discard consumes n buffered bytes (n < 0: all).
func (w *tlsWire) Discard(n int) (int, error) {
	b, _ := w.Next(n)
	return len(b), nil
}

// Write sends b at once; a failure closes the connection, as gnet's
// Write does. Runs on the loop, which it blocks for at most
// tlsWriteTimeout (writes are small: requests, pongs, close frames, echo
// messages).
func (w *tlsWire) Write(b []byte) (int, error) {
	if w.closed {
		return 0, net.ErrClosed
	}
	_ = w.tc.SetWriteDeadline(time.Now().Add(tlsWriteTimeout))
	n, err := w.tc.Write(b)
	if err != nil {
		w.close(err)
	}
	return n, err
}

// close ends the connection and accounts for it at once, like gnet's
// Close and OnClose. Runs on the loop; the reader then meets an error.
func (w *tlsWire) close(err error) {
	if w.closed {
		return
	}
	w.closed = true
	_ = w.tc.Close()
	w.c.loop.sh.connClosed(w.c, err)
}

// startTLSLoops makes plan.Loops taskLoops when a target is wss://.
func (s *Shard) startTLSLoops() {
	if len(s.tlsLoops) > 0 {
		return
	}
	for _, cfg := range s.tlsConfigs {
		if cfg == nil {
			continue
		}
		for range s.plan.Loops {
			s.tlsLoops = append(s.tlsLoops, newLoop(startTaskLoop(), s))
		}
		s.loopsMu.Lock()
		defer s.loopsMu.Unlock()
		loops := append(append([]*loop(nil), *s.loops.Load()...), s.tlsLoops...)
		s.loops.Store(&loops)
		return
	}
}

// stopTLSLoops stops the taskLoops and closes any connection still on
// them (a shard killed before it could close them in order), so no reader
// goroutine outlives the shard.
func (s *Shard) stopTLSLoops() {
	for _, l := range s.tlsLoops {
		l.el.(*taskLoop).close()
		for _, c := range l.conns { // the loop's goroutine has returned
			if w, ok := c.gc.(*tlsWire); ok {
				_ = w.tc.NetConn().Close()
			}
		}
	}
}
