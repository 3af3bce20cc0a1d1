package relay_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/natstest"
	"github.com/wsgate/wsgate/relay"
)

// logBuffer is a slog.Logger's output, safe to read while it is written.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// TestNATSCloseCountsUnsent: publications still held when Close's grace
// ends (NATS down all along) are counted as lost and logged with their
// count at WARN, and Close does not wait longer than the grace.
func TestNATSCloseCountsUnsent(t *testing.T) {
	const held, grace = 5, 100 * time.Millisecond
	var logs logBuffer
	r, err := relay.DialNATS(relay.NATSConfig{
		URLs:       []string{"nats://" + testkit.ReserveAddr(t)},
		CloseGrace: grace,
		Logger:     logs.logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(&recorder{}); err != nil {
		t.Fatal(err)
	}
	for i := range held {
		if err := r.Publish("held", fmt.Appendf(nil, "%d", i), ""); err != nil {
			t.Fatalf("Publish #%d: %v", i, err)
		}
	}
	start := time.Now()
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	took := time.Since(start)
	if took < grace || took > grace+promptBound {
		t.Errorf("Close took %s, want the grace (%s), not much more", took, grace)
	}
	if s := r.Stats(); s.Lost != held || s.BufferedMessages != 0 {
		t.Errorf("after Close, Stats() = %+v, want %d lost, none buffered", s, held)
	}
	if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, fmt.Sprintf("count=%d", held)) {
		t.Errorf("no WARN line with count=%d in the log:\n%s", held, out)
	}
}

// TestNATSCloseSendsHeldWhenNATSReturns: publications held through an
// outage are sent if NATS comes back within Close's grace (without waiting
// ReplayDelay: the node is going away).
func TestNATSCloseSendsHeldWhenNATSReturns(t *testing.T) {
	addr := testkit.ReserveAddr(t) // NATS comes back on it after the outage
	srv := natstest.Start(t, natstest.At(addr))
	r := dialNATS(t, srv, "r", relay.NATSConfig{CloseGrace: 10 * time.Second, ReplayDelay: time.Hour, Options: fastReconnect()})
	if err := r.Start(&recorder{}); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	testkit.Eventually(t, 5*time.Second, "the outage to be noticed", func() bool { return r.Status() != nil })
	for i := range 3 {
		if err := r.Publish("held", fmt.Appendf(nil, "%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	srv2 := natstest.Start(t, natstest.At(addr))
	raw := dialRaw(t, srv2)
	sub, err := raw.SubscribeSync("wsgate.ch.held")
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}
	// Reconnected, but ReplayDelay (an hour) holds the publications back.
	testkit.Eventually(t, 5*time.Second, "the relay to reconnect", func() bool { return r.Status() == nil })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil || string(m.Data) != fmt.Sprint(i) {
			t.Fatalf("held publication #%d: got %v, %v", i, m, err)
		}
	}
	if s := r.Stats(); s.Lost != 0 {
		t.Errorf("Stats().Lost = %d, want 0", s.Lost)
	}
}

// TestNATSCloseOnStalledBus: Close with the bus stalled returns within the
// grace plus the write timeout, and counts what it could not send.
func TestNATSCloseOnStalledBus(t *testing.T) {
	const grace, writeTimeout = 200 * time.Millisecond, 500 * time.Millisecond
	fake := natstest.StartStalled(t, "127.0.0.1:0")
	var logs logBuffer
	r, err := relay.DialNATS(relay.NATSConfig{
		URLs: []string{fake.URL()}, Required: true, Logger: logs.logger(),
		CloseGrace: grace, WriteTimeout: writeTimeout, PublishBuffer: 1 << 20,
		Options: fastReconnect(nats.SetCustomDialer(natstest.SmallSendBuffer())),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(&recorder{}); err != nil {
		t.Fatal(err)
	}
	data := []byte(`"` + strings.Repeat("x", 64<<10) + `"`)
	for range 64 {
		_ = r.Publish("stall", data, "")
	}
	start := time.Now()
	_ = r.Close()
	took := time.Since(start)
	t.Logf("Close on a stalled bus took %s (grace %s, write timeout %s)", took, grace, writeTimeout)
	if limit := grace + 2*writeTimeout + promptBound; took > limit {
		t.Errorf("Close took %s, want at most %s", took, limit)
	}
	if s := r.Stats(); s.Lost == 0 || s.BufferedMessages != 0 {
		t.Errorf("Stats() = %+v, want some lost and none left buffered", s)
	}
	if !strings.Contains(logs.String(), "not sent before close") {
		t.Errorf("no line about unsent publications in the log:\n%s", logs.String())
	}
}

// blockingHandler is a recorder whose Deliver waits while its gate is
// shut.
type blockingHandler struct {
	recorder
	gateMu sync.Mutex
	gate   chan struct{} // nil: open
}

func (b *blockingHandler) shut() {
	b.gateMu.Lock()
	defer b.gateMu.Unlock()
	if b.gate == nil {
		b.gate = make(chan struct{})
	}
}

func (b *blockingHandler) open() {
	b.gateMu.Lock()
	defer b.gateMu.Unlock()
	if b.gate != nil {
		close(b.gate)
		b.gate = nil
	}
}

func (b *blockingHandler) Deliver(channel string, seq relay.Seq, data []byte) {
	b.gateMu.Lock()
	gate := b.gate
	b.gateMu.Unlock()
	if gate != nil {
		<-gate
	}
	b.recorder.Deliver(channel, seq, data)
}

// TestNATSDroppedCountsMessages: when the node falls behind (a full inbox),
// Stats.Dropped counts every message nats.go dropped, not the episodes,
// and keeps counting those of subscriptions since closed.
func TestNATSDroppedCountsMessages(t *testing.T) {
	const sent = 50
	srv := natstest.Start(t)
	raw := dialRaw(t, srv)
	var logs logBuffer
	r, err := relay.DialNATS(relay.NATSConfig{URLs: []string{srv.ClientURL()}, Name: "slow", InboxSize: 1, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	h := &blockingHandler{}
	h.shut()
	t.Cleanup(h.open) // before r.Close, which waits for the dispatcher
	if err := r.Start(h); err != nil {
		t.Fatal(err)
	}

	episode := func(channel string, episodes int) {
		t.Helper()
		r.Interest(channel, true)
		waitSubs(t, srv, "slow", "wsgate.ch."+channel)
		for i := range sent {
			if err := raw.Publish("wsgate.ch."+channel, fmt.Appendf(nil, "%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := raw.Flush(); err != nil {
			t.Fatal(err)
		}
		// nats.go reports a slow consumer once per episode, at its first
		// drop; the relay logs it.
		testkit.Eventually(t, 5*time.Second, "a slow consumer to be reported", func() bool {
			return strings.Count(logs.String(), "falls behind") >= episodes
		})
		h.open()
	}

	episode("first", 1)
	var s relay.Stats
	testkit.Eventually(t, 10*time.Second, "every message to be delivered or counted as dropped", func() bool {
		s = r.Stats()
		return s.MessagesIn+s.Dropped == sent
	})
	if s.Dropped < 2 {
		t.Errorf("Stats() = %+v, want the drops counted one per message", s)
	}
	first := s.Dropped

	// Close the first subscription, then a second episode: the total keeps
	// the first subscription's drops.
	r.Interest("first", false)
	waitSubs(t, srv, "slow")
	h.shut()
	episode("second", 2)
	testkit.Eventually(t, 10*time.Second, "the second episode to be counted", func() bool {
		s = r.Stats()
		return s.MessagesIn+s.Dropped == 2*sent
	})
	if s.Dropped <= first {
		t.Errorf("Stats().Dropped = %d after a second episode, want more than the first's %d", s.Dropped, first)
	}
}
