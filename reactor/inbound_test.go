package reactor

import (
	"bytes"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

// Messages received in part were held without a node-wide bound: 4,000
// connections each parking a 1 MiB frame that never ends took 6.2 GB. Now
// the parked decoders' buffers count against MaxPartialBytes, and the
// connection whose read would pass it is closed 1013; what is held comes
// back to zero as they go.
func TestPartialMessagesBoundedNodeWide(t *testing.T) {
	const budget = 4 << 20
	e := gateway(t, Config{MaxPartialBytes: budget, MessageRate: -1, ByteRate: -1,
		Limits: wsproto.Limits{MaxFrameSize: 1 << 20, MaxMessageSize: 1 << 20}})
	part := bytes.Repeat([]byte("x"), 512<<10)
	var conns []*wstest.Conn
	for range 16 { // 8 MiB in part, twice the budget
		c := dialWS(t, e, "/echo")
		if err := c.WriteFrame(ws.OpText, false, part); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	testkit.Eventually(t, waitTimeout, "closes past the budget", func() bool {
		st := e.Stats()
		return st.PartialCloses > 0 && st.PartialBytes > 0 && st.PartialBytes+int64(len(part))*st.PartialCloses >= 16*int64(len(part))
	})
	if held := e.Stats().PartialBytes; held > budget {
		t.Fatalf("%d bytes held in part, budget %d", held, budget)
	}
	closed := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, _, err := c.ReadMessage()
		if ce, ok := err.(*wstest.CloseError); ok {
			if ce.Code != wire.CloseTryAgainLater || ce.Reason != wire.ReasonTooManyPartial {
				t.Fatalf("close %d %q, want 1013 %q", ce.Code, ce.Reason, wire.ReasonTooManyPartial)
			}
			closed++
			continue
		}
		// Still open: its message completes and echoes.
		if err := c.WriteFrame(ws.OpContinuation, true, []byte("!")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		if _, p, err := c.ReadMessage(); err != nil || len(p) != len(part)+1 {
			t.Fatalf("echo of a kept message: %d bytes, %v", len(p), err)
		}
	}
	if st := e.Stats(); int64(closed) != st.PartialCloses {
		t.Fatalf("%d clients saw 1013, the node counted %d", closed, st.PartialCloses)
	}
	testkit.Eventually(t, waitTimeout, "nothing held in part", func() bool { return e.Stats().PartialBytes == 0 })
}

// Bytes are charged as they arrive, whatever the frame: a pong flood, or
// a message that never ends sent as empty continuations, ran at gigabytes
// a second past a 256 KiB/s limit and was never closed. Closed, a peer
// that floods on is reset rather than read for CloseTimeout more.
func TestEveryFrameCountsAgainstTheByteRate(t *testing.T) {
	for name, flood := range map[string]func(*wstest.Conn, int) error{
		"pongs": func(c *wstest.Conn, _ int) error {
			return c.WriteFrame(ws.OpPong, true, bytes.Repeat([]byte("p"), 125))
		},
		"empty continuations": func(c *wstest.Conn, i int) error {
			if i == 0 {
				return c.WriteFrame(ws.OpText, false, []byte("{"))
			}
			return c.WriteFrame(ws.OpContinuation, false, nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := gateway(t, Config{ByteRate: 64 << 10, MessageRate: -1, CloseTimeout: time.Minute,
				Limits: wsproto.Limits{MaxFrameSize: 64 << 10, MaxMessageSize: 64 << 10}})
			c := dialWS(t, e, "/ws")
			// Far past the burst plus one message (128 KiB): 128 MiB of
			// pongs, 96 MiB of empty frames; the reset ends it first.
			var err error
			for i := 0; i < 16_000_000 && err == nil; i++ {
				err = flood(c, i)
			}
			if err == nil {
				t.Fatal("the node read the whole flood")
			}
			if ce := expectClose(t, c, waitTimeout); ce.Code != ws.StatusPolicyViolation || ce.Reason != wire.ReasonRateLimited {
				t.Fatalf("close %d %q, want 1008 %q", ce.Code, ce.Reason, wire.ReasonRateLimited)
			}
		})
	}
}

// A message over the rate is dropped when its first header arrives,
// before it is kept or inflated: it used to be inflated (up to
// MaxMessageSize) and only then dropped. Here the message over the rate
// does not inflate at all, so the node could only have seen that by
// inflating it (1007); it closes /echo 1008 for the rate instead.
func TestMessagesOverTheRateAreNotInflated(t *testing.T) {
	e := gateway(t, Config{MessageRate: 1, MessageBurst: 1, ByteRate: -1})
	c, err := wstest.DialOptions("ws://"+e.Addr().String()+"/echo", waitTimeout,
		wstest.Options{Header: map[string]string{"Sec-WebSocket-Extensions": "permessage-deflate"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.WriteText([]byte("a")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "a" {
		t.Fatalf("echo %q, %v", p, err)
	}
	corrupt := wsproto.AppendMaskedFrame(nil, ws.OpBinary, true, ws.NewMask(), []byte{0xff, 0xff, 0xff, 0xff})
	corrupt[0] |= 0x40 // RSV1: compressed
	if _, err := c.NetConn().Write(corrupt); err != nil {
		t.Fatal(err)
	}
	if ce := expectClose(t, c, waitTimeout); ce.Code != ws.StatusPolicyViolation || ce.Reason != wire.ReasonRateLimited {
		t.Fatalf("close %d %q, want 1008 %q", ce.Code, ce.Reason, wire.ReasonRateLimited)
	}
}
