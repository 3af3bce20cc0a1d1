package reactor_test

// Fragmented messages and UTF-8 validation (RFC 6455 §5.4, §8.1).

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/reactor"
)

func TestConformanceFragmentation(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})

	protocolErrors := []struct {
		name   string
		frames func(c *rawClient) []byte
		echo   string // a message echoed before the error, if any
	}{
		{"ContinuationWithoutStart", func(c *rawClient) []byte {
			return c.frame(ws.OpContinuation, true, []byte("orphan"))
		}, ""},
		{"NonFinalContinuationWithoutStart", func(c *rawClient) []byte {
			return c.frame(ws.OpContinuation, false, []byte("orphan"))
		}, ""},
		{"ContinuationAfterFinishedMessage", func(c *rawClient) []byte {
			b := c.frame(ws.OpText, false, []byte("a"))
			b = append(b, c.frame(ws.OpContinuation, true, []byte("b"))...)
			return append(b, c.frame(ws.OpContinuation, true, []byte("c"))...)
		}, "ab"},
		{"TextInsideFragmented", func(c *rawClient) []byte {
			b := c.frame(ws.OpText, false, []byte("start"))
			return append(b, c.frame(ws.OpText, true, []byte("again"))...)
		}, ""},
		{"BinaryInsideFragmented", func(c *rawClient) []byte {
			b := c.frame(ws.OpBinary, false, []byte("start"))
			return append(b, c.frame(ws.OpBinary, false, []byte("again"))...)
		}, ""},
		{"FragmentedPing", func(c *rawClient) []byte {
			b := c.frame(ws.OpPing, false, []byte("pi"))
			return append(b, c.frame(ws.OpContinuation, true, []byte("ng"))...)
		}, ""},
		{"FragmentedPong", func(c *rawClient) []byte {
			return c.frame(ws.OpPong, false, []byte("po"))
		}, ""},
		{"FragmentedClose", func(c *rawClient) []byte {
			return c.frame(ws.OpClose, false, closePayload(ws.StatusNormalClosure, ""))
		}, ""},
		{"FragmentedPingInsideFragmentedText", func(c *rawClient) []byte {
			b := c.frame(ws.OpText, false, []byte("start"))
			return append(b, c.frame(ws.OpPing, false, []byte("ping"))...)
		}, ""},
	}
	for _, tc := range protocolErrors {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialWS(t, e, reactor.EchoPath)
			c.write(tc.frames(c))
			if tc.echo != "" {
				c.expectMessage(ws.OpText, []byte(tc.echo))
			}
			c.expectClose(closeProtocol)
		})
	}

	for _, oneWrite := range []bool{true, false} {
		t.Run(fmt.Sprintf("ControlFramesInterleaved/oneWrite=%v", oneWrite), func(t *testing.T) {
			t.Parallel()
			c := dialWS(t, e, reactor.EchoPath)
			var wire []byte
			wire = append(wire, c.frame(ws.OpText, false, []byte("frag1 "))...)
			wire = append(wire, c.frame(ws.OpPing, true, []byte("p1"))...)
			wire = append(wire, c.frame(ws.OpContinuation, false, []byte("frag2 "))...)
			wire = append(wire, c.frame(ws.OpPong, true, []byte("unsolicited"))...)
			wire = append(wire, c.frame(ws.OpPing, true, nil)...)
			wire = append(wire, c.frame(ws.OpContinuation, false, nil)...)
			wire = append(wire, c.frame(ws.OpPing, true, binaryPayload(125, 3))...)
			wire = append(wire, c.frame(ws.OpContinuation, true, []byte("frag3"))...)
			if oneWrite {
				c.write(wire)
			} else {
				writeFrames(c, wire)
			}
			c.expectMessage(ws.OpPong, []byte("p1"))
			c.expectMessage(ws.OpPong, nil)
			c.expectMessage(ws.OpPong, binaryPayload(125, 3))
			c.expectMessage(ws.OpText, []byte("frag1 frag2 frag3"))
			c.closeHandshake()
		})
	}

	t.Run("EmptyFragments", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		var wire []byte
		wire = append(wire, c.frame(ws.OpBinary, false, nil)...)
		wire = append(wire, c.frame(ws.OpContinuation, false, nil)...)
		wire = append(wire, c.frame(ws.OpContinuation, true, nil)...)
		c.write(wire)
		c.expectMessage(ws.OpBinary, nil)
		c.closeHandshake()
	})

	t.Run("OneFramePerByte", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		payload := textPayload(200)
		var wire []byte
		for i := range payload {
			op := ws.OpContinuation
			if i == 0 {
				op = ws.OpText
			}
			wire = append(wire, c.frame(op, i == len(payload)-1, payload[i:i+1])...)
		}
		c.write(wire)
		c.expectMessage(ws.OpText, payload)
		c.closeHandshake()
	})
}

func TestConformanceUTF8(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})

	valid := [][]byte{
		[]byte("κόσμε"),
		[]byte("\U0001F600 \U0010FFFF \uFFFD \u07FF \u0800 \uD7FF \uE000"),
		[]byte("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80"),
		textPayload(64),
	}
	t.Run("ValidSplitAtEveryByte", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		for _, s := range valid {
			for cut := range len(s) + 1 {
				wire := c.frame(ws.OpText, false, s[:cut])
				wire = append(wire, c.frame(ws.OpContinuation, true, s[cut:])...)
				c.write(wire)
				c.expectMessage(ws.OpText, s)
			}
		}
		c.closeHandshake()
	})

	t.Run("ValidOneBytePerFragment", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		for _, s := range valid {
			var wire []byte
			for i := range s {
				op := ws.OpContinuation
				if i == 0 {
					op = ws.OpText
				}
				wire = append(wire, c.frame(op, i == len(s)-1, s[i:i+1])...)
			}
			writeFrames(c, wire)
			c.expectMessage(ws.OpText, s)
		}
		c.closeHandshake()
	})

	t.Run("InvalidInBinaryIsEchoed", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		p := []byte("\xff\xfe\xc0\x80\xed\xa0\x80")
		c.send(ws.OpBinary, true, p)
		c.expectMessage(ws.OpBinary, p)
		c.closeHandshake()
	})

	invalid := []struct {
		name string
		text string
	}{
		{"Overlong2", "\xc0\x80"},
		{"Overlong3", "\xe0\x80\xaf"},
		{"Overlong4", "\xf0\x80\x80\xaf"},
		{"Surrogate", "\xed\xa0\x80"},
		{"SurrogatePair", "\xed\xa0\x80\xed\xb0\x80"},
		{"AboveMaxCodePoint", "\xf4\x90\x80\x80"},
		{"LeadF5", "\xf5\x80\x80\x80"},
		{"FiveByte", "\xf8\x88\x80\x80\x80"},
		{"ByteFF", "\xff"},
		{"LoneContinuation", "\x80"},
		{"MissingContinuation", "\xe2\x28\xa1"},
		{"TruncatedAtEnd", "hello \xe2\x82"},
		{"AfterValidText", "κόσμε\xed\xa0\x80edited"},
	}
	for _, tc := range invalid {
		t.Run("Invalid"+tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialWS(t, e, reactor.EchoPath)
			c.send(ws.OpText, true, []byte(tc.text))
			c.expectClose(closeBadPayload)
		})
		t.Run("Invalid"+tc.name+"Fragmented", func(t *testing.T) {
			t.Parallel()
			c := dialWS(t, e, reactor.EchoPath)
			var wire []byte
			for i := range len(tc.text) {
				op := ws.OpContinuation
				if i == 0 {
					op = ws.OpText
				}
				wire = append(wire, c.frame(op, false, []byte(tc.text[i:i+1]))...)
			}
			wire = append(wire, c.frame(ws.OpContinuation, true, nil)...)
			c.write(wire)
			c.expectClose(closeBadPayload)
		})
	}

	// §8.1 and Autobahn 6.4: a bad byte fails the connection as soon as it
	// arrives, not when the message ends.
	t.Run("FailFastBeforeFinalFragment", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.send(ws.OpText, false, []byte("κόσμε"))
		c.send(ws.OpContinuation, false, []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"))
		// No final fragment is ever sent.
		c.expectClose(closeBadPayload)
	})

	t.Run("FailFastInsideFrame", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		payload := append([]byte("valid prefix \xc0\xaf"), bytes.Repeat([]byte("x"), 1000)...)
		frame := c.frame(ws.OpText, true, payload)
		// Only the header and the first 20 payload bytes are sent.
		c.write(frame[:4+4+20])
		c.expectClose(closeBadPayload)
	})

	t.Run("TruncatedCodePointAtFinalFragment", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.send(ws.OpText, false, []byte("a\xe2\x82"))
		c.send(ws.OpContinuation, true, nil)
		c.expectClose(closeBadPayload)
	})
}
