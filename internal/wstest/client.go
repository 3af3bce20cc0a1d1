// Package wstest is a small blocking WebSocket client for wsgate's own
// tests and test processes: raw TCP, wsproto's client side (the handshake
// bench also uses, the masking encoder, the decoder), one goroutine per
// connection (which is fine for a test client and
// exactly what the server avoids). It answers pings itself, and on /ws
// the dial reads and checks the connected frame the server sends first
// (Conn.Connected), so ReadMessage starts at what follows it.
package wstest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wsproto"
)

// Conn is one client connection. It is not safe for concurrent use.
type Conn struct {
	nc  net.Conn
	br  *bufio.Reader
	dec *wsproto.Decoder
	buf []byte // bytes read but not yet decoded
	out []byte

	// Pings counts server pings answered.
	Pings int
	// Protocol is the subprotocol the server selected, if any.
	Protocol string
	// Connected is the connected frame the server sent first on /ws, read
	// and checked by the dial; zero on any other path.
	Connected Connected
}

// PubSubPath is wsgate's JSON channel endpoint, the path whose first frame
// is the connected frame.
const PubSubPath = "/ws"

// Connected is the frame a wsgate node sends first on /ws:
// {"type":"connected","client":"<node>.<32 hex digits>","node":"<node id>",
// "version":"<build>","ping_interval_ms":<ms>}.
type Connected struct {
	Client         string `json:"client"`
	Node           string `json:"node"`
	Version        string `json:"version"`
	PingIntervalMS int64  `json:"ping_interval_ms"`
}

// ParseConnected checks that p is a connected frame, exactly its five
// fields, each present and of its type (strings not empty, the ping
// interval positive), and returns it.
func ParseConnected(p []byte) (Connected, error) {
	var f struct {
		Type           *string `json:"type"`
		Client         *string `json:"client"`
		Node           *string `json:"node"`
		Version        *string `json:"version"`
		PingIntervalMS *int64  `json:"ping_interval_ms"`
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Connected{}, fmt.Errorf("wstest: connected frame %q: %w", p, err)
	}
	if dec.More() {
		return Connected{}, fmt.Errorf("wstest: connected frame %q: data after the object", p)
	}
	switch {
	case f.Type == nil || *f.Type != "connected":
		return Connected{}, fmt.Errorf("wstest: first frame on %s is %q, want a connected frame", PubSubPath, p)
	case f.Client == nil || *f.Client == "", f.Node == nil || *f.Node == "", f.Version == nil || *f.Version == "":
		return Connected{}, fmt.Errorf("wstest: connected frame %q: client, node and version must be non-empty strings", p)
	case f.PingIntervalMS == nil || *f.PingIntervalMS <= 0:
		return Connected{}, fmt.Errorf("wstest: connected frame %q: ping_interval_ms must be a positive integer", p)
	}
	return Connected{Client: *f.Client, Node: *f.Node, Version: *f.Version, PingIntervalMS: *f.PingIntervalMS}, nil
}

// Options are the optional parts of a handshake.
type Options struct {
	// Header holds extra request header fields, e.g. Origin, Authorization
	// or Sec-WebSocket-Protocol.
	Header map[string]string
	// LocalAddr is the IP to connect from (any of 127.0.0.0/8 works on
	// loopback), so tests can play several client addresses.
	LocalAddr string
	// Control, when set, is the dialer's Control: it may set socket options
	// (a small SO_RCVBUF, say) before the connection is made.
	Control func(network, address string, c syscall.RawConn) error
}

// CloseError is a close frame received from the server.
type CloseError struct {
	Code   ws.StatusCode
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("closed by server: %d %s", e.Code, e.Reason) }

// HandshakeError is a refused upgrade: the HTTP status line and body.
type HandshakeError struct {
	Status int
	Body   string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("handshake refused: %d %s", e.Status, e.Body)
}

// Dial connects to a ws:// URL and completes the handshake within timeout;
// on /ws that includes reading the connected frame (Conn.Connected), and a
// first frame that is not one fails the dial.
func Dial(rawURL string, timeout time.Duration) (*Conn, error) {
	return DialOptions(rawURL, timeout, Options{})
}

// DialOptions is Dial with extra headers or a source address.
func DialOptions(rawURL string, timeout time.Duration, o Options) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: timeout, Control: o.Control}
	if o.LocalAddr != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(o.LocalAddr)}
	}
	nc, err := d.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(timeout))
	key := wsproto.NewKey()
	header := make([]string, 0, len(o.Header))
	for name, value := range o.Header {
		header = append(header, name+": "+value)
	}
	slices.Sort(header) // the same bytes on every run
	if _, err := nc.Write(wsproto.AppendRequest(nil, u.Host, []byte(u.RequestURI()), key[:], header...)); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	resp, err := readResponse(br, &key)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c := &Conn{nc: nc, br: br, dec: wsproto.NewDecoder(wsproto.ClientSide, &wsproto.Limits{MaxFrameSize: 64 << 20, MaxMessageSize: 64 << 20})}
	c.Protocol = string(resp.Header("Sec-WebSocket-Protocol"))
	if u.Path == PubSubPath {
		// The connected frame comes first, within the dial's timeout.
		op, p, err := c.ReadMessage()
		switch {
		case err != nil:
			err = fmt.Errorf("wstest: reading the connected frame: %w", err)
		case op != ws.OpText:
			err = fmt.Errorf("wstest: first frame on %s is %v %q, want a text connected frame", PubSubPath, op, p)
		default:
			c.Connected, err = ParseConnected(p)
		}
		if err != nil {
			nc.Close()
			return nil, err
		}
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// readResponse reads the handshake response (wsproto.ParseResponse) and
// leaves whatever follows it in br. A refusal is a *HandshakeError with
// its body read.
func readResponse(br *bufio.Reader, key *[wsproto.KeyLen]byte) (wsproto.Response, error) {
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // a line longer than the buffer: read on
		}
		if err != nil {
			return wsproto.Response{}, fmt.Errorf("wstest: reading the handshake response %q: %w", head, err)
		}
		resp, n, err := wsproto.ParseResponse(head, key[:], 0)
		switch {
		case errors.Is(err, wsproto.ErrUpgradeRefused):
			length, _ := strconv.Atoi(string(resp.Header("Content-Length")))
			body := make([]byte, max(length, 0))
			_, _ = io.ReadFull(br, body)
			return resp, &HandshakeError{Status: resp.Status, Body: string(bytes.TrimSpace(body))}
		case err != nil:
			return resp, fmt.Errorf("wstest: %w", err)
		case n > 0:
			return resp, nil
		}
	}
}

// SetReadDeadline bounds the next reads.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// WriteText sends one masked text frame.
func (c *Conn) WriteText(p []byte) error { return c.WriteFrame(ws.OpText, true, p) }

// WriteFrame sends one masked frame.
func (c *Conn) WriteFrame(op ws.OpCode, fin bool, p []byte) error {
	c.out = wsproto.AppendMaskedFrame(c.out[:0], op, fin, ws.NewMask(), p)
	_, err := c.nc.Write(c.out)
	return err
}

// ReadMessage returns the next text or binary message (the payload is the
// client's to keep). Pings are answered; a close frame becomes a
// *CloseError.
func (c *Conn) ReadMessage() (ws.OpCode, []byte, error) {
	for {
		for len(c.buf) > 0 {
			m, n, err := c.dec.Next(c.buf)
			c.buf = c.buf[n:]
			if err != nil {
				return 0, nil, err
			}
			switch m.Op {
			case ws.OpText, ws.OpBinary:
				return m.Op, bytes.Clone(m.Payload), nil
			case ws.OpPing:
				c.Pings++
				if err := c.WriteFrame(ws.OpPong, true, m.Payload); err != nil {
					return 0, nil, err
				}
			case ws.OpClose:
				code, reason, _ := wsproto.ParseClose(m.Payload)
				return 0, nil, &CloseError{Code: code, Reason: string(reason)}
			}
		}
		var chunk [4096]byte
		n, err := c.br.Read(chunk[:])
		if err != nil {
			return 0, nil, err
		}
		c.buf = append(c.buf[:0], chunk[:n]...)
	}
}

// Close closes the TCP connection without a closing handshake.
func (c *Conn) Close() error { return c.nc.Close() }

// CloseHandshake sends close 1000 and waits for the server's close.
func (c *Conn) CloseHandshake() error {
	c.out = wsproto.AppendMaskedFrame(c.out[:0], ws.OpClose, true, ws.NewMask(), []byte{0x03, 0xe8})
	if _, err := c.nc.Write(c.out); err != nil {
		return err
	}
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *CloseError
			if errors.As(err, &ce) {
				return nil
			}
			return err
		}
	}
}

// NetConn is the underlying TCP connection, for tests that write raw
// (broken) frames.
func (c *Conn) NetConn() net.Conn { return c.nc }
