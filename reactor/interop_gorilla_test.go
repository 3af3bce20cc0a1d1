package reactor_test

// Echo interop with gorilla/websocket, whole and fragmented.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/reactor"
)

// dialGorilla connects a gorilla client whose write buffer is writeBuffer
// bytes and returns it with a tap on what it writes.
func dialGorilla(t testing.TB, e *reactor.Engine, writeBuffer int) (*gorilla.Conn, *frameTap, error) {
	var tap *frameTap
	d := gorilla.Dialer{
		HandshakeTimeout: ioTimeout,
		ReadBufferSize:   64 << 10,
		WriteBufferSize:  writeBuffer,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tap = &frameTap{Conn: nc}
			return tap, nil
		},
	}
	c, resp, err := d.Dial(wsURL(e, reactor.EchoPath), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("gorilla dial: %w", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, nil, fmt.Errorf("gorilla dial: status %d", resp.StatusCode)
	}
	tap.take() // the handshake request
	return c, tap, nil
}

// gorillaEcho sends one message and checks its echo and how many frames the
// client used for it (0: do not check).
func gorillaEcho(c *gorilla.Conn, tap *frameTap, op ws.OpCode, payload []byte, wantFrames int) error {
	_ = c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := c.WriteMessage(int(op), payload); err != nil {
		return fmt.Errorf("write %v %d B: %w", op, len(payload), err)
	}
	written := tap.take()
	if wantFrames > 0 {
		frames, err := countFrames(written)
		if err != nil || frames != wantFrames {
			return fmt.Errorf("%v %d B went out as %d frames (%v), want %d", op, len(payload), frames, err, wantFrames)
		}
	}
	return gorillaExpect(c, op, payload)
}

func gorillaExpect(c *gorilla.Conn, op ws.OpCode, payload []byte) error {
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	typ, got, err := c.ReadMessage()
	if err != nil {
		return fmt.Errorf("read echo of %v %d B: %w", op, len(payload), err)
	}
	return compareEcho(ws.OpCode(typ), got, op, payload)
}

func compareEcho(gotOp ws.OpCode, got []byte, op ws.OpCode, payload []byte) error {
	if gotOp != op {
		return fmt.Errorf("echo of %v %d B came back as %v", op, len(payload), gotOp)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("echo of %v %d B differs: got %d B, first difference at %d", op, len(payload), len(got), firstDiff(got, payload))
	}
	return nil
}

// gorillaClose runs the closing handshake from the client side and checks
// the server answers 1000.
func gorillaClose(c *gorilla.Conn) error {
	msg := gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, "bye")
	if err := c.WriteControl(gorilla.CloseMessage, msg, time.Now().Add(ioTimeout)); err != nil {
		return fmt.Errorf("write close: %w", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	_, _, err := c.ReadMessage()
	var ce *gorilla.CloseError
	if !errors.As(err, &ce) || ce.Code != gorilla.CloseNormalClosure {
		return fmt.Errorf("after close 1000, read returned %v, want close 1000", err)
	}
	return nil
}

func TestEchoGorilla(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})
	for _, mode := range []struct {
		name        string
		writeBuffer int
		frames      func(n int) int
	}{
		{"Whole", 1 << 20, func(int) int { return 1 }},
		{"Fragmented", gorillaFragment, func(n int) int { return max(1, (n+gorillaFragment-1)/gorillaFragment) }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			c, tap, err := dialGorilla(t, e, mode.writeBuffer)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
				for _, n := range echoSizes {
					if err := gorillaEcho(c, tap, op, payloadFor(op, n), mode.frames(n)); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := gorillaClose(c); err != nil {
				t.Fatal(err)
			}
		})
	}
}
