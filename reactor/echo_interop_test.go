package reactor_test

// /echo against real clients: raw fragments in random cuts, many messages
// pipelined, gorilla and coder clients at once, and Python's websockets in
// a separate process. Each library's own whole-and-fragmented runs are in
// interop_gorilla_test.go and interop_coder_test.go.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/reactor"
)

// echoSizes are the payload length boundaries of RFC 6455 §5.2 (7-bit,
// 16-bit and 64-bit encodings) up to the default message limit, 1 MiB,
// which must still be echoed.
var echoSizes = []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20}

// payloadFor returns a message of n bytes for a text or binary opcode.
func payloadFor(op ws.OpCode, n int) []byte {
	if op == ws.OpText {
		return textPayload(n)
	}
	return binaryPayload(n, uint64(op))
}

// gorillaFragment is the write buffer of the fragmenting gorilla client:
// NextWriter sends a frame each time the buffer fills, so a message of n
// bytes goes out as ceil(n/gorillaFragment) frames.
const gorillaFragment = 100

// coderChunk is the fragment size of the fragmenting coder client: each
// Write on its message writer is one frame, and Close adds an empty final
// frame.
const coderChunk = 1000

// TestEchoRawFragments sends every size as explicit fragments cut at random
// points (empty fragments and text cut inside code points included), both in
// one write and one write per fragment; the echo is one whole message.
func TestEchoRawFragments(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	for _, oneWrite := range []bool{true, false} {
		c := dialWS(t, e, reactor.EchoPath)
		for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
			for _, n := range echoSizes {
				payload := payloadFor(op, n)
				frags := randomFragments(rng, payload)
				var wire []byte
				for i, frag := range frags {
					frameOp := op
					if i > 0 {
						frameOp = ws.OpContinuation
					}
					wire = append(wire, c.frame(frameOp, i == len(frags)-1, frag)...)
				}
				if oneWrite {
					c.write(wire)
				} else {
					writeFrames(c, wire)
				}
				c.expectMessage(op, payload)
			}
		}
		c.closeHandshake()
	}
}

// randomFragments cuts p at 1 to 7 random points, allowing empty pieces.
func randomFragments(rng *rand.Rand, p []byte) [][]byte {
	cuts := make([]int, 1+rng.IntN(7))
	for i := range cuts {
		cuts[i] = rng.IntN(len(p) + 1)
	}
	slices.Sort(cuts)
	var frags [][]byte
	prev := 0
	for _, cut := range cuts {
		frags = append(frags, p[prev:cut])
		prev = cut
	}
	return append(frags, p[prev:])
}

// writeFrames sends a stream of client frames one frame per write.
func writeFrames(c *rawClient, wire []byte) {
	c.t.Helper()
	for len(wire) > 0 {
		n, err := frameSize(wire)
		if err != nil {
			c.t.Fatal(err)
		}
		c.write(wire[:n])
		wire = wire[n:]
	}
}

// TestEchoManyInARow pipelines messages without waiting for echoes: a
// writer sends while the reader checks each echo in order.
func TestEchoManyInARow(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})
	c, _, err := dialGorilla(t, e, 4096)
	if err != nil {
		t.Fatal(err)
	}
	const count = 1000
	messages := make([][]byte, count)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range messages {
		messages[i] = payloadFor(opFor(i), rng.IntN(3000))
	}
	writeErr := make(chan error, 1)
	go func() {
		for i, m := range messages {
			if err := c.WriteMessage(int(opFor(i)), m); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()
	for i, m := range messages {
		if err := gorillaExpect(c, opFor(i), m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if err := gorillaClose(c); err != nil {
		t.Fatal(err)
	}
}

func opFor(i int) ws.OpCode {
	if i%2 == 0 {
		return ws.OpText
	}
	return ws.OpBinary
}

// TestEchoConcurrentClients runs gorilla and coder clients at once, each
// with its own mix of sizes, whole and fragmented.
func TestEchoConcurrentClients(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})
	const clients, messages = 8, 60
	var wg sync.WaitGroup
	for id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := concurrentClient(t, e, id, messages); err != nil {
				t.Errorf("client %d: %v", id, err)
			}
		}()
	}
	wg.Wait()
	testkit.Eventually(t, ioTimeout, "all connections to close", func() bool { return e.Stats().Connections == 0 })
	if got := e.Stats().Handshakes; got != clients {
		t.Errorf("Stats().Handshakes = %d, want %d", got, clients)
	}
}

func concurrentClient(t *testing.T, e *reactor.Engine, id, messages int) error {
	rng := rand.New(rand.NewPCG(uint64(id), 5))
	size := func() int {
		if rng.IntN(10) == 0 {
			return 65536 + rng.IntN(65536)
		}
		return rng.IntN(2048)
	}
	switch id % 4 {
	case 0, 1: // gorilla, whole or fragmented
		c, tap, err := dialGorilla(t, e, []int{1 << 18, gorillaFragment}[id%2])
		if err != nil {
			return err
		}
		for i := range messages {
			if err := gorillaEcho(c, tap, opFor(i), payloadFor(opFor(i), size()), 0); err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
		}
		err = gorillaClose(c)
		_ = c.Close()
		return err
	default: // coder, whole or fragmented
		c, tap, err := dialCoder(t, e)
		if err != nil {
			return err
		}
		for i := range messages {
			if err := coderEcho(c, tap, opFor(i), payloadFor(opFor(i), size()), id%2 == 1, 0); err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
		}
		return c.Close(coder.StatusNormalClosure, "")
	}
}

// pythonWithWebsockets is Debian's interpreter, which has python3-websockets
// (the python3 first on PATH may be another build without it).
const pythonWithWebsockets = "/usr/bin/python3"

// TestEchoPythonWebsockets runs testdata/echo_client.py, an independent
// client implementation in another process, against /echo.
func TestEchoPythonWebsockets(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(pythonWithWebsockets); err != nil {
		testkit.SkipMissing(t, "%s is missing: %v", pythonWithWebsockets, err)
	}
	if out, err := exec.Command(pythonWithWebsockets, "-c", "import websockets").CombinedOutput(); err != nil {
		testkit.SkipMissing(t, "python3-websockets is not installed for %s: %v: %s", pythonWithWebsockets, err, out)
	}
	e := startEcho(t, reactor.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonWithWebsockets, "testdata/echo_client.py", wsURL(e, reactor.EchoPath))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("echo_client.py: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	// 8 sizes x 2 opcodes x whole and fragmented, then a burst of 200.
	want := "ok 232 messages\nclose 1000\n"
	if got := stdout.String(); got != want {
		t.Fatalf("echo_client.py printed %q, want %q (stderr: %s)", got, want, strings.TrimSpace(stderr.String()))
	}
	testkit.Eventually(t, ioTimeout, "the python client's connection to close", func() bool { return e.Stats().Connections == 0 })
	if got := e.Stats().Handshakes; got != 1 {
		t.Errorf("Stats().Handshakes = %d, want 1", got)
	}
}
