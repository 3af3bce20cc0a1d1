// Package wstest is a small blocking WebSocket client for wsgate's own
// tests and test processes: raw TCP, wsproto's client-side encoder and
// decoder, one goroutine per connection (which is fine for a test client and
// exactly what the server avoids). It answers pings itself.
package wstest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
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

// Dial connects to a ws:// URL and completes the handshake within timeout.
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
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
		key + "\r\n"
	for name, value := range o.Header {
		req += name + ": " + value + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	status, headers, body, err := readResponse(br)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if status != 101 {
		nc.Close()
		return nil, &HandshakeError{Status: status, Body: body}
	}
	if !strings.Contains(headers, "Sec-WebSocket-Accept: "+string(wsproto.AcceptKey([]byte(key)))) {
		nc.Close()
		return nil, errors.New("wstest: wrong Sec-WebSocket-Accept")
	}
	_ = nc.SetDeadline(time.Time{})
	c := &Conn{nc: nc, br: br, dec: wsproto.NewDecoder(wsproto.ClientSide, &wsproto.Limits{MaxFrameSize: 64 << 20, MaxMessageSize: 64 << 20})}
	for _, line := range strings.Split(headers, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Sec-WebSocket-Protocol: "); ok {
			c.Protocol = v
		}
	}
	return c, nil
}

// readResponse reads an HTTP response head and, for a refusal, its body.
func readResponse(br *bufio.Reader) (status int, headers, body string, err error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return 0, "", "", err
	}
	if _, err := fmt.Sscanf(line, "HTTP/1.1 %d", &status); err != nil {
		return 0, "", "", fmt.Errorf("wstest: bad status line %q", line)
	}
	var hb strings.Builder
	length := 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return 0, "", "", err
		}
		if l == "\r\n" {
			break
		}
		hb.WriteString(l)
		if n, ok := strings.CutPrefix(l, "Content-Length: "); ok {
			fmt.Sscanf(n, "%d", &length)
		}
	}
	if status != 101 && length > 0 {
		b := make([]byte, length)
		_, _ = io.ReadFull(br, b)
		body = string(bytes.TrimSpace(b))
	}
	return status, hb.String(), body, nil
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
