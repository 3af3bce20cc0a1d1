package wstest

import (
	"bufio"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wsproto"
)

// serveOnce answers the first connection's handshake with reply(request)
// and then writes after. The listener is on 127.0.0.1:0.
func serveOnce(t *testing.T, reply func(r wsproto.Request) []byte, after []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		var req []byte
		var scan wsproto.HandshakeScanner
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			req = append(req, line...)
			if end, err := scan.Scan(req, 8<<10); err != nil || end > 0 {
				break
			}
		}
		r, err := wsproto.ParseRequest(req)
		if err != nil {
			_, _ = nc.Write(wsproto.AppendReject(nil, err))
			return
		}
		_, _ = nc.Write(append(reply(r), after...))
		_, _ = br.ReadByte() // until the client goes
	}()
	return ln.Addr().String()
}

// TestDialSendsHeadersReadsProtocolAndFirstFrame: extra headers reach the
// server, the selected subprotocol is reported, and a frame sent right
// behind the 101 is not lost.
func TestDialSendsHeadersReadsProtocolAndFirstFrame(t *testing.T) {
	var origin string
	addr := serveOnce(t, func(r wsproto.Request) []byte {
		origin = string(r.Origin)
		return wsproto.AppendAccept(nil, r.Key, r.Header("Sec-WebSocket-Protocol"))
	}, wsproto.AppendFrame(nil, ws.OpText, true, []byte("first")))
	c, err := DialOptions("ws://"+addr+"/ws?x=1", 5*time.Second, Options{Header: map[string]string{
		"Origin": "https://app.example", "Sec-WebSocket-Protocol": "v1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Protocol != "v1" {
		t.Errorf("Protocol %q, want v1", c.Protocol)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if op, p, err := c.ReadMessage(); err != nil || op != ws.OpText || string(p) != "first" {
		t.Errorf("first message: %v %q %v", op, p, err)
	}
	if origin != "https://app.example" {
		t.Errorf("server saw Origin %q", origin)
	}
}

// TestDialRefusedAndBadAccept: a refusal is a *HandshakeError with the
// status and body; a 101 with the wrong accept value fails the dial.
func TestDialRefusedAndBadAccept(t *testing.T) {
	addr := serveOnce(t, func(wsproto.Request) []byte {
		return wsproto.AppendReject(nil, &wsproto.RejectError{Status: 429, Reason: "slow down", Header: "Retry-After: 1\r\n"})
	}, nil)
	_, err := Dial("ws://"+addr+"/ws", 5*time.Second)
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != 429 || he.Body != "slow down" {
		t.Errorf("refused dial: %v, want a 429 HandshakeError with body %q", err, "slow down")
	}
	addr = serveOnce(t, func(wsproto.Request) []byte {
		return wsproto.AppendAccept(nil, []byte("AAAAAAAAAAAAAAAAAAAAAA=="), nil)
	}, nil)
	if _, err := Dial("ws://"+addr+"/ws", 5*time.Second); !errors.Is(err, wsproto.ErrBadAccept) {
		t.Errorf("dial answered with another key's accept: %v, want ErrBadAccept", err)
	}
}
