package presence

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/natstest"
)

// TestMain fails the package when tests leave goroutines (stores, NATS
// clients or servers not closed) or descriptors behind.
func TestMain(m *testing.M) { testkit.Main(m) }

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// testNodeTTL is the NodeTTL of the tests' NATS stores: short for quick
// tests, long enough that a heartbeat every second survives a loaded
// machine running the suite under -race.
const testNodeTTL = 3 * time.Second

// wait is the tests' patience for what should happen at once: generous,
// for a 2-core machine running the suite under -race in parallel.
const wait = 15 * time.Second

// startJetStream runs a nats-server with JetStream, its store in a
// directory of the test's.
func startJetStream(t testing.TB, opts ...func(*server.Options)) *server.Server {
	t.Helper()
	dir := t.TempDir()
	return natstest.Start(t, append([]func(*server.Options){func(o *server.Options) {
		o.JetStream = true
		o.StoreDir = dir
	}}, opts...)...)
}

type serverOptions = server.Options

// startAt runs a nats-server on addr (a reserved one, so it can come back
// there after an outage).
func startAt(t *testing.T, addr string, opts ...func(*server.Options)) *server.Server {
	t.Helper()
	return natstest.Start(t, append([]func(*server.Options){natstest.At(addr)}, opts...)...)
}

// connect dials srv, reconnecting quickly and forever, and closes the
// connection when the test ends.
func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.ReconnectJitter(0, 0))
	if err != nil {
		t.Fatalf("nats.Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// newNode is a NATS store named node on its own connection to url, closed
// (before its connection) when the test ends.
func newNode(t testing.TB, url, node string, edit ...func(*NATSConfig)) (*NATS, *nats.Conn) {
	t.Helper()
	nc := connect(t, url)
	cfg := NATSConfig{Node: node, NodeTTL: testNodeTTL, Logger: quietLogger}
	for _, f := range edit {
		f(&cfg)
	}
	n, err := NewNATS(nc, cfg)
	if err != nil {
		t.Fatalf("NewNATS(%s): %v", node, err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n, nc
}

// member is node's i-th connection, of user.
func member(node string, i int, user string) Member {
	return Member{Conn: fmt.Sprintf("%s.%032x", node, i), User: user, Node: node, Joined: time.Unix(1700000000, 0).UTC()}
}

// recorder keeps the events it is handed.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) record(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// on describes the events of channel, in order: "+conn" for a join,
// "-conn" for a leave.
func (r *recorder) on(channel string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		if ev.Channel == channel {
			sign := "-"
			if ev.Join {
				sign = "+"
			}
			out = append(out, sign+ev.Member.Conn)
		}
	}
	return out
}

// all returns a copy of every event.
func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitEvents waits until r holds want on channel, and fails on anything
// else (an extra, a missing or a misordered event).
func waitEvents(t *testing.T, r *recorder, channel string, want []string) {
	t.Helper()
	var got []string
	if !testkit.Poll(wait, func() bool {
		got = r.on(channel)
		return len(got) >= len(want)
	}) || !slices.Equal(got, want) {
		t.Fatalf("events on %s:\n got %q\nwant %q", channel, got, want)
	}
}

// conns lists the Conns of a page.
func conns(p Page) []string {
	out := make([]string, len(p.Members))
	for i, m := range p.Members {
		out[i] = m.Conn
	}
	return out
}

// listAll pages through channel, limit at a time, and returns every Conn.
func listAll(t *testing.T, s Store, channel string, limit int) []string {
	t.Helper()
	var all []string
	after := ""
	for range 10000 {
		p, err := s.List(context.Background(), channel, after, limit)
		if err != nil {
			t.Fatalf("List(%s, after %q): %v", channel, after, err)
		}
		if len(p.Members) > limit {
			t.Fatalf("List(%s, limit %d) returned %d members", channel, limit, len(p.Members))
		}
		all = append(all, conns(p)...)
		if p.Next == "" {
			return all
		}
		after = p.Next
	}
	t.Fatalf("List(%s) never ended", channel)
	return nil
}

// count is Count that fails the test on an error.
func count(t *testing.T, s Store, channel string) int {
	t.Helper()
	n, err := s.Count(context.Background(), channel)
	if err != nil {
		t.Fatalf("Count(%s): %v", channel, err)
	}
	return n
}

// waitCount waits until channel has want members as s sees them.
func waitCount(t *testing.T, s Store, channel string, want int) {
	t.Helper()
	got := -1
	if !testkit.Poll(wait, func() bool {
		n, err := s.Count(context.Background(), channel)
		got = n
		return err == nil && n == want
	}) {
		t.Fatalf("Count(%s) = %d, want %d", channel, got, want)
	}
}

// settle waits until the store has written everything it queued (NATS) and
// has started the watchers of the channels it was asked to watch; it does
// nothing for Local, which has nothing in flight.
func settle(t *testing.T, s Store) {
	t.Helper()
	n, ok := s.(*NATS)
	if !ok {
		return
	}
	testkit.Eventually(t, wait, "the store's writes and watchers", func() bool {
		return n.unwritten.Load() == 0 && n.watches.settled()
	})
}

// memberIndex is the i of member(node, i, user).Conn.
func memberIndex(t *testing.T, conn string) int {
	t.Helper()
	i, err := strconv.ParseInt(conn[len(conn)-connHexLen:], 16, 64)
	if err != nil {
		t.Fatalf("conn %q: %v", conn, err)
	}
	return int(i)
}
