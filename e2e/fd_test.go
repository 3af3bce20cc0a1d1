package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// TestFDFloodSingleListenerSurvives: with --single-listener, gnet's one
// acceptor empties the whole accept queue before any loop counts a socket,
// so a queue filled while the node could not accept (here: stopped with
// SIGSTOP) used to arrive all at once and run it out of descriptors. The
// node now reserves the listen backlog too: under a limit too low for it,
// it refuses to start, naming the limit; under one that fits, it survives.
func TestFDFloodSingleListenerSurvives(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	low := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `ulimit -n 256 && exec "$0" "$@"`, bin("wsgate"), "--single-listener"}, nodeFlags...)...)
	if out, err := low.CombinedOutput(); err == nil || low.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "open-file limit") {
		t.Fatalf("--single-listener under ulimit -n 256: %v, want exit 2 naming the open-file limit:\n%s", err, lastLines(string(out), 5))
	}

	n := startNodeCmd(t, exec.Command("/bin/sh", append([]string{"-c", `ulimit -n 6000 && exec "$0" "$@"`, bin("wsgate"), "--single-listener", "--loops", "2"}, nodeFlags...)...))
	sub, err := wstest.Dial(n.url("/ws?channels=news"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The kernel completes handshakes into the accept queue of the stopped
	// node until it is full; the rest time out.
	var mu sync.Mutex
	var queued []net.Conn
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 100 {
				c, err := net.DialTimeout("tcp", n.ws, 500*time.Millisecond)
				if err != nil {
					continue
				}
				mu.Lock()
				queued = append(queued, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	defer func() {
		for _, c := range queued {
			c.Close()
		}
	}()
	_ = n.cmd.Process.Signal(syscall.SIGCONT)
	// A dial can succeed with its socket left out of a full accept queue
	// (the server drops the handshake's last ACK and retries later), so
	// what the node must take is the queue, at most the backlog.
	want := min(len(queued), somaxconn(t))
	t.Logf("%d connections queued while the node was stopped; waiting for %d", len(queued), want)
	testkit.Eventually(t, time.Minute, "the queue to be accepted", func() bool {
		// Every accepted socket is open, refused at accept, or closed by
		// the handshake timeout (under load the first ones time out
		// before the last are accepted).
		st := n.stats(t)["stats"].(map[string]any)
		seen := st["connections"].(float64) + st["handshake_timeouts"].(float64)
		for _, v := range st["sockets_refused"].(map[string]any) {
			seen += v.(float64)
		}
		return seen >= float64(want)
	})
	select {
	case <-n.done:
		t.Fatalf("the node exited: %v\n%s", n.err, lastLines(n.Stderr(), 20))
	default:
	}
	n.publish(t, "news", "alive")
	_ = sub.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, p, err := sub.ReadMessage(); err != nil || !strings.Contains(string(p), "alive") {
		t.Fatalf("the subscriber after the flood: %q, %v", p, err)
	}
}

// somaxconn is the kernel's cap on a listen backlog.
func somaxconn(t *testing.T) int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
