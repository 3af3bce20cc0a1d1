package reactor_test

// Echo interop with coder/websocket, whole and fragmented.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/reactor"
)

// dialCoder connects a coder/websocket client and returns it with a tap on
// what it writes.
func dialCoder(t testing.TB, e *reactor.Engine) (*coder.Conn, *frameTap, error) {
	var tap *frameTap
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tap = &frameTap{Conn: nc}
			return tap, nil
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, resp, err := coder.Dial(ctx, wsURL(e, reactor.EchoPath), &coder.DialOptions{
		HTTPClient: &http.Client{Transport: tr},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("coder dial: %w", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, nil, fmt.Errorf("coder dial: status %d", resp.StatusCode)
	}
	c.SetReadLimit(2 << 20)
	tap.take()
	return c, tap, nil
}

func coderType(op ws.OpCode) coder.MessageType {
	if op == ws.OpText {
		return coder.MessageText
	}
	return coder.MessageBinary
}

// coderEcho sends one message, whole or in coderChunk fragments, and checks
// the echo and the number of frames the client used (0: do not check).
func coderEcho(c *coder.Conn, tap *frameTap, op ws.OpCode, payload []byte, fragmented bool, wantFrames int) error {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if !fragmented {
		if err := c.Write(ctx, coderType(op), payload); err != nil {
			return fmt.Errorf("write %v %d B: %w", op, len(payload), err)
		}
	} else {
		w, err := c.Writer(ctx, coderType(op))
		if err != nil {
			return fmt.Errorf("writer: %w", err)
		}
		for p := payload; len(p) > 0; {
			n := min(coderChunk, len(p))
			if _, err := w.Write(p[:n]); err != nil {
				return fmt.Errorf("write fragment: %w", err)
			}
			p = p[n:]
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("close writer: %w", err)
		}
	}
	written := tap.take()
	if wantFrames > 0 {
		frames, err := countFrames(written)
		if err != nil || frames != wantFrames {
			return fmt.Errorf("%v %d B went out as %d frames (%v), want %d", op, len(payload), frames, err, wantFrames)
		}
	}
	typ, got, err := c.Read(ctx)
	if err != nil {
		return fmt.Errorf("read echo of %v %d B: %w", op, len(payload), err)
	}
	gotOp := ws.OpBinary
	if typ == coder.MessageText {
		gotOp = ws.OpText
	}
	return compareEcho(gotOp, got, op, payload)
}

func TestEchoCoder(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})
	for _, mode := range []struct {
		name       string
		fragmented bool
		frames     func(n int) int
	}{
		{"Whole", false, func(int) int { return 1 }},
		{"Fragmented", true, func(n int) int { return (n+coderChunk-1)/coderChunk + 1 }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			c, tap, err := dialCoder(t, e)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
				for _, n := range echoSizes {
					if err := coderEcho(c, tap, op, payloadFor(op, n), mode.fragmented, mode.frames(n)); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := c.Close(coder.StatusNormalClosure, "bye"); err != nil {
				t.Fatalf("close handshake: %v", err)
			}
		})
	}
}
