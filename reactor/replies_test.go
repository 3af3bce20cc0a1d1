package reactor

import (
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

// dialSmallWindow opens a WebSocket whose receive buffer is as small as the
// kernel allows, so replies it does not read pile up at the server.
func dialSmallWindow(t *testing.T, e *Engine, path string) *wstest.Conn {
	t.Helper()
	c, err := wstest.DialOptions("ws://"+e.Addr().String()+path, 5*time.Second, wstest.Options{
		Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The ack-spam finding: replies (acks, errors, pongs, notices) went into
// gnet's outbound buffer with no bound, so a client that sent commands and
// never read grew the node without limit. Now every reply counts against
// MaxOutboundBytes, like deliveries, and past it the client is closed
// with 1008 "slow consumer".
func TestRepliesPastMaxOutboundCloseSlowConsumer(t *testing.T) {
	id := `"` + strings.Repeat("i", wire.MaxIDBytes) + `"`
	for name, frame := range map[string]func(*wstest.Conn, int) error{
		"pongs": func(c *wstest.Conn, _ int) error {
			return c.WriteFrame(ws.OpPing, true, []byte(strings.Repeat("p", 125)))
		},
		"acks": func(c *wstest.Conn, i int) error {
			kind := "subscribe"
			if i%2 == 1 {
				kind = "unsubscribe"
			}
			return c.WriteText([]byte(`{"type":"` + kind + `","channel":"a","id":` + id + `}`))
		},
		"errors": func(c *wstest.Conn, i int) error {
			if i%2 == 1 { // a success between errors keeps the abuse guard quiet
				return c.WriteText([]byte(`{"type":"subscribe","channel":"ok","id":1}`))
			}
			return c.WriteText([]byte(`{"type":"unsubscribe","channel":"never.subscribed","id":` + id + `}`))
		},
	} {
		t.Run(name, func(t *testing.T) {
			const bound = 16 << 10
			// The close frame waits behind every reply the client did not
			// read; a long CloseTimeout leaves it time to read them all.
			e := gateway(t, Config{MaxOutboundBytes: bound, MessageRate: -1, ByteRate: -1, CloseTimeout: time.Minute})
			c := dialSmallWindow(t, e, "/ws")
			// Far more replies than the kernel's buffers and the bound hold
			// (loopback send buffers grow to 4 MiB); the server closes the
			// connection long before the last, and the client stops then.
			var err error
			for i := 0; i < 200_000 && err == nil; i++ {
				err = frame(c, i)
				if i%1000 == 999 && e.Stats().SlowConsumerCloses > 0 {
					break
				}
			}
			testkit.Eventually(t, waitTimeout, "a slow-consumer close", func() bool { return e.Stats().SlowConsumerCloses == 1 })
			// Now read up to the close frame, behind megabytes of replies: a
			// window as small as the one that made the client slow would
			// drain them at the pace of TCP's window probes (loopback's MSS
			// is 64 KiB), so open it.
			if err := c.NetConn().(*net.TCPConn).SetReadBuffer(4 << 20); err != nil {
				t.Fatal(err)
			}
			if ce := expectClose(t, c, 30*time.Second); ce.Code != ws.StatusPolicyViolation || ce.Reason != "slow consumer" {
				t.Fatalf("close %d %q, want 1008 slow consumer", ce.Code, ce.Reason)
			}
		})
	}
}

// The close is on the server's side of the bound: the client is not
// closed while what the server holds for it stays under MaxOutboundBytes.
func TestRepliesUnderMaxOutboundKeepTheConnection(t *testing.T) {
	e := gateway(t, Config{MaxOutboundBytes: 16 << 10, MessageRate: -1, ByteRate: -1})
	c := dialWS(t, e, "/ws")
	for i := range 2000 {
		if err := c.WriteFrame(ws.OpPing, true, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 { // reading now and then keeps the server's buffer empty
			if got := send(t, c, `{"type":"subscribe","channel":"a","id":1}`); got["type"] != "ack" {
				t.Fatalf("got %v", got)
			}
			send(t, c, `{"type":"unsubscribe","channel":"a","id":2}`)
		}
	}
	if n := e.Stats().SlowConsumerCloses; n != 0 {
		t.Fatalf("%d slow-consumer closes of a reading client", n)
	}
}

// The node-wide channel limit: a subscription that would add one more
// channel than MaxChannels is refused, by frame and in the handshake, and
// the room comes back when a channel empties.
func TestMaxChannels(t *testing.T) {
	e := gateway(t, Config{MaxChannels: 3})
	a := dialWS(t, e, "/ws?channels=one,two")
	if got := send(t, a, `{"type":"subscribe","channel":"three","id":1}`); got["type"] != "ack" {
		t.Fatalf("third channel: %v", got)
	}
	if got := send(t, a, `{"type":"subscribe","channel":"four","id":2}`); got["code"] != wire.CodeTooManyChannels || got["id"] != float64(2) {
		t.Fatalf("fourth channel: %v, want error too_many_channels", got)
	}
	// Another subscriber of an existing channel adds no channel.
	b := dialWS(t, e, "/ws?channels=one")
	if _, status, body := dialHeaders(e, "/ws?channels=one,five", nil); status != 503 || !strings.Contains(body, "channel limit") {
		t.Fatalf("handshake past the limit: %d %q, want 503", status, body)
	}
	if got := send(t, a, `{"type":"unsubscribe","channel":"three","id":3}`); got["type"] != "ack" {
		t.Fatalf("unsubscribe: %v", got)
	}
	if got := send(t, b, `{"type":"subscribe","channel":"four","id":4}`); got["type"] != "ack" {
		t.Fatalf("after a channel emptied: %v", got)
	}
	st := e.Stats()
	if st.Channels != 3 || st.ChannelsRefused != 2 {
		t.Fatalf("channels %d, refused %d; want 3 and 2", st.Channels, st.ChannelsRefused)
	}
	// The refused handshake left nothing behind: no connection, no count.
	testkit.Eventually(t, waitTimeout, "the refused connection to go", func() bool { return e.Stats().Upgraded == 2 })
}

func TestDuplicateAuthorizationRefused(t *testing.T) {
	e := gateway(t, Config{Auth: testVerifier(t), AuthRequired: true})
	good := token(t, "alice", time.Hour, nil, nil)
	nc, err := net.Dial("tcp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer " + good + "\r\nAuthorization: Bearer nobody\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [512]byte
	n, _ := nc.Read(buf[:])
	if resp := string(buf[:n]); !strings.HasPrefix(resp, "HTTP/1.1 400 ") || !strings.Contains(resp, "more than one Authorization header") {
		t.Fatalf("response %q, want 400 naming the duplicate header", resp)
	}
	// One header is fine.
	c, status, body := dialHeaders(e, "/ws", map[string]string{"Authorization": "Bearer " + good})
	if status != 101 {
		t.Fatalf("one Authorization header: %d %s", status, body)
	}
	c.Close()
}

// /echo is anonymous, so it is off by default as soon as authentication
// is configured; EchoOn serves it anyway, held to the rate limits.
func TestEchoModes(t *testing.T) {
	t.Run("auto with auth: off", func(t *testing.T) {
		e := gateway(t, Config{Auth: testVerifier(t)})
		if _, status := dialStatus(e, EchoPath); status != 404 {
			t.Fatalf("status %d, want 404", status)
		}
	})
	t.Run("auto without auth: on", func(t *testing.T) {
		e := gateway(t, Config{})
		c := dialWS(t, e, EchoPath)
		if err := c.WriteText([]byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.ReadMessage(); err != nil || string(p) != "hi" {
			t.Fatalf("echo %q %v", p, err)
		}
	})
	t.Run("off", func(t *testing.T) {
		e := gateway(t, Config{Echo: EchoOff})
		if _, status := dialStatus(e, EchoPath); status != 404 {
			t.Fatalf("status %d, want 404", status)
		}
	})
	t.Run("on with auth: rate-limited", func(t *testing.T) {
		e := gateway(t, Config{Auth: testVerifier(t), Echo: EchoOn, MessageRate: 1, MessageBurst: 3})
		c := dialWS(t, e, EchoPath)
		for range 10 {
			if err := c.WriteText([]byte("x")); err != nil {
				break // closed
			}
		}
		if ce := expectClose(t, c, 5*time.Second); ce.Code != ws.StatusPolicyViolation || ce.Reason != "rate limit exceeded" {
			t.Fatalf("close %d %q, want 1008 rate limit exceeded", ce.Code, ce.Reason)
		}
		if n := e.Stats().RateLimited; n != 1 {
			t.Fatalf("rate limited %d, want 1", n)
		}
	})
	t.Run("on with auth and a big message limit: outbound room for one echo", func(t *testing.T) {
		cfg := Config{Auth: testVerifier(t), Echo: EchoOn, Limits: wsproto.Limits{MaxMessageSize: 4 << 20, MaxFrameSize: 4 << 20}}.withDefaults()
		if cfg.MaxOutboundBytes < 4<<20 {
			t.Fatalf("max outbound %d below one echo of the largest message", cfg.MaxOutboundBytes)
		}
	})
}

// Host is checked against AllowedHosts before anything else of the
// request (DNS rebinding).
func TestAllowedHostsHandshake(t *testing.T) {
	e := gateway(t, Config{AllowedHosts: []string{"ws.example.com"}})
	for _, tc := range []struct {
		host   string
		status int
	}{
		{"ws.example.com", 101},
		{"ws.example.com:8080", 101},
		{"evil.example.com", 403},
		{e.Addr().String(), 403},
	} {
		nc, err := net.Dial("tcp", e.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		req := "GET /ws HTTP/1.1\r\nHost: " + tc.host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
		_, _ = nc.Write([]byte(req))
		_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		var buf [256]byte
		n, _ := nc.Read(buf[:])
		nc.Close()
		status := -1
		if f := strings.Fields(string(buf[:n])); len(f) > 1 {
			status, _ = strconv.Atoi(f[1])
		}
		if status != tc.status {
			t.Errorf("Host %q: status %d, want %d (%q)", tc.host, status, tc.status, buf[:n])
		}
	}
}
