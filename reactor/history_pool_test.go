package reactor

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/relay"
)

// A second attacker review: 30 clients resuming 128 channels each and
// never reading took a node from 92 MB to 363 MB, because pages read for
// them waited in the loops' queues (gnet's Execute, unbounded) with no
// limit but the 4,096 jobs, each up to a quarter of MaxOutboundBytes. Now
// a read first reserves its page's bytes against a node-wide budget, and
// waits while pages read and not yet handed over fill it.
func TestHistoryPagesInFlightAreBounded(t *testing.T) {
	const page = 256 << 10
	h := &bigPages{size: page}
	p := newHistoryPool(h)
	defer p.close()
	p.budget = 4 * page
	el := &heldLoop{}
	l := &loop{el: el}
	delivered := atomic.Int64{}
	for range 100 {
		if !p.submit(historyJob{loop: l, channel: "c", limit: 1, maxBytes: page, done: func(relay.Page, error) { delivered.Add(1) }}) {
			t.Fatal("queue full")
		}
	}
	testkit.Eventually(t, waitTimeout, "four reads", func() bool { return h.reads.Load() == 4 })
	time.Sleep(100 * time.Millisecond) // nothing more may be read while nothing is handed over
	if n := h.reads.Load(); n != 4 {
		t.Fatalf("%d pages read while none was handed over, budget 4", n)
	}
	// The loop runs what it holds; room comes back and every read runs.
	testkit.Eventually(t, waitTimeout, "every page delivered", func() bool {
		el.runAll()
		return delivered.Load() == 100
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending != 0 {
		t.Fatalf("%d bytes still counted pending", p.pending)
	}
}

// bigPages is a history whose every read returns one entry of size bytes.
type bigPages struct {
	relay.Historian
	size  int
	reads atomic.Int64
}

func (b *bigPages) Read(context.Context, string, *relay.Position, int, int) (relay.Page, error) {
	b.reads.Add(1)
	return relay.Page{Entries: []relay.Entry{{Data: make([]byte, b.size)}}}, nil
}

// heldLoop is an event loop that keeps what it is given to run until
// runAll, like a loop too busy to get to it.
type heldLoop struct {
	mu   sync.Mutex
	held []gnet.Runnable
}

func (h *heldLoop) Execute(_ context.Context, r gnet.Runnable) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = append(h.held, r)
	return nil
}

func (h *heldLoop) runAll() {
	h.mu.Lock()
	held := h.held
	h.held = nil
	h.mu.Unlock()
	for _, r := range held {
		_ = r.Run(context.Background())
	}
}

func (h *heldLoop) Register(context.Context, net.Addr) (<-chan gnet.RegisteredResult, error) {
	return nil, nil
}
func (h *heldLoop) Enroll(context.Context, net.Conn) (<-chan gnet.RegisteredResult, error) {
	return nil, nil
}
func (h *heldLoop) Schedule(context.Context, gnet.Runnable, time.Duration) error { return nil }
func (h *heldLoop) Close(gnet.Conn) error                                        { return nil }
