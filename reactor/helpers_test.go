package reactor_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	mathrand "math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/reactor"
)

// ioTimeout bounds every blocking read or write of a test client, so a
// server that never answers fails the test instead of hanging it.
const ioTimeout = 15 * time.Second

// startEcho starts an engine for the /echo conformance and interop tests:
// they test the protocol, not the rate limits, and send faster than a
// client of a real node may, so the per-connection rates are off.
func startEcho(t testing.TB, cfg reactor.Config) *reactor.Engine {
	cfg.MessageRate, cfg.ByteRate = -1, -1
	return gatewaytest.Start(t, cfg)
}

// wsURL is the ws:// URL of path on e.
func wsURL(e *reactor.Engine, path string) string {
	return "ws://" + e.Addr().String() + path
}

// textPayload returns exactly n bytes of valid UTF-8 mixing 1- to 4-byte
// code points, so text echoes cross rune boundaries at every frame split.
func textPayload(n int) []byte {
	b := bytes.Repeat(textBlock, n/len(textBlock)+1)
	cut := n
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut-- // b[cut] continues a code point cut at n
	}
	for i := cut; i < n; i++ {
		b[i] = 'x'
	}
	return b[:n]
}

// textBlock is the repeating unit of textPayload: every UTF-8 length,
// the extremes of each range, and ASCII between them.
var textBlock = []byte("a\u00e9\u20ac\U0001F600Z\u0436 \U0010FFFF\u07FF\uE000\uD7FF\u0800\U00010000 plain ascii text ")

// binaryPayload returns n pseudo-random bytes (deterministic per seed).
func binaryPayload(n int, seed uint64) []byte {
	rng := mathrand.New(mathrand.NewPCG(seed, uint64(n)))
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n:n]
}

// frameTap records the bytes a client library writes, to check how it
// framed a message on the wire.
type frameTap struct {
	net.Conn
	mu      sync.Mutex
	written []byte
}

func (c *frameTap) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.written = append(c.written, p...)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// take returns and forgets what was written so far.
func (c *frameTap) take() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.written
	c.written = nil
	return b
}

// countFrames walks a stream of whole client frames (after the handshake)
// and returns how many frames it holds.
func countFrames(stream []byte) (int, error) {
	frames := 0
	for len(stream) > 0 {
		n, err := frameSize(stream)
		if err != nil {
			return frames, err
		}
		stream = stream[n:]
		frames++
	}
	return frames, nil
}

// frameSize returns the length in bytes of the whole frame at the start of
// stream: header, mask key and payload.
func frameSize(stream []byte) (int, error) {
	if len(stream) < 2 {
		return 0, errors.New("truncated frame header")
	}
	n, length := 2, uint64(stream[1]&0x7f)
	switch length {
	case 126:
		if len(stream) < 4 {
			return 0, errors.New("truncated 16-bit length")
		}
		length, n = uint64(binary.BigEndian.Uint16(stream[2:])), 4
	case 127:
		if len(stream) < 10 {
			return 0, errors.New("truncated 64-bit length")
		}
		length, n = binary.BigEndian.Uint64(stream[2:]), 10
	}
	if stream[1]&0x80 != 0 {
		n += 4
	}
	if uint64(len(stream)-n) < length {
		return 0, errors.New("truncated payload")
	}
	return n + int(length), nil
}
