package reactor_test

// Frame and message size limits, and messages right up to them.

import (
	"testing"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/wsproto"
)

func TestConformanceLimits(t *testing.T) {
	t.Parallel()
	const frameLimit, messageLimit = 1000, 4000
	e := startEcho(t, reactor.Config{Limits: wsproto.Limits{MaxFrameSize: frameLimit, MaxMessageSize: messageLimit}})

	t.Run("FrameAtLimit", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		p := binaryPayload(frameLimit, 1)
		c.send(ws.OpBinary, true, p)
		c.expectMessage(ws.OpBinary, p)
		c.closeHandshake()
	})

	t.Run("FrameOverLimit", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		frame := c.frame(ws.OpBinary, true, binaryPayload(frameLimit+1, 1))
		// The header is enough to refuse it: the payload is never sent.
		c.write(frame[:8])
		c.expectClose(closeTooBig)
	})

	t.Run("TextFrameOverLimit", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.send(ws.OpText, true, textPayload(frameLimit+1))
		c.expectClose(closeTooBig)
	})

	t.Run("FragmentedMessageAtLimit", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		p := textPayload(messageLimit)
		var wire []byte
		for i := 0; i < messageLimit; i += frameLimit {
			op := ws.OpContinuation
			if i == 0 {
				op = ws.OpText
			}
			wire = append(wire, c.frame(op, i+frameLimit == messageLimit, p[i:i+frameLimit])...)
		}
		c.write(wire)
		c.expectMessage(ws.OpText, p)
		c.closeHandshake()
	})

	t.Run("FragmentedMessageOverLimit", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		p := binaryPayload(messageLimit, 2)
		var wire []byte
		for i := 0; i < messageLimit; i += frameLimit {
			op := ws.OpContinuation
			if i == 0 {
				op = ws.OpBinary
			}
			wire = append(wire, c.frame(op, false, p[i:i+frameLimit])...)
		}
		// One more byte, in a frame whose payload is never sent.
		wire = append(wire, c.frame(ws.OpContinuation, true, []byte{1})[:6]...)
		c.write(wire)
		c.expectClose(closeTooBig)
	})

	t.Run("ControlFramesDoNotCount", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		p := binaryPayload(messageLimit, 3)
		var wire []byte
		for i := 0; i < messageLimit; i += frameLimit {
			op := ws.OpContinuation
			if i == 0 {
				op = ws.OpBinary
			}
			wire = append(wire, c.frame(op, false, p[i:i+frameLimit])...)
			wire = append(wire, c.frame(ws.OpPing, true, binaryPayload(125, uint64(i)))...)
		}
		wire = append(wire, c.frame(ws.OpContinuation, true, nil)...)
		c.write(wire)
		for i := 0; i < messageLimit; i += frameLimit {
			c.expectMessage(ws.OpPong, binaryPayload(125, uint64(i)))
		}
		c.expectMessage(ws.OpBinary, p)
		c.closeHandshake()
	})
}

func TestConformanceLargeMessages(t *testing.T) {
	t.Parallel()

	t.Run("DefaultLimit", func(t *testing.T) {
		t.Parallel()
		e := startEcho(t, reactor.Config{})
		c := dialWS(t, e, reactor.EchoPath)
		const limit = wsproto.DefaultMaxMessageSize
		text := textPayload(limit)
		c.send(ws.OpText, true, text)
		c.expectMessage(ws.OpText, text)

		bin := binaryPayload(limit, 4)
		var wire []byte
		for i := 0; i < limit; i += 64 << 10 {
			op := ws.OpContinuation
			if i == 0 {
				op = ws.OpBinary
			}
			wire = append(wire, c.frame(op, i+64<<10 == limit, bin[i:i+64<<10])...)
		}
		c.write(wire)
		c.expectMessage(ws.OpBinary, bin)
		c.closeHandshake()

		over := dialWS(t, e, reactor.EchoPath)
		over.write(over.frame(ws.OpBinary, true, binaryPayload(limit+1, 5))[:14])
		over.expectClose(closeTooBig)

		overFragmented := dialWS(t, e, reactor.EchoPath)
		wire = overFragmented.frame(ws.OpBinary, false, bin)
		wire = append(wire, overFragmented.frame(ws.OpContinuation, true, []byte{0})...)
		overFragmented.write(wire)
		overFragmented.expectClose(closeTooBig)
	})

	t.Run("RaisedLimit8MiB", func(t *testing.T) {
		t.Parallel()
		const size = 8 << 20
		limits := wsproto.Limits{MaxFrameSize: size, MaxMessageSize: size}
		e := startEcho(t, reactor.Config{Limits: limits})
		c := dialRawLimits(t, e, &limits)
		c.handshake(reactor.EchoPath)

		bin := binaryPayload(size, 6)
		c.send(ws.OpBinary, true, bin)
		c.expectMessage(ws.OpBinary, bin)

		text := textPayload(size)
		var wire []byte
		for i := 0; i < size; i += 1 << 20 {
			op := ws.OpContinuation
			if i == 0 {
				op = ws.OpText
			}
			wire = append(wire, c.frame(op, i+1<<20 == size, text[i:i+1<<20])...)
		}
		c.write(wire)
		c.expectMessage(ws.OpText, text)
		c.closeHandshake()
	})
}
