package reactor_test

// Our own checks of the categories Autobahn|Testsuite's fuzzing client
// covers, over real sockets with the byte-level rawClient, one file per
// group: framing, ping/pong, reserved bits and opcodes, unmasked frames
// (here); fragmentation and UTF-8 (conformance_fragments_test.go); close
// handling (conformance_close_test.go); limits and large messages
// (conformance_limits_test.go); the opening handshake (handshake_test.go).
// Every failure case asserts the exact close code or HTTP status the
// server sends.

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

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
