package e2e

import (
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// TestFDFloodNodeSurvives: a node under a low open-file limit is sent
// far more idle TCP sockets than it has descriptors for. Before sockets
// were counted from accept, gnet's accept failed with EMFILE and every
// event loop stopped (wsgate exited 1). Now the sockets past the budget
// are reset at once, the subscribers keep receiving, and once the flood
// ends a new client connects.
func TestFDFloodNodeSurvives(t *testing.T) {
	n := startNodeCmd(t, exec.Command("/bin/sh", append([]string{"-c", `ulimit -n 256 && exec "$0" "$@"`, bin("wsgate")}, nodeFlags...)...))

	var subs []*wstest.Conn
	for range 5 {
		c, err := wstest.Dial(n.url("/ws?channels=news"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		subs = append(subs, c)
	}
	expect := func(what string) {
		t.Helper()
		n.publish(t, "news", what)
		for i, c := range subs {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, p, err := c.ReadMessage(); err != nil || string(p) != `{"type":"message","channel":"news","data":"`+what+`"}` {
				t.Fatalf("subscriber %d: %q, %v", i, p, err)
			}
		}
	}

	var idle []net.Conn
	for range 400 {
		c, err := net.DialTimeout("tcp", n.ws, 5*time.Second)
		if err != nil {
			continue // reset before the dial returned
		}
		idle = append(idle, c)
	}
	testkit.Eventually(t, 10*time.Second, "sockets reset at accept", func() bool {
		refused, _ := n.stats(t)["stats"].(map[string]any)["sockets_refused"].(map[string]any)
		return refused["sockets"].(float64) > 0
	})
	select {
	case <-n.done:
		t.Fatalf("the node exited under the flood: %v\n%s", n.err, lastLines(n.Stderr(), 20))
	default:
	}
	expect("during the flood")

	for _, c := range idle {
		c.Close()
	}
	testkit.Eventually(t, 10*time.Second, "the flood's sockets to close", func() bool {
		return n.stats(t)["stats"].(map[string]any)["connections"] == float64(len(subs))
	})
	late, err := wstest.Dial(n.url("/ws?channels=news"), 5*time.Second)
	if err != nil {
		t.Fatalf("a new client after the flood: %v", err)
	}
	defer late.Close()
	subs = append(subs, late)
	expect("after the flood")
}
