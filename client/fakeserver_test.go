package client_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wireproto"
	"github.com/wsgate/wsgate/wsproto"
)

// fakeServer is a scripted wsgate node for what a real one will not do on
// demand (skip publications, refuse with a given status, go silent): it
// upgrades each connection with wsproto's server side, sends the connected
// frame, and hands the connection to the test, which plays the server's
// side of the conversation from its own goroutine.
type fakeServer struct {
	t     *testing.T
	ln    net.Listener
	url   string
	conns chan *fakeConn
	// refuse, when set, may refuse the n-th handshake (from 1): it
	// returns a whole raw HTTP response, or "" to accept.
	refuse func(n int) string
	// pingMS is the connected frame's ping_interval_ms (default 25000).
	pingMS int
	// subprotocol, when set, is the Sec-WebSocket-Protocol the n-th
	// handshake (from 1) answers with ("" for none); with
	// wireproto.Protocol the connected frame is a Protobuf one (the test
	// plays the rest). nil: none, JSON.
	subprotocol func(n int) string
	node        string

	mu       sync.Mutex
	attempts []time.Time // every handshake, refused or not
	open     []net.Conn
	wg       sync.WaitGroup
}

func startFake(t *testing.T, node string, setup func(*fakeServer)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, url: "ws://" + ln.Addr().String() + "/ws", conns: make(chan *fakeConn, 16), pingMS: 25000, node: node}
	if setup != nil {
		setup(s)
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.stop)
	return s
}

func (s *fakeServer) stop() {
	_ = s.ln.Close()
	s.mu.Lock()
	for _, nc := range s.open {
		_ = nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *fakeServer) handshakes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.attempts...)
}

func (s *fakeServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.open = append(s.open, nc)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.upgrade(nc)
		}()
	}
}

// upgrade reads the handshake, refuses or accepts it, and on acceptance
// sends the connected frame and hands the connection over.
func (s *fakeServer) upgrade(nc net.Conn) {
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 0, 8192)
	var scan wsproto.HandshakeScanner
	var n int
	for n == 0 {
		chunk := make([]byte, 4096)
		k, err := nc.Read(chunk)
		if err != nil {
			_ = nc.Close()
			return
		}
		buf = append(buf, chunk[:k]...)
		if n, err = scan.Scan(buf, 8192); err != nil {
			_ = nc.Close()
			return
		}
	}
	req, err := wsproto.ParseRequest(buf[:n])
	if err != nil {
		_, _ = nc.Write(wsproto.AppendReject(nil, err))
		_ = nc.Close()
		return
	}
	s.mu.Lock()
	s.attempts = append(s.attempts, time.Now())
	count := len(s.attempts)
	s.mu.Unlock()
	if s.refuse != nil {
		if resp := s.refuse(count); resp != "" {
			_, _ = nc.Write([]byte(resp))
			_ = nc.Close()
			return
		}
	}
	auths := headerValues(buf[:n], "Authorization")
	protocols := headerValues(buf[:n], "Sec-WebSocket-Protocol")
	var chosen string
	if s.subprotocol != nil {
		chosen = s.subprotocol(count)
	}
	out := wsproto.AppendAccept(nil, req.Key, []byte(chosen))
	clientID := s.node + ".0." + string(rune('0'+count%10))
	if chosen == wireproto.Protocol {
		out = wsproto.AppendFrame(out, ws.OpBinary, true, wireproto.AppendConnected(nil, clientID, s.node, "test", int64(s.pingMS)))
	} else {
		hello, _ := json.Marshal(map[string]any{"type": "connected", "client": clientID, "node": s.node, "version": "test", "ping_interval_ms": s.pingMS})
		out = wsproto.AppendFrame(out, ws.OpText, true, hello)
	}
	if _, err := nc.Write(out); err != nil {
		_ = nc.Close()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	s.conns <- &fakeConn{t: s.t, nc: nc, dec: wsproto.NewDecoder(wsproto.ServerSide, nil), auths: auths, protocols: protocols}
}

// headerValues finds a header's values in a raw request, in order.
func headerValues(req []byte, name string) []string {
	var out []string
	for _, line := range bytes.Split(req, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
			out = append(out, string(bytes.TrimSpace(v)))
		}
	}
	return out
}

// next waits for the next accepted connection.
func (s *fakeServer) next(t *testing.T) *fakeConn {
	t.Helper()
	select {
	case fc := <-s.conns:
		return fc
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no connection within 10s", s.node)
		return nil
	}
}

// fakeConn is the server's end of one connection.
type fakeConn struct {
	t         *testing.T
	nc        net.Conn
	dec       *wsproto.Decoder
	pending   []byte
	rbuf      [4096]byte
	auths     []string // the Authorization headers
	protocols []string // the Sec-WebSocket-Protocol headers
	pongs     int
}

// readFrame returns the client's next frame (pongs counted).
func (fc *fakeConn) readFrame() (ws.OpCode, []byte, error) {
	for {
		for len(fc.pending) > 0 {
			m, n, err := fc.dec.Next(fc.pending)
			fc.pending = fc.pending[n:]
			if err != nil {
				return 0, nil, err
			}
			if m.Op != 0 {
				if m.Op == ws.OpPong {
					fc.pongs++
				}
				return m.Op, bytes.Clone(m.Payload), nil
			}
		}
		_ = fc.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := fc.nc.Read(fc.rbuf[:])
		if n == 0 && err != nil {
			return 0, nil, err
		}
		fc.pending = fc.rbuf[:n]
	}
}

// read returns the next text frame from the client; a close frame is
// errClientClosed.
func (fc *fakeConn) read() ([]byte, error) {
	for {
		op, p, err := fc.readFrame()
		switch {
		case err != nil:
			return nil, err
		case op == ws.OpText:
			return p, nil
		case op == ws.OpClose:
			return p, errClientClosed
		}
	}
}

var errClientClosed = errors.New("client sent a close frame")

// awaitPong reads until the client's pong.
func (fc *fakeConn) awaitPong() {
	fc.t.Helper()
	for {
		op, p, err := fc.readFrame()
		if err != nil {
			fc.t.Fatalf("waiting for a pong: %v", err)
		}
		if op == ws.OpPong {
			if string(p) != "p" {
				fc.t.Fatalf("pong %q, want the ping's payload", p)
			}
			return
		}
	}
}

// command is a client command as the fake reads it.
type command struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	ID      uint64          `json:"id"`
	Data    json.RawMessage `json:"data"`
	Key     string          `json:"idempotency_key"`
	Token   string          `json:"token"`
	Since   *struct {
		Offset uint64 `json:"offset"`
		Epoch  string `json:"epoch"`
	} `json:"since"`
}

// expect reads the next command and fails the test unless it is of type
// typ.
func (fc *fakeConn) expect(typ string) command {
	fc.t.Helper()
	p, err := fc.read()
	if err != nil {
		fc.t.Fatalf("reading a %s command: %v", typ, err)
	}
	var c command
	if err := json.Unmarshal(p, &c); err != nil || c.Type != typ {
		fc.t.Fatalf("got %s, want a %s command", p, typ)
	}
	return c
}

// send writes one text frame.
func (fc *fakeConn) send(frame string) {
	fc.t.Helper()
	if _, err := fc.nc.Write(wsproto.AppendFrame(nil, ws.OpText, true, []byte(frame))); err != nil {
		fc.t.Fatalf("send %s: %v", frame, err)
	}
}

// ping sends a ping control frame.
func (fc *fakeConn) ping() {
	_, _ = fc.nc.Write(wsproto.AppendFrame(nil, ws.OpPing, true, []byte("p")))
}

// close sends a close frame and closes the socket.
func (fc *fakeConn) close(code ws.StatusCode, reason string) {
	_, _ = fc.nc.Write(wsproto.AppendClose(nil, code, reason))
	time.Sleep(10 * time.Millisecond) // let the client read it before the FIN
	_ = fc.nc.Close()
}
