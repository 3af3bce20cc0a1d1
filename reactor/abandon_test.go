package reactor

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
)

// A peer that stops reading is given up on twice: closed as a slow
// consumer, then, its closing handshake never done, closed for good after
// CloseTimeout. A plain close(2) then left the socket to the kernel in
// FIN-WAIT-1 with its send buffer full (up to 4 MiB on loopback), retrying
// for minutes toward a window that never opens. The node now resets such a
// socket: the kernel frees it and the peer learns at once.
func TestAbandonedPeerLeavesNoSocketBehind(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		why  func(Stats) bool
	}{
		{"slow consumer", Config{MaxOutboundBytes: 32 << 10, CloseTimeout: 300 * time.Millisecond},
			func(s Stats) bool { return s.SlowConsumerCloses == 1 }},
		{"pong timeout", Config{MaxOutboundBytes: 64 << 20, PingInterval: 300 * time.Millisecond, PongTimeout: 300 * time.Millisecond},
			func(s Stats) bool { return s.PongTimeouts == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := gateway(t, tc.cfg)
			slow := dialSmallWindow(t, e, "/ws?channels=firehose")
			testkit.Eventually(t, waitTimeout, "the subscription", func() bool { return e.Stats().Subscriptions == 1 })
			// Past the kernel's buffers on both sides (the pong-timeout case
			// stays under MaxOutboundBytes: gnet holds the rest).
			payload := []byte(`"` + strings.Repeat("x", 4000) + `"`)
			for range 3000 {
				if err := e.Publish("firehose", payload); err != nil {
					t.Fatal(err)
				}
			}
			testkit.Eventually(t, 10*time.Second, "the close", func() bool { return tc.why(e.Stats()) })
			testkit.Eventually(t, 10*time.Second, "the socket to be closed", func() bool { return e.Stats().Connections == 0 })
			server := e.Addr().(*net.TCPAddr).Port
			client := slow.NetConn().LocalAddr().(*net.TCPAddr).Port
			if s, ok := tcpSocket(t, server, client); ok {
				t.Fatalf("the node's side of the abandoned connection is still there: state %s, %d bytes unsent", s.state, s.txQueue)
			}
		})
	}
}

type tcpState struct {
	state   string // as the kernel numbers them: 04 is FIN-WAIT-1
	txQueue int
}

// tcpSocket finds the IPv4 socket from local port to remote port in
// /proc/net/tcp (the loopback pair has one on each side).
func tcpSocket(t *testing.T, local, remote int) (tcpState, bool) {
	t.Helper()
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	want := [2]string{fmt.Sprintf(":%04X", local), fmt.Sprintf(":%04X", remote)}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || !strings.HasSuffix(fields[1], want[0]) || !strings.HasSuffix(fields[2], want[1]) {
			continue
		}
		tx, _, _ := strings.Cut(fields[4], ":")
		n, _ := strconv.ParseInt(tx, 16, 64)
		return tcpState{fields[3], int(n)}, true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tcpState{}, false
}
