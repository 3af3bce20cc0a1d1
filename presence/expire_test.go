package presence

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wsgate/wsgate/internal/testkit"
)

// TestNATSCrashedNodeExpires: a node that stops without a word (its
// process killed: no Close, its connection gone) has its members left out
// of List within NodeTTL + NodeTTL/3, and removed, each with a leave event,
// soon after.
func TestNATSCrashedNodeExpires(t *testing.T) {
	t.Parallel()
	srv := startJetStream(t)
	a, _ := newNode(t, srv.ClientURL(), "a")
	b, bconn := newNode(t, srv.ClientURL(), "b")
	var rec recorder
	if err := a.Start(rec.record); err != nil {
		t.Fatal(err)
	}
	a.Watch("room")
	settle(t, a)
	ann := "+" + member("a", 0, "").Conn
	a.Join("room", member("a", 0, "ann"))
	waitEvents(t, &rec, "room", []string{ann})
	const members = 50
	var leaves []string
	for i := range members {
		m := member("b", i, "bob")
		b.Join("room", m)
		leaves = append(leaves, "-"+m.Conn)
	}
	settle(t, b)
	waitCount(t, a, "room", members+1)
	waitEvents(t, &rec, "room", append([]string{ann}, joinsOf(leaves)...))

	_ = b.shutdown(false) // SIGKILL: nothing removed, no heartbeat any more
	bconn.Close()
	killed := time.Now()
	bound := testNodeTTL + testNodeTTL/3
	testkit.Eventually(t, bound+wait, "b's members left out of List", func() bool {
		return count(t, a, "room") == 1
	})
	if took := time.Since(killed); took > bound+5*time.Second {
		t.Errorf("b's members were listed %s after it died; the bound is %s (plus slack)", took, bound)
	} else {
		t.Logf("b's members left out of List %s after it died (bound %s)", took.Round(time.Millisecond), bound)
	}
	waitEvents(t, &rec, "room", slices.Concat([]string{ann}, joinsOf(leaves), sortedCopy(leaves)))
	t.Logf("leave events delivered %s after it died", time.Since(killed).Round(time.Millisecond))
	if st := a.Stats(); st.Expired != members {
		t.Fatalf("a's Stats.Expired = %d, want %d", st.Expired, members)
	}
	if keys := bucketKeys(t, a.members); !slices.Equal(keys, []string{memberKey("room", member("a", 0, "").Conn)}) {
		t.Fatalf("bucket keys after the janitor: %q", keys)
	}
}

// joinsOf turns leaves ("-conn") into the joins ("+conn") that came
// before them.
func joinsOf(leaves []string) []string {
	var out []string
	for _, l := range leaves {
		out = append(out, "+"+l[1:])
	}
	return out
}

// sortedCopy sorts a copy: the janitor purges in the order it reads keys.
func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }

// bucketKeys lists a bucket's keys, sorted.
func bucketKeys(t *testing.T, kv jetstream.KeyValue) []string {
	t.Helper()
	var keys []string
	err := scan(context.Background(), kv, ">", true, func(e jetstream.KeyValueEntry) error {
		keys = append(keys, e.Key())
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	slices.Sort(keys)
	return keys
}

// TestNATSRestartedNodeRemovesLeftovers: a node that comes back under the
// same ID after a crash removes what its earlier process left, before
// NewNATS returns.
func TestNATSRestartedNodeRemovesLeftovers(t *testing.T) {
	t.Parallel()
	srv := startJetStream(t)
	a, aconn := newNode(t, srv.ClientURL(), "a")
	for i := range 5 {
		a.Join("room", member("a", i, ""))
	}
	settle(t, a)
	_ = a.shutdown(false)
	aconn.Close()
	again, _ := newNode(t, srv.ClientURL(), "a")
	if got := count(t, again, "room"); got != 0 {
		t.Fatalf("Count after the restart = %d, want 0", got)
	}
	if st := again.Stats(); st.Expired != 5 {
		t.Fatalf("Stats.Expired = %d, want 5", st.Expired)
	}
}

// TestNATSSweepRemovesMembersOfUnknownNodes: members of a node that has no
// heartbeat at all (it died while no node watched) are removed by the
// first node to start.
func TestNATSSweepRemovesMembersOfUnknownNodes(t *testing.T) {
	t.Parallel()
	srv := startJetStream(t)
	nc := connect(t, srv.ClientURL())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := NATSConfig{Node: "x", NodeTTL: testNodeTTL}.WithDefaults()
	members, _, err := ensureBuckets(context.Background(), js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m := member("ghost", i, "")
		if _, err := members.Put(context.Background(), memberKey("room", m.Conn), []byte(`{"conn":"`+m.Conn+`","node":"ghost"}`)); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := newNode(t, srv.ClientURL(), "a")
	testkit.Eventually(t, wait, "the ghost's members removed", func() bool {
		return len(bucketKeys(t, a.members)) == 0
	})
	if st := a.Stats(); st.Expired != 3 {
		t.Fatalf("Stats.Expired = %d, want 3", st.Expired)
	}
}

// TestNATSNodeDeclaredDeadRestoresItsMembers: when the other nodes take a
// live node for dead (here: its heartbeat key purged under it) and purge
// its members, the node notices at its next heartbeat and writes them all
// again.
func TestNATSNodeDeclaredDeadRestoresItsMembers(t *testing.T) {
	t.Parallel()
	srv := startJetStream(t)
	a, _ := newNode(t, srv.ClientURL(), "a")
	b, _ := newNode(t, srv.ClientURL(), "b")
	for i := range 20 {
		b.Join("room", member("b", i, ""))
	}
	settle(t, b)
	waitCount(t, a, "room", 20)
	if err := a.nodes.Purge(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, "a's janitor purging b's members", func() bool {
		return a.Stats().Expired == 20
	})
	waitCount(t, a, "room", 20)
	if got := listAll(t, a, "room", 7); len(got) != 20 {
		t.Fatalf("after b came back, a lists %d members", len(got))
	}
}

// TestNATSNodeWatcherRestarts: a nodes watcher that stops delivering (here:
// stopped under the store) is restarted before the other nodes would look
// dead, so their members stay listed.
func TestNATSNodeWatcherRestarts(t *testing.T) {
	t.Parallel()
	srv := startJetStream(t)
	a, _ := newNode(t, srv.ClientURL(), "a")
	b, _ := newNode(t, srv.ClientURL(), "b")
	for i := range 5 {
		b.Join("room", member("b", i, ""))
	}
	settle(t, b)
	waitCount(t, a, "room", 5)
	a.lifecycle.Lock()
	broken := a.nodesW
	_ = broken.Stop()
	a.lifecycle.Unlock()
	testkit.Eventually(t, wait, "a new nodes watcher", func() bool {
		a.lifecycle.Lock()
		defer a.lifecycle.Unlock()
		return a.nodesW != broken
	})
	until := time.Now().Add(2 * testNodeTTL) // past the time b would look dead
	for time.Now().Before(until) {
		time.Sleep(100 * time.Millisecond)
	}
	waitCount(t, a, "room", 5)
	if st := a.Stats(); st.Expired != 0 {
		t.Fatalf("Stats.Expired = %d: b's members were purged", st.Expired)
	}
}
