package reactor_test

// rawClient is the byte-level test client: it writes any frame, valid or
// not, in any split, and reads what the server answers byte for byte.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/wsproto"
)

// request is the opening handshake request for path with key, as
// wsproto.AppendRequest writes it for every client: the tests that need a
// bad one edit it.
func request(path string, key []byte) []byte {
	return wsproto.AppendRequest(nil, "127.0.0.1", []byte(path), key)
}

// rawClient is a byte-level WebSocket client: it writes exactly the bytes a
// test builds (masked frames, broken frames, split writes) and decodes what
// the server sends with wsproto's client-side decoder.
type rawClient struct {
	t       testing.TB
	conn    *net.TCPConn
	dec     *wsproto.Decoder
	rbuf    []byte
	pending []byte // received bytes not yet given to dec
	rng     *mathrand.Rand
}

// dialRaw opens a TCP connection to e without any handshake; it is closed
// when the test ends.
func dialRaw(t testing.TB, e *reactor.Engine) *rawClient {
	t.Helper()
	return dialRawLimits(t, e, nil)
}

// dialRawLimits is dialRaw with limits for decoding the server's frames
// (nil: wsproto's defaults, 1 MiB).
func dialRawLimits(t testing.TB, e *reactor.Engine, limits *wsproto.Limits) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", e.Addr().String(), ioTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &rawClient{
		t:    t,
		conn: nc.(*net.TCPConn),
		dec:  wsproto.NewDecoder(wsproto.ClientSide, limits),
		rbuf: make([]byte, 64<<10),
		rng:  mathrand.New(mathrand.NewPCG(uint64(time.Now().UnixNano()), 7)),
	}
}

// dialWS opens a connection and completes the opening handshake for path.
func dialWS(t testing.TB, e *reactor.Engine, path string) *rawClient {
	t.Helper()
	c := dialRaw(t, e)
	c.handshake(path)
	return c
}

// handshake sends an upgrade request for path and checks the 101 answer;
// on /ws it also reads and checks the connected frame the server sends
// first, so what the test reads next is what follows it.
func (c *rawClient) handshake(path string) {
	c.t.Helper()
	c.expectUpgrade(c.sendUpgrade(path))
	if p, _, _ := strings.Cut(path, "?"); p == reactor.PubSubPath {
		c.expectConnected()
	}
}

// expectConnected reads the next message and checks it is a connected
// frame (wstest.ParseConnected), which it returns.
func (c *rawClient) expectConnected() wstest.Connected {
	c.t.Helper()
	op, p, err := c.readMessage()
	if err != nil {
		c.t.Fatalf("want the connected frame: %v", err)
	}
	if op != ws.OpText {
		c.t.Fatalf("got %v frame (%d bytes %s), want the text connected frame", op, len(p), snippet(p))
	}
	hello, err := wstest.ParseConnected(p)
	if err != nil {
		c.t.Fatal(err)
	}
	return hello
}

// sendUpgrade sends an upgrade request for path with a fresh key, without
// reading the answer, and returns the key.
func (c *rawClient) sendUpgrade(path string) []byte {
	c.t.Helper()
	key := wsproto.NewKey()
	c.write(request(path, key[:]))
	return key[:]
}

// expectUpgrade reads the response to a handshake sent with key and checks
// it as a client must (wsproto.ParseResponse: a 101 with Upgrade,
// Connection and the right Sec-WebSocket-Accept), and that the server says
// exactly "Upgrade: websocket" and "Connection: Upgrade", case aside. Bytes
// after the response stay pending for the frame decoder. The response is
// valid until the client reads again.
func (c *rawClient) expectUpgrade(key []byte) wsproto.Response {
	c.t.Helper()
	for {
		resp, n, err := wsproto.ParseResponse(c.pending, key, 0)
		if err != nil {
			c.t.Fatalf("upgrade response (status %d) %q: %v", resp.Status, c.pending, err)
		}
		if n > 0 {
			c.pending = c.pending[n:]
			if got := resp.Header("Upgrade"); !strings.EqualFold(string(got), "websocket") {
				c.t.Fatalf("Upgrade = %q, want websocket", got)
			}
			if got := resp.Header("Connection"); !strings.EqualFold(string(got), "upgrade") {
				c.t.Fatalf("Connection = %q, want Upgrade", got)
			}
			return resp
		}
		m, err := c.read()
		if err != nil {
			c.t.Fatalf("reading upgrade response after %d bytes %q: %v", len(c.pending), c.pending, err)
		}
		c.pending = append(c.pending, c.rbuf[:m]...)
	}
}

// readResponseHead reads an HTTP response header block; whatever follows it
// stays pending.
func (c *rawClient) readResponseHead() (*http.Response, error) {
	for {
		if i := bytes.Index(c.pending, []byte("\r\n\r\n")); i >= 0 {
			head := c.pending[:i+4]
			c.pending = c.pending[i+4:]
			return http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), nil)
		}
		n, err := c.read()
		if err != nil {
			return nil, fmt.Errorf("after %d bytes %q: %w", len(c.pending), c.pending, err)
		}
		c.pending = append(c.pending, c.rbuf[:n]...)
	}
}

// expectRejection reads a refused handshake's response, checks its status
// and that the server then closes the connection, and returns it with its
// body read.
func (c *rawClient) expectRejection(status int) (*http.Response, []byte) {
	c.t.Helper()
	resp, err := c.readResponseHead()
	if err != nil {
		c.t.Fatalf("reading rejection: %v", err)
	}
	if resp.StatusCode != status {
		c.t.Fatalf("status = %d %q, want %d", resp.StatusCode, resp.Status, status)
	}
	body := c.readToEOF()
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		c.t.Fatalf("body is %d bytes %q, Content-Length %d", len(body), body, resp.ContentLength)
	}
	return resp, body
}

// readToEOF reads until the server closes its side, returning what came;
// a reset or timeout fails the test.
func (c *rawClient) readToEOF() []byte {
	c.t.Helper()
	out := c.pending
	c.pending = nil
	for {
		n, err := c.read()
		out = append(out, c.rbuf[:n]...)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			c.t.Fatalf("waiting for the server to close (got %d bytes): %v", len(out), err)
		}
	}
}

func (c *rawClient) read() (int, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	return c.conn.Read(c.rbuf)
}

// write sends p in one write call.
func (c *rawClient) write(p []byte) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.conn.Write(p); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// writeSplit sends p in pieces of the given sizes (cycled), one write each.
func (c *rawClient) writeSplit(p []byte, sizes ...int) {
	c.t.Helper()
	for i := 0; len(p) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(p))
		c.write(p[:n])
		p = p[n:]
	}
}

// frame returns one masked client frame with a random mask.
func (c *rawClient) frame(op ws.OpCode, fin bool, payload []byte) []byte {
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], c.rng.Uint32())
	return wsproto.AppendMaskedFrame(nil, op, fin, mask, payload)
}

// send writes one masked frame.
func (c *rawClient) send(op ws.OpCode, fin bool, payload []byte) {
	c.t.Helper()
	c.write(c.frame(op, fin, payload))
}

// sendClose writes a close frame with code and reason.
func (c *rawClient) sendClose(code ws.StatusCode, reason string) {
	c.t.Helper()
	c.send(ws.OpClose, true, closePayload(code, reason))
}

func closePayload(code ws.StatusCode, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// readMessage returns the next message or control frame the server sent.
// The payload is the caller's.
func (c *rawClient) readMessage() (ws.OpCode, []byte, error) {
	for {
		for len(c.pending) > 0 {
			m, n, err := c.dec.Next(c.pending)
			c.pending = c.pending[n:]
			if err != nil {
				return 0, nil, fmt.Errorf("decoding server frames: %w", err)
			}
			if m.Op != ws.OpContinuation {
				return m.Op, bytes.Clone(m.Payload), nil
			}
		}
		n, err := c.read()
		if err != nil {
			return 0, nil, err
		}
		c.pending = c.rbuf[:n]
	}
}

// expectMessage reads the next message and checks its opcode and bytes.
func (c *rawClient) expectMessage(op ws.OpCode, payload []byte) {
	c.t.Helper()
	gotOp, got, err := c.readMessage()
	if err != nil {
		c.t.Fatalf("want %v message of %d bytes: %v", op, len(payload), err)
	}
	if gotOp != op {
		c.t.Fatalf("got %v message (%d bytes %s), want %v", gotOp, len(got), snippet(got), op)
	}
	if !bytes.Equal(got, payload) {
		c.t.Fatalf("%v message differs: got %d bytes %s, want %d bytes %s (first difference at %d)",
			op, len(got), snippet(got), len(payload), snippet(payload), firstDiff(got, payload))
	}
}

// expectClose reads the next frame, checks it is a close frame with code
// (ws.StatusNoStatusRcvd: an empty close frame), answers it like a
// well-behaved client and checks that the server then closes the TCP
// connection. It returns the close reason.
func (c *rawClient) expectClose(code ws.StatusCode) string {
	c.t.Helper()
	reason := c.expectCloseFrame(code)
	c.write(c.frame(ws.OpClose, true, closePayload(code, "")))
	c.expectEOF()
	return reason
}

// expectCloseFrame reads the next frame and checks it is a close frame with
// code, without answering it.
func (c *rawClient) expectCloseFrame(code ws.StatusCode) string {
	c.t.Helper()
	op, payload, err := c.readMessage()
	if err != nil {
		c.t.Fatalf("want close %d: %v", code, err)
	}
	if op != ws.OpClose {
		c.t.Fatalf("got %v frame (%d bytes %s), want close %d", op, len(payload), snippet(payload), code)
	}
	got := ws.StatusNoStatusRcvd
	if len(payload) >= 2 {
		got = ws.StatusCode(binary.BigEndian.Uint16(payload))
	}
	if len(payload) == 1 || got != code {
		c.t.Fatalf("close payload %s: code %d, want %d", snippet(payload), got, code)
	}
	if len(payload) < 2 {
		return ""
	}
	return string(payload[2:])
}

// expectEOF checks that the server closes the connection without sending
// anything more (and without a reset), then closes the client's side too,
// as a client does once the server has closed.
func (c *rawClient) expectEOF() {
	c.t.Helper()
	if rest := c.readToEOF(); len(rest) > 0 {
		c.t.Fatalf("want EOF, got %d more bytes %s", len(rest), snippet(rest))
	}
	_ = c.conn.Close()
}

// closeHandshake ends a healthy connection: close 1000, answered with 1000
// and the server's FIN.
func (c *rawClient) closeHandshake() {
	c.t.Helper()
	c.sendClose(ws.StatusNormalClosure, "")
	c.expectCloseFrame(ws.StatusNormalClosure)
	c.expectEOF()
}

func snippet(b []byte) string {
	if len(b) > 32 {
		return fmt.Sprintf("%q...", b[:32])
	}
	return fmt.Sprintf("%q", b)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
