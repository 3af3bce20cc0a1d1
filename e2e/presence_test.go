package e2e

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// presenceFrame is a join or leave frame.
type presenceFrame struct {
	Type, Channel, Conn, User, Node string
	Joined                          int64
}

// nextPresence reads w's frames until a join or leave of one of conns.
func nextPresence(t *testing.T, w *wstest.Conn, conns ...string) presenceFrame {
	t.Helper()
	for {
		var f presenceFrame
		if err := json.Unmarshal([]byte(readPush(t, w)), &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != "join" && f.Type != "leave" {
			continue
		}
		for _, c := range conns {
			if f.Conn == c {
				return f
			}
		}
	}
}

// members lists channel's members through n's API.
func (n *node) members(t *testing.T, channel string) map[string]string {
	t.Helper()
	code, body := n.control(t, "GET", "/api/presence?channel="+channel, "")
	if code != 200 {
		t.Fatalf("presence on %s: %d %s", n.admin, code, body)
	}
	var page struct {
		Members []struct{ Conn, Node string }
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range page.Members {
		out[m.Conn] = m.Node
	}
	return out
}

// TestPresenceAcrossNodes: two nodes on NATS JetStream. Members on both
// nodes are listed from either; a watcher gets their join and leave frames
// in order; a node that stops cleanly takes its members with it at once;
// after SIGKILL of one node its members are gone from the list, and leave
// frames arrive, within the stated bound (NodeTTL + NodeTTL/3).
func TestPresenceAcrossNodes(t *testing.T) {
	addr := testkit.ReserveAddr(t)
	startNATSJetStream(t, addr, t.TempDir())
	const ttl = 3 * time.Second
	flags := []string{"--nats", "nats://" + addr, "--presence", "room.>", "--presence-node-ttl", ttl.String(), "--api-key", "e2e-key"}
	a := startNode(t, append([]string{"--node-id", "a"}, flags...)...)
	b := startNode(t, append([]string{"--node-id", "b"}, flags...)...)

	w, err := wstest.Dial(a.url("/ws"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.WriteText([]byte(`{"type":"subscribe","channel":"lobby","presence":true,"id":0}`)); err != nil {
		t.Fatal(err)
	}
	if got := readPush(t, w); !strings.Contains(got, `"code":"no_presence"`) {
		t.Fatalf("presence on a channel without it: %s", got)
	}
	if err := w.WriteText([]byte(`{"type":"subscribe","channel":"room.1","presence":true,"id":1}`)); err != nil {
		t.Fatal(err)
	}
	if got := readPush(t, w); got != `{"type":"ack","id":1}` {
		t.Fatalf("subscribe with presence: %s", got)
	}
	time.Sleep(500 * time.Millisecond) // the watch reaches the bus

	m1, err := wstest.Dial(a.url("/ws?channels=room.1"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer m1.Close()
	m2, err := wstest.Dial(b.url("/ws?channels=room.1"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	id1, id2 := m1.Connected.Client, m2.Connected.Client

	// Join, join: in the order they happened (m1 was greeted first).
	if f := nextPresence(t, w, id1, id2); f.Type != "join" || f.Conn != id1 || f.Node != "a" || f.Channel != "room.1" || f.Joined == 0 {
		t.Fatalf("first frame %+v, want m1's join", f)
	}
	if f := nextPresence(t, w, id1, id2); f.Type != "join" || f.Conn != id2 || f.Node != "b" {
		t.Fatalf("second frame %+v, want m2's join", f)
	}
	for _, n := range []*node{a, b} {
		testkit.Eventually(t, 10*time.Second, "both members listed on "+n.admin, func() bool {
			m := n.members(t, "room.1")
			return m[id1] == "a" && m[id2] == "b" && m[w.Connected.Client] == "a"
		})
	}
	if code, body := b.control(t, "GET", "/api/presence/count?channel=room.1", ""); code != 200 || !strings.Contains(body, `"count":3`) {
		t.Fatalf("count: %d %s", code, body)
	}

	if err := m1.WriteText([]byte(`{"type":"unsubscribe","channel":"room.1"}`)); err != nil {
		t.Fatal(err)
	}
	if f := nextPresence(t, w, id1, id2); f.Type != "leave" || f.Conn != id1 {
		t.Fatalf("third frame %+v, want m1's leave", f)
	}

	// Node c stops cleanly (SIGTERM): its member goes at once, well
	// before the TTL could have expired it.
	c := startNode(t, append([]string{"--node-id", "c", "--drain-window", "200ms"}, flags...)...)
	m3, err := wstest.Dial(c.url("/ws?channels=room.1"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer m3.Close()
	id3 := m3.Connected.Client
	if f := nextPresence(t, w, id3); f.Type != "join" || f.Node != "c" {
		t.Fatalf("m3's frame: %+v", f)
	}
	stopped := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if f := nextPresence(t, w, id3); f.Type != "leave" {
		t.Fatalf("m3's frame after node c stopped: %+v", f)
	}
	if _, listed := a.members(t, "room.1")[id3]; listed || time.Since(stopped) >= ttl {
		t.Fatalf("node c's member: listed %v %s after a clean stop (TTL %s)", listed, time.Since(stopped), ttl)
	}
	if err := c.wait(t, 20*time.Second); err != nil { // m3 does not answer the close frame: 5 s
		t.Fatalf("node c: %v", err)
	}

	// Node b dies without a word: m2 must go from the list and leave.
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	bound := ttl + ttl/3
	testkit.Eventually(t, bound+5*time.Second, "m2 gone from the list", func() bool { _, ok := a.members(t, "room.1")[id2]; return !ok })
	gone := time.Since(killed)
	if f := nextPresence(t, w, id2); f.Type != "leave" {
		t.Fatalf("m2's frame after the kill: %+v", f)
	}
	left := time.Since(killed)
	t.Logf("after SIGKILL: gone from the list in %s, leave frame in %s (bound %s)", gone, left, bound)
	if gone > bound+time.Second {
		t.Errorf("m2 was listed %s after its node died, past the bound of %s", gone, bound)
	}
}
