package presence

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
)

// TestNATSTwoNodesListEachOther: members joined on either node are listed
// and counted from both, sorted together.
func TestNATSTwoNodesListEachOther(t *testing.T) {
	t.Parallel()
	srv := startJetStream(t)
	a, _ := newNode(t, srv.ClientURL(), "a")
	b, _ := newNode(t, srv.ClientURL(), "b")
	var want []string
	for i := range 3 {
		a.Join("room", member("a", i, "ann"))
		b.Join("room", member("b", i, "bob"))
		want = append(want, member("a", i, "").Conn, member("b", i, "").Conn)
	}
	slices.Sort(want)
	settle(t, a)
	settle(t, b)
	for _, s := range []*NATS{a, b} {
		waitCount(t, s, "room", 6)
		if got := listAll(t, s, "room", 4); !slices.Equal(got, want) {
			t.Fatalf("%s lists %q, want %q", s.cfg.Node, got, want)
		}
	}
}

// TestNATSEventsInOrderAcrossNodes: a node watching a channel gets the
// joins and leaves made on another node, in the order made, with the
// member (its user) in both.
func TestNATSEventsInOrderAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := startJetStream(t)
	a, _ := newNode(t, srv.ClientURL(), "a")
	b, _ := newNode(t, srv.ClientURL(), "b")
	var rec recorder
	if err := a.Start(rec.record); err != nil {
		t.Fatal(err)
	}
	a.Watch("room")
	settle(t, a)
	var want []string
	for i := range 200 {
		m := member("b", i, fmt.Sprint("user", i))
		b.Join("room", m)
		want = append(want, "+"+m.Conn)
		if i%2 == 1 { // leave the previous one, and this one at once
			prev := member("b", i-1, "")
			b.Leave("room", prev)
			b.Leave("room", m)
			want = append(want, "-"+prev.Conn, "-"+m.Conn)
		}
	}
	waitEvents(t, &rec, "room", want)
	for _, ev := range rec.all() {
		if want := fmt.Sprintf("user%d", memberIndex(t, ev.Member.Conn)); ev.Member.User != want || ev.Member.Node != "b" {
			t.Fatalf("event %+v: want user %s of node b", ev, want)
		}
	}
	if got := count(t, a, "room"); got != 0 {
		t.Fatalf("Count after every leave = %d: a quick join and leave left a ghost", got)
	}
}

// TestNATSCloseRemovesMembers: a clean Close removes the node's members
// before it returns, and watchers get their leave events.
func TestNATSCloseRemovesMembers(t *testing.T) {
	t.Parallel()
	srv := startJetStream(t)
	a, _ := newNode(t, srv.ClientURL(), "a")
	b, _ := newNode(t, srv.ClientURL(), "b")
	var rec recorder
	if err := a.Start(rec.record); err != nil {
		t.Fatal(err)
	}
	a.Watch("room")
	settle(t, a)
	var joins, leaves []string
	for i := range 10 {
		m := member("b", i, "bob")
		b.Join("room", m)
		joins, leaves = append(joins, "+"+m.Conn), append(leaves, "-"+m.Conn)
	}
	settle(t, b)
	waitEvents(t, &rec, "room", joins)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := count(t, a, "room"); got != 0 {
		t.Fatalf("Count right after b's Close = %d, want 0", got)
	}
	waitEvents(t, &rec, "room", append(joins, leaves...))
	if keys := bucketKeys(t, a.nodes); !slices.Equal(keys, []string{"a"}) {
		t.Fatalf("nodes bucket after b's Close: %q", keys)
	}
}

// TestNATSQueueFullDropsThenRepairs: while NATS is down, Join and Leave
// return at once; past QueueSize their writes are dropped and counted.
// When NATS is back the queue drains and a reconciliation writes what was
// dropped: the bucket ends up holding exactly the node's members.
func TestNATSQueueFullDropsThenRepairs(t *testing.T) {
	t.Parallel()
	addr := testkit.ReserveAddr(t)
	dir := t.TempDir()
	opts := func(o *serverOptions) { o.JetStream, o.StoreDir = true, dir }
	srv := startAt(t, addr, opts)
	a, aconn := newNode(t, "nats://"+addr, "a", func(c *NATSConfig) { c.QueueSize = 8 })
	a.Join("room", member("a", 1000, ""))
	settle(t, a)

	srv.Shutdown()
	srv.WaitForShutdown()
	testkit.Eventually(t, wait, "the client to notice the outage", func() bool { return !aconn.IsConnected() })
	start := time.Now()
	for i := range 100 {
		a.Join("room", member("a", i, ""))
	}
	for i := range 50 {
		a.Leave("room", member("a", i, ""))
	}
	a.Leave("room", member("a", 1000, ""))
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("251 Joins and Leaves took %s with NATS down", took)
	}
	st := a.Stats()
	if st.Dropped != 151-8 || st.Queued != 8 || st.Members != 50 {
		t.Fatalf("Stats with NATS down = %+v, want 143 dropped, 8 queued, 50 members", st)
	}
	if _, err := a.Count(context.Background(), "room"); err == nil {
		t.Fatal("Count with NATS down: no error")
	}

	startAt(t, addr, opts)
	var want []string
	for i := 50; i < 100; i++ {
		want = append(want, memberKey("room", member("a", i, "").Conn))
	}
	slices.Sort(want)
	testkit.Eventually(t, wait, "the bucket to hold a's 50 members again", func() bool {
		if !aconn.IsConnected() {
			return false
		}
		return slices.Equal(bucketKeys(t, a.members), want)
	})
}

// TestNATSPaginate2500: a channel of 2,500 members pages by 1,000 as
// 1,000, 1,000 and 500, sorted, each member once.
func TestNATSPaginate2500(t *testing.T) {
	t.Parallel()
	srv := startJetStream(t)
	a, _ := newNode(t, srv.ClientURL(), "a")
	b, _ := newNode(t, srv.ClientURL(), "b")
	var want []string
	for i := range 2500 {
		node := []*NATS{a, b}[i%2]
		m := member(node.cfg.Node, i, "")
		node.Join("big", m)
		want = append(want, m.Conn)
	}
	slices.Sort(want)
	settle(t, a)
	settle(t, b)
	waitCount(t, a, "big", 2500)
	var sizes []int
	var got []string
	after := ""
	for {
		p, err := a.List(context.Background(), "big", after, MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(p.Members))
		got = append(got, conns(p)...)
		if p.Next == "" {
			break
		}
		if p.Next != p.Members[len(p.Members)-1].Conn {
			t.Fatalf("Next %q is not the page's last Conn", p.Next)
		}
		after = p.Next
	}
	if !slices.Equal(sizes, []int{1000, 1000, 500}) || !slices.Equal(got, want) {
		t.Fatalf("pages of %v, %d members (sorted and complete: %v)", sizes, len(got), slices.Equal(got, want))
	}
}

// TestNATSConfigValidate: every problem is reported, and the zero value
// plus Node is valid.
func TestNATSConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (NATSConfig{Node: "n-1_A"}).Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	for _, c := range []struct {
		cfg  NATSConfig
		want int // problems
	}{
		{NATSConfig{}, 1},
		{NATSConfig{Node: "a.b"}, 1},
		{NATSConfig{Node: string(make([]byte, MaxNodeLen+1))}, 1},
		{NATSConfig{Node: "a", Bucket: "x.y", NodesBucket: "z*"}, 2},
		{NATSConfig{Node: "a", Bucket: "same", NodesBucket: "same"}, 1},
		{NATSConfig{Node: "a", NodeTTL: 500 * time.Millisecond, Replicas: 6, QueueSize: -1}, 3},
	} {
		err := c.cfg.Validate()
		if got := countLines(err); got != c.want {
			t.Errorf("Validate(%+v) = %v: %d problems, want %d", c.cfg, err, got, c.want)
		}
	}
	if _, err := NewNATS(nil, NATSConfig{Node: "a"}); err == nil {
		t.Error("NewNATS(nil): no error")
	}
}

// countLines counts the problems errors.Join put on separate lines.
func countLines(err error) int {
	if err == nil {
		return 0
	}
	n := 1
	for _, c := range err.Error() {
		if c == '\n' {
			n++
		}
	}
	return n
}
