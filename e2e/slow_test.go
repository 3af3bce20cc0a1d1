package e2e

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/internal/testkit"
)

// rssBytes reads a process's resident set size from /proc.
func rssBytes(t testing.TB, pid int) int64 {
	t.Helper()
	s, err := bench.SampleProc(pid)
	if err != nil {
		t.Fatal(err)
	}
	return s.RSS
}

// A subscriber that stops reading, while others keep reading 64 MB of
// publications: the others get everything, the slow one has messages
// dropped, and the server's memory does not grow by what the slow one
// failed to read.
func TestSlowConsumerDoesNotGrowServerMemory(t *testing.T) {
	const (
		msgs     = 4000
		size     = 16 << 10
		capBytes = 256 << 10
		bound    = 24 << 20 // an unbounded queue would hold ~58 MB more
	)
	n := startNode(t, "--slow-policy", "drop", "--max-outbound-bytes", strconv.Itoa(capBytes))
	p := subscribers(t, 10, msgs, 2*time.Minute, n.url("/ws?channels=firehose"))

	slow, err := net.Dial("tcp", n.ws)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	_ = slow.(*net.TCPConn).SetReadBuffer(4096)
	io.WriteString(slow, "GET /ws?channels=firehose HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	testkit.Eventually(t, 5*time.Second, "11 subscriptions", func() bool {
		return n.stats(t)["stats"].(map[string]any)["subscriptions"] == float64(11)
	})

	before := rssBytes(t, n.cmd.Process.Pid)
	peak := before
	pad := strings.Repeat("x", size)
	tick := time.NewTicker(time.Millisecond) // ~16 MB/s to each reader, which keeps up
	defer tick.Stop()
	for i := range msgs {
		<-tick.C
		n.publish(t, "firehose", fmt.Sprintf("A:%d:%s", i, pad))
		if i%200 == 0 {
			peak = max(peak, rssBytes(t, n.cmd.Process.Pid))
		}
	}
	s := p.summary(t, 2*time.Minute)
	peak = max(peak, rssBytes(t, n.cmd.Process.Pid))
	if s["messages"] != float64(10*msgs) {
		t.Fatalf("readers got %v messages, want %d", s["messages"], 10*msgs)
	}
	stats := n.stats(t)["stats"].(map[string]any)
	t.Logf("RSS before %d MiB, peak %d MiB; drops %v", before>>20, peak>>20, stats["drops"])
	if stats["drops"].(float64) == 0 {
		t.Fatal("the slow subscriber lost nothing: the test did not make it slow")
	}
	if peak-before > bound {
		t.Fatalf("server RSS grew by %d MiB with a slow subscriber (cap %d KiB), bound %d MiB", (peak-before)>>20, capBytes>>10, bound>>20)
	}
}
