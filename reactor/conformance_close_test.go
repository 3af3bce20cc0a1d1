package reactor_test

// The closing handshake (RFC 6455 §5.5.1, §7).

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/wsproto"
)

func TestConformanceClose(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})

	for _, code := range []ws.StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		t.Run(fmt.Sprintf("Valid%d", code), func(t *testing.T) {
			t.Parallel()
			c := dialWS(t, e, reactor.EchoPath)
			c.sendClose(code, "reason ✓")
			c.expectCloseFrame(code)
			c.expectEOF()
		})
	}

	for _, code := range []ws.StatusCode{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		t.Run(fmt.Sprintf("Invalid%d", code), func(t *testing.T) {
			t.Parallel()
			c := dialWS(t, e, reactor.EchoPath)
			c.sendClose(code, "")
			c.expectClose(closeProtocol)
		})
	}

	t.Run("OneBytePayload", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.send(ws.OpClose, true, []byte{0x03})
		c.expectClose(closeProtocol)
	})

	t.Run("PayloadOver125", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.sendClose(ws.StatusNormalClosure, strings.Repeat("r", 124))
		c.expectClose(closeProtocol)
	})

	t.Run("MaximalReason", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.sendClose(ws.StatusNormalClosure, strings.Repeat("r", 123))
		c.expectCloseFrame(ws.StatusNormalClosure)
		c.expectEOF()
	})

	t.Run("InvalidUTF8Reason", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.sendClose(ws.StatusNormalClosure, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited")
		// RFC 6455 allows 1002 or 1007 here; this server chose 1007
		// (wsproto.CloseCode maps ErrCloseReasonUTF8 to it).
		op, payload, err := c.readMessage()
		if err != nil || op != ws.OpClose || len(payload) < 2 {
			t.Fatalf("want close frame, got %v %q (%v)", op, payload, err)
		}
		if code := ws.StatusCode(binary.BigEndian.Uint16(payload)); code != closeProtocol && code != closeBadPayload {
			t.Fatalf("close code %d, want 1002 or 1007", code)
		}
		c.sendClose(ws.StatusNormalClosure, "")
		c.expectEOF()
	})

	t.Run("EmptyClose", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.send(ws.OpClose, true, nil)
		op, payload, err := c.readMessage()
		if err != nil || op != ws.OpClose || len(payload) != 0 {
			t.Fatalf("want empty close frame, got %v %q (%v)", op, payload, err)
		}
		c.expectEOF()
	})

	t.Run("DataAfterCloseIgnored", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		wire := c.frame(ws.OpText, true, []byte("before"))
		wire = append(wire, c.frame(ws.OpClose, true, closePayload(ws.StatusNormalClosure, ""))...)
		wire = append(wire, c.frame(ws.OpText, true, []byte("after close"))...)
		wire = append(wire, c.frame(ws.OpPing, true, []byte("after close"))...)
		c.write(wire)
		c.expectMessage(ws.OpText, []byte("before"))
		c.expectCloseFrame(ws.StatusNormalClosure)
		c.expectEOF()
	})

	t.Run("DataAfterServerCloseIgnored", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.send(ws.OpContinuation, true, nil) // protocol error: server closes 1002
		c.expectCloseFrame(closeProtocol)
		c.send(ws.OpText, true, []byte("too late"))
		c.send(ws.OpPing, true, []byte("too late"))
		c.sendClose(closeProtocol, "")
		c.expectEOF()
	})

	t.Run("CloseSplitByteByByte", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.writeSplit(c.frame(ws.OpClose, true, closePayload(4321, "split")), 1)
		c.expectCloseFrame(4321)
		c.expectEOF()
	})
}

// TestConformanceCloseAfterLargeEcho sends a message and a close frame in
// one write and reads only after both are sent: the server must deliver the
// whole echo, then its close frame, however much of the echo is still queued
// when it answers the close.
func TestConformanceCloseAfterLargeEcho(t *testing.T) {
	t.Parallel()
	const size = 8 << 20 // more than the kernel's socket buffers take (tcp_wmem max 4 MiB here)
	limits := wsproto.Limits{MaxFrameSize: size, MaxMessageSize: size}
	e := startEcho(t, reactor.Config{Limits: limits})
	c := dialRawLimits(t, e, &limits)
	c.handshake(reactor.EchoPath)
	payload := binaryPayload(size, 9)
	wire := c.frame(ws.OpBinary, true, payload)
	wire = append(wire, c.frame(ws.OpClose, true, closePayload(ws.StatusNormalClosure, ""))...)
	c.write(wire)
	// Read only once the server has let go of the connection, or after a
	// grace period: a correct server keeps it until the echo is sent, which
	// needs this client to read, so the wait ends by the timeout there and
	// Poll's answer does not matter.
	testkit.Poll(time.Second, func() bool { return e.Stats().Connections == 0 })
	c.expectMessage(ws.OpBinary, payload)
	c.expectCloseFrame(ws.StatusNormalClosure)
	c.expectEOF()
}
