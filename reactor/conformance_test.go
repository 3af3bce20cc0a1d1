package reactor_test

// Our own checks of the categories Autobahn|Testsuite's fuzzing client
// covers (framing, ping/pong, reserved bits, opcodes, fragmentation, UTF-8,
// close handling, limits, large messages) plus the opening handshake, all
// over real sockets with the byte-level rawClient. Every failure case
// asserts the exact close code or HTTP status the server sends.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/wsproto"
)

// Close codes the server fails a connection with.
const (
	closeProtocol   = ws.StatusProtocolError           // 1002
	closeBadPayload = ws.StatusInvalidFramePayloadData // 1007
	closeTooBig     = ws.StatusMessageTooBig           // 1009
)

// withRsv sets reserved bits (0x70 mask of the first byte) on a frame.
func withRsv(frame []byte, rsv byte) []byte {
	frame[0] |= rsv << 4
	return frame
}

func TestConformanceFraming(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})

	t.Run("PayloadLengths", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
			for _, n := range []int{0, 1, 125, 126, 127, 128, 65535, 65536, 65537} {
				payload := payloadFor(op, n)
				c.send(op, true, payload)
				c.expectMessage(op, payload)
			}
		}
		c.closeHandshake()
	})

	t.Run("SplitByteByByte", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		// One frame per length encoding, and a control frame between them:
		// every header byte, mask byte and payload byte arrives on its own.
		text16 := textPayload(300)
		binary7 := binaryPayload(100, 1)
		ping := []byte("split ping")
		var wire []byte
		wire = append(wire, c.frame(ws.OpText, true, nil)...)
		wire = append(wire, c.frame(ws.OpBinary, true, binary7)...)
		wire = append(wire, c.frame(ws.OpPing, true, ping)...)
		wire = append(wire, c.frame(ws.OpText, true, text16)...)
		c.writeSplit(wire, 1)
		c.expectMessage(ws.OpText, nil)
		c.expectMessage(ws.OpBinary, binary7)
		c.expectMessage(ws.OpPong, ping)
		c.expectMessage(ws.OpText, text16)

		// The 64-bit length encoding: header and mask one byte per write,
		// the payload in uneven pieces.
		binary64 := binaryPayload(70000, 2)
		frame := c.frame(ws.OpBinary, true, binary64)
		c.writeSplit(frame[:14], 1)
		c.writeSplit(frame[14:], 1, 2, 3, 5, 7, 11, 4093, 13)
		c.expectMessage(ws.OpBinary, binary64)
		c.closeHandshake()
	})

	t.Run("RandomSplits", func(t *testing.T) {
		t.Parallel()
		for seed := range uint64(5) {
			c := dialWS(t, e, reactor.EchoPath)
			rng := rand.New(rand.NewPCG(seed, 99))
			var wire []byte
			var want []wsproto.Message
			for i := range 40 {
				switch i % 5 {
				case 4:
					p := binaryPayload(rng.IntN(126), seed)
					wire = append(wire, c.frame(ws.OpPing, true, p)...)
					want = append(want, wsproto.Message{Op: ws.OpPong, Payload: p})
				default:
					op := opFor(i)
					p := payloadFor(op, []int{0, 5, 125, 126, 1000, 65536}[rng.IntN(6)])
					wire = append(wire, c.frame(op, true, p)...)
					want = append(want, wsproto.Message{Op: op, Payload: p})
				}
			}
			for len(wire) > 0 {
				n := min(len(wire), 1+rng.IntN(3000))
				c.write(wire[:n])
				wire = wire[n:]
			}
			for _, m := range want {
				c.expectMessage(m.Op, m.Payload)
			}
			c.closeHandshake()
		}
	})

	t.Run("ManyFramesInOneWrite", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		var wire []byte
		var want []wsproto.Message
		for i := range 500 {
			if i%7 == 3 {
				p := []byte(fmt.Sprintf("ping %d", i))
				wire = append(wire, c.frame(ws.OpPing, true, p)...)
				want = append(want, wsproto.Message{Op: ws.OpPong, Payload: p})
				continue
			}
			op := opFor(i)
			p := payloadFor(op, i%300)
			wire = append(wire, c.frame(op, true, p)...)
			want = append(want, wsproto.Message{Op: op, Payload: p})
		}
		c.write(wire)
		for _, m := range want {
			c.expectMessage(m.Op, m.Payload)
		}
		c.closeHandshake()
	})

	t.Run("LengthMostSignificantBitSet", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		// §5.2: "the most significant bit MUST be 0".
		hdr := []byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}
		c.write(hdr)
		c.expectClose(closeProtocol)
	})

	t.Run("DeclaredLengthBeyondLimit", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		// A 1 TiB frame is refused from its header alone.
		hdr := binary.BigEndian.AppendUint64([]byte{0x82, 0x80 | 127}, 1<<40)
		c.write(append(hdr, 1, 2, 3, 4))
		c.expectClose(closeTooBig)
	})
}

func TestConformancePingPong(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})

	for _, n := range []int{0, 1, 125} {
		t.Run(fmt.Sprintf("Ping%d", n), func(t *testing.T) {
			t.Parallel()
			c := dialWS(t, e, reactor.EchoPath)
			p := binaryPayload(n, 7)
			c.send(ws.OpPing, true, p)
			c.expectMessage(ws.OpPong, p)
			// The same ping split byte by byte (a control frame spanning reads).
			c.writeSplit(c.frame(ws.OpPing, true, p), 1)
			c.expectMessage(ws.OpPong, p)
			c.closeHandshake()
		})
	}

	t.Run("Ping126", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		// §5.5: "All control frames MUST have a payload length of 125 bytes or less".
		c.send(ws.OpPing, true, binaryPayload(126, 7))
		c.expectClose(closeProtocol)
	})

	t.Run("UnsolicitedPongIgnored", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		c.send(ws.OpPong, true, nil)
		c.send(ws.OpPong, true, binaryPayload(125, 8))
		c.send(ws.OpText, true, []byte("after pongs"))
		c.expectMessage(ws.OpText, []byte("after pongs"))
		c.closeHandshake()
	})

	t.Run("ManyPings", func(t *testing.T) {
		t.Parallel()
		c := dialWS(t, e, reactor.EchoPath)
		var wire []byte
		for i := range 20 {
			wire = append(wire, c.frame(ws.OpPing, true, []byte(fmt.Sprint(i)))...)
		}
		c.write(wire)
		for i := range 20 {
			c.expectMessage(ws.OpPong, []byte(fmt.Sprint(i)))
		}
		c.closeHandshake()
	})
}

func TestConformanceReservedBits(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})
	for rsv := byte(1); rsv <= 7; rsv++ {
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary, ws.OpPing, ws.OpClose} {
			t.Run(fmt.Sprintf("Rsv%d/%v", rsv, op), func(t *testing.T) {
				t.Parallel()
				c := dialWS(t, e, reactor.EchoPath)
				// A valid message first: it is echoed, then the bad frame
				// fails the connection and the ping after it goes unanswered.
				var wire []byte
				wire = append(wire, c.frame(ws.OpText, true, []byte("before"))...)
				payload := []byte("rsv")
				if op == ws.OpClose {
					payload = closePayload(ws.StatusNormalClosure, "")
				}
				wire = append(wire, withRsv(c.frame(op, true, payload), rsv)...)
				wire = append(wire, c.frame(ws.OpPing, true, []byte("after"))...)
				c.write(wire)
				c.expectMessage(ws.OpText, []byte("before"))
				c.expectClose(closeProtocol)
			})
		}
	}
}

func TestConformanceReservedOpcodes(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})
	for _, op := range []ws.OpCode{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		t.Run(fmt.Sprintf("Op%X", byte(op)), func(t *testing.T) {
			t.Parallel()
			c := dialWS(t, e, reactor.EchoPath)
			var wire []byte
			wire = append(wire, c.frame(ws.OpText, true, []byte("before"))...)
			wire = append(wire, c.frame(op, true, []byte("reserved"))...)
			wire = append(wire, c.frame(ws.OpPing, true, []byte("after"))...)
			c.write(wire)
			c.expectMessage(ws.OpText, []byte("before"))
			c.expectClose(closeProtocol)
		})
	}
}

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

func TestConformanceUnmasked(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})
	for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary, ws.OpPing, ws.OpClose} {
		t.Run(fmt.Sprintf("Op%X", byte(op)), func(t *testing.T) {
			t.Parallel()
			c := dialWS(t, e, reactor.EchoPath)
			payload := []byte("unmasked")
			if op == ws.OpClose {
				payload = closePayload(ws.StatusNormalClosure, "")
			}
			// §5.1: "The server MUST close the connection upon receiving a
			// frame that is not masked."
			c.write(wsproto.AppendFrame(nil, op, true, payload))
			c.expectClose(closeProtocol)
		})
	}
}

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
	// needs this client to read, so the wait ends by the deadline there.
	deadline := time.Now().Add(time.Second)
	for e.Stats().Connections > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	c.expectMessage(ws.OpBinary, payload)
	c.expectCloseFrame(ws.StatusNormalClosure)
	c.expectEOF()
}

func TestHandshakeRejections(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})
	key := newKey()
	valid := upgradeRequest(reactor.EchoPath, key)
	without := func(header string) string {
		var kept []string
		for line := range strings.SplitSeq(valid, "\r\n") {
			if !strings.HasPrefix(line, header+":") {
				kept = append(kept, line)
			}
		}
		return strings.Join(kept, "\r\n")
	}
	with := func(header string) string { return strings.Replace(valid, "\r\n\r\n", "\r\n"+header+"\r\n\r\n", 1) }
	replace := func(old, new string) string { return strings.Replace(valid, old, new, 1) }

	for _, tc := range []struct {
		name    string
		request string
		status  int
		header  [2]string // a header the response must carry
	}{
		{"MethodPOST", replace("GET ", "POST "), http.StatusMethodNotAllowed, [2]string{"Allow", "GET"}},
		{"HTTP10", replace("HTTP/1.1", "HTTP/1.0"), http.StatusHTTPVersionNotSupported, [2]string{}},
		{"MissingHost", without("Host"), http.StatusBadRequest, [2]string{}},
		{"EmptyHost", replace("Host: 127.0.0.1", "Host:"), http.StatusBadRequest, [2]string{}},
		{"DuplicateHost", with("Host: other"), http.StatusBadRequest, [2]string{}},
		{"MissingUpgrade", without("Upgrade"), http.StatusBadRequest, [2]string{}},
		{"MissingConnection", without("Connection"), http.StatusBadRequest, [2]string{}},
		{"MissingKey", without("Sec-WebSocket-Key"), http.StatusBadRequest, [2]string{}},
		{"ShortKey", replace(key, "c2hvcnQ="), http.StatusBadRequest, [2]string{}},
		{"Key17Bytes", replace(key, "AAAAAAAAAAAAAAAAAAAAAAA="), http.StatusBadRequest, [2]string{}},
		{"DuplicateKey", with("Sec-WebSocket-Key: " + newKey()), http.StatusBadRequest, [2]string{}},
		{"Version8", replace("Version: 13", "Version: 8"), http.StatusUpgradeRequired, [2]string{"Sec-WebSocket-Version", "13"}},
		{"MissingVersion", without("Sec-WebSocket-Version"), http.StatusUpgradeRequired, [2]string{"Sec-WebSocket-Version", "13"}},
		{"UnknownPath", replace("/echo", "/nope"), http.StatusNotFound, [2]string{}},
		{"EchoPrefix", replace("/echo", "/echox"), http.StatusNotFound, [2]string{}},
		{"EchoSubpath", replace("/echo", "/echo/"), http.StatusNotFound, [2]string{}},
		{"MalformedRequestLine", "garbage\r\n\r\n", http.StatusBadRequest, [2]string{}},
		{"MalformedHeader", with("No colon here"), http.StatusBadRequest, [2]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, e)
			c.write([]byte(tc.request))
			resp, _ := c.expectRejection(tc.status)
			if !resp.Close { // net/http turns "Connection: close" into Close
				t.Errorf("response does not carry Connection: close")
			}
			if name := tc.header[0]; name != "" {
				if got := resp.Header.Get(name); got != tc.header[1] {
					t.Errorf("%s = %q, want %q", name, got, tc.header[1])
				}
			}
		})
	}

	t.Run("HeaderTooLarge", func(t *testing.T) {
		t.Parallel()
		const limit = 512
		small := startEcho(t, reactor.Config{Limits: wsproto.Limits{MaxHeaderBytes: limit}})
		fits := upgradeRequest(reactor.EchoPath, key)
		pad := limit - len(fits) - len("X-Pad: \r\n")
		atLimit := strings.Replace(fits, "\r\n\r\n", "\r\nX-Pad: "+strings.Repeat("p", pad)+"\r\n\r\n", 1)
		if len(atLimit) != limit {
			t.Fatalf("request is %d bytes, want %d", len(atLimit), limit)
		}
		ok := dialRaw(t, small)
		ok.write([]byte(atLimit))
		ok.expectUpgrade(key)
		ok.closeHandshake()

		overLimit := strings.Replace(atLimit, "X-Pad: ", "X-Pad: p", 1)
		big := dialRaw(t, small)
		big.write([]byte(overLimit))
		big.expectRejection(http.StatusRequestHeaderFieldsTooLarge)

		// Without a blank line, the server gives up once the limit is reached.
		endless := dialRaw(t, small)
		endless.write([]byte("GET /echo HTTP/1.1\r\nX-Pad: " + strings.Repeat("p", 2*limit)))
		endless.expectRejection(http.StatusRequestHeaderFieldsTooLarge)
	})
}

func TestHandshakeAccepted(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})

	t.Run("RFCSampleKey", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		// The worked example of RFC 6455 §1.3.
		c.write([]byte(upgradeRequest(reactor.EchoPath, "dGhlIHNhbXBsZSBub25jZQ==")))
		resp, err := c.readResponseHead()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d, want 101", resp.StatusCode)
		}
		if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("Sec-WebSocket-Accept = %q, want s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", got)
		}
		c.closeHandshake()
	})

	t.Run("OneBytePerWrite", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		key := newKey()
		c.writeSplit([]byte(upgradeRequest(reactor.EchoPath, key)), 1)
		c.expectUpgrade(key)
		c.send(ws.OpText, true, []byte("after a slow handshake"))
		c.expectMessage(ws.OpText, []byte("after a slow handshake"))
		c.closeHandshake()
	})

	t.Run("FirstFrameInSameWrite", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		key := newKey()
		wire := []byte(upgradeRequest(reactor.EchoPath, key))
		wire = append(wire, c.frame(ws.OpText, true, []byte("pipelined"))...)
		c.write(wire)
		c.expectUpgrade(key)
		c.expectMessage(ws.OpText, []byte("pipelined"))
		c.closeHandshake()
	})

	t.Run("WholeSessionInOneWrite", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		key := newKey()
		wire := []byte(upgradeRequest(reactor.EchoPath, key))
		wire = append(wire, c.frame(ws.OpBinary, true, binaryPayload(70000, 1))...)
		wire = append(wire, c.frame(ws.OpPing, true, []byte("p"))...)
		wire = append(wire, c.frame(ws.OpClose, true, closePayload(ws.StatusNormalClosure, ""))...)
		c.write(wire)
		c.expectUpgrade(key)
		c.expectMessage(ws.OpBinary, binaryPayload(70000, 1))
		c.expectMessage(ws.OpPong, []byte("p"))
		c.expectCloseFrame(ws.StatusNormalClosure)
		c.expectEOF()
	})

	t.Run("BadFrameInSameWrite", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		key := newKey()
		wire := []byte(upgradeRequest(reactor.EchoPath, key))
		wire = append(wire, wsproto.AppendFrame(nil, ws.OpText, true, []byte("unmasked"))...)
		c.write(wire)
		c.expectUpgrade(key)
		c.expectClose(closeProtocol)
	})

	t.Run("QueryAndCaseInsensitiveHeaders", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		key := newKey()
		req := "GET /echo?token=abc HTTP/1.1\r\n" +
			"host: 127.0.0.1\r\n" +
			"upgrade: WebSocket\r\n" +
			"connection: keep-alive, Upgrade\r\n" +
			"sec-websocket-key: " + key + "\r\n" +
			"sec-websocket-version: 13\r\n\r\n"
		c.write([]byte(req))
		c.expectUpgrade(key)
		c.closeHandshake()
	})
}
