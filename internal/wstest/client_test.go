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

// connectedFrame is a connected frame as a wsgate node sends it first on
// /ws.
const connectedFrame = `{"type":"connected","client":"n1.0.1","node":"n1","version":"v1.2","ping_interval_ms":25000}`

// TestDialSendsHeadersReadsProtocolAndFirstFrame: extra headers reach the
// server, the selected subprotocol is reported, the connected frame on /ws
// (a query aside) is read by the dial, and a frame sent right behind it is
// not lost.
func TestDialSendsHeadersReadsProtocolAndFirstFrame(t *testing.T) {
	var origin string
	addr := serveOnce(t, func(r wsproto.Request) []byte {
		origin = string(r.Origin)
		return wsproto.AppendAccept(nil, r.Key, r.Header("Sec-WebSocket-Protocol"))
	}, wsproto.AppendFrame(wsproto.AppendFrame(nil, ws.OpText, true, []byte(connectedFrame)), ws.OpText, true, []byte("first")))
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
	if want := (Connected{Client: "n1.0.1", Node: "n1", Version: "v1.2", PingIntervalMS: 25000}); c.Connected != want {
		t.Errorf("Connected %+v, want %+v", c.Connected, want)
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

// TestDialOnlyWSReadsAConnectedFrame: on /ws a first frame that is not a
// well-formed connected frame fails the dial; on another path the first
// frame is the caller's.
func TestDialOnlyWSReadsAConnectedFrame(t *testing.T) {
	accept := func(r wsproto.Request) []byte { return wsproto.AppendAccept(nil, r.Key, nil) }
	text := func(p string) []byte { return wsproto.AppendFrame(nil, ws.OpText, true, []byte(p)) }
	for _, tc := range []struct {
		name  string
		first []byte
	}{
		{"message", text(`{"type":"message","channel":"news","data":1}`)},
		{"binary", wsproto.AppendFrame(nil, ws.OpBinary, true, []byte(connectedFrame))},
		{"close", wsproto.AppendFrame(nil, ws.OpClose, true, []byte{0x03, 0xe8})},
		{"not JSON", text(`connected`)},
		{"no client", text(`{"type":"connected","node":"n1","version":"v","ping_interval_ms":25000}`)},
		{"empty node", text(`{"type":"connected","client":"n1.0.1","node":"","version":"v","ping_interval_ms":25000}`)},
		{"interval as string", text(`{"type":"connected","client":"n1.0.1","node":"n1","version":"v","ping_interval_ms":"25000"}`)},
		{"zero interval", text(`{"type":"connected","client":"n1.0.1","node":"n1","version":"v","ping_interval_ms":0}`)},
		{"unknown field", text(`{"type":"connected","client":"n1.0.1","node":"n1","version":"v","ping_interval_ms":25000,"x":1}`)},
	} {
		addr := serveOnce(t, accept, tc.first)
		if c, err := Dial("ws://"+addr+"/ws?channels=news", 5*time.Second); err == nil {
			c.Close()
			t.Errorf("%s first on /ws: the dial succeeded (Connected %+v)", tc.name, c.Connected)
		}
	}
	addr := serveOnce(t, accept, text("hello"))
	c, err := Dial("ws://"+addr+"/echo", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Connected != (Connected{}) {
		t.Errorf("Connected on /echo: %+v", c.Connected)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if op, p, err := c.ReadMessage(); err != nil || op != ws.OpText || string(p) != "hello" {
		t.Errorf("first message on /echo: %v %q %v", op, p, err)
	}
}
