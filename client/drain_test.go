package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/internal/testkit/natstest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// drainWindow is the nodes' drain window: the retry-after-ms hint a
// drained connection gets is at most this.
const drainWindow = 500 * time.Millisecond

// historyNode starts a node keeping history (5,000 per channel) on the
// JetStream of srv, and waits until its stream takes publications.
func historyNode(t *testing.T, srv *server.Server, id string) *reactor.Engine {
	t.Helper()
	r, err := relay.DialNATS(relay.NATSConfig{
		URLs:        []string{srv.ClientURL()},
		Name:        id,
		Logger:      quiet,
		ReplayDelay: 100 * time.Millisecond,
		History:     relay.HistoryConfig{Size: 5000},
	})
	if err != nil {
		t.Fatalf("DialNATS: %v", err)
	}
	eng := gatewaytest.Start(t, reactor.Config{Relay: r, NodeID: id, DrainWindow: drainWindow})
	testkit.Eventually(t, 20*time.Second, "node "+id+"'s history stream", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := eng.Store(ctx, "warmup", []byte("0"), "")
		return err == nil
	})
	return eng
}

// TestResumeAcrossNodeDrain is e2e's TestHistoryNothingLostAcrossNodeAnd
// BusFailures ("drain") with this package as the subscriber: two nodes
// share a JetStream; the client, given both URLs, follows a channel on
// node a while 1,000 publications are made through node b at about 200/s;
// a third of the way through node a is drained. The client must end with
// all 1,000, in order, once each, having reconnected exactly once (to b)
// and resumed without loss, within the drain's hint: the wait the client
// honours is the hint plus up to half of it, and 1 s covers the handshake
// and the resume under -race. In both formats (one after the other: each
// is a timing test).
func TestResumeAcrossNodeDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("a 5 s publication run")
	}
	eachFormat(t, testResumeAcrossNodeDrain)
}

func testResumeAcrossNodeDrain(t *testing.T, format client.Format) {
	srv := natstest.Start(t, func(o *server.Options) { o.JetStream, o.StoreDir = true, t.TempDir() })
	a := historyNode(t, srv, "a")
	b := historyNode(t, srv, "b")
	ctx := testContext(t)

	var st states
	c := newClient(t, []string{wsURL(a), wsURL(b)}, client.Options{
		Format:     format,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second, OnState: st.record,
	})
	connect(t, c)
	if c.Node() != "a" {
		t.Fatalf("connected to %q, want a (the first URL)", c.Node())
	}
	const total = 1000
	var (
		mu   sync.Mutex
		got  []int
		last uint64
		bad  error
	)
	all := make(chan struct{})
	handler := func(m client.Message) {
		mu.Lock()
		defer mu.Unlock()
		var n int
		switch {
		case bad != nil:
			return
		case json.Unmarshal(m.Data, &n) != nil:
			bad = fmt.Errorf("data %s", m.Data)
		case m.Offset <= last:
			bad = fmt.Errorf("offset %d delivered after %d", m.Offset, last)
		}
		last = m.Offset
		got = append(got, n)
		if len(got) == total {
			close(all)
		}
	}
	var col collector
	sub, err := c.Subscribe(ctx, "orders", handler, client.WithEvents(col.event))
	if err != nil {
		t.Fatal(err)
	}

	drained := make(chan error, 1)
	published := make(chan error, 1)
	go func() {
		tick := time.NewTicker(5 * time.Millisecond) // 200/s
		defer tick.Stop()
		for i := range total {
			<-tick.C
			for {
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := b.Store(pctx, "orders", fmt.Appendf(nil, "%d", i), fmt.Sprintf("p-%d", i))
				cancel()
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					published <- err
					return
				}
			}
			if i == total/3 {
				go func() {
					dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					drained <- a.Drain(dctx)
				}()
			}
		}
		published <- nil
	}()
	if err := <-published; err != nil {
		t.Fatalf("publishing: %v", err)
	}
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	select {
	case <-all:
	case <-time.After(30 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	if bad != nil {
		t.Fatal(bad)
	}
	if len(got) != total {
		t.Fatalf("%d of %d publications (last offset %d)", len(got), total, last)
	}
	for i, n := range got {
		if n != i {
			t.Fatalf("publication %d is %d", i, n)
		}
	}
	if n := st.count(client.StateConnected); n != 2 || c.Node() != "b" {
		t.Fatalf("connected %d times, now to %q: want once to a, once to b", n, c.Node())
	}
	gap, ok := st.offline()
	if !ok || gap > drainWindow*3/2+time.Second {
		t.Fatalf("offline for %v (seen %v): want within the drain's hint (%v) plus half, plus 1 s", gap, ok, drainWindow)
	}
	for _, k := range col.kinds() {
		if k != client.EventResumed {
			t.Fatalf("events %v: want only resumes", col.kinds())
		}
	}
	if len(col.kinds()) == 0 || !sub.Recovered() {
		t.Fatalf("events %v, recovered %v: the drain never reached the subscription", col.kinds(), sub.Recovered())
	}
	t.Logf("%d publications in order; offline %v; events %v", len(got), gap, col.kinds())
}
