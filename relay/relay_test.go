package relay_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/relay"
)

// TestMain fails the package when tests leave goroutines (relays, NATS
// clients or servers not closed) or descriptors behind.
func TestMain(m *testing.M) { testkit.Main(m) }

// record is one Deliver call.
type record struct {
	channel string
	data    []byte
}

// recorder is a relay.Handler that keeps a copy of every delivery.
type recorder struct {
	mu   sync.Mutex
	recs []record
}

func (r *recorder) Deliver(channel string, _ relay.Seq, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, record{channel, bytes.Clone(data)})
}

// on returns the payloads delivered on channel, in delivery order, as
// strings (for readable comparisons).
func (r *recorder) on(channel string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.channel == channel {
			out = append(out, string(rec.data))
		}
	}
	return out
}

func (r *recorder) count(channel string) int { return len(r.on(channel)) }

// has reports whether data was delivered on channel.
func (r *recorder) has(channel, data string) bool {
	for _, d := range r.on(channel) {
		if d == data {
			return true
		}
	}
	return false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var probeSeq atomic.Int64

// propagate returns once every Interest call sub has made so far is in
// effect for what pub publishes from now on. sub declares interest in a
// fresh probe channel and pub publishes on it until sub's handler h sees
// it: a relay's interest changes travel in order, so when the probe's has
// arrived, the earlier ones are in force too. On a single node (pub == sub)
// the first probe is delivered at once.
func propagate(t *testing.T, pub, sub relay.Relay, h *recorder) {
	t.Helper()
	ch := fmt.Sprintf("probe.%d", probeSeq.Add(1))
	sub.Interest(ch, true)
	testkit.Eventually(t, 5*time.Second, "interest to propagate (probe "+ch+")", func() bool {
		if err := pub.Publish(ch, []byte(`{"probe":true}`), ""); err != nil {
			t.Fatalf("publish probe: %v", err)
		}
		return h.count(ch) > 0
	})
	sub.Interest(ch, false)
}

// startPair starts both relays of a pair with fresh recorders. On a single
// node (r1 == r2) the relay is started once and h2 is h1.
func startPair(t *testing.T, r1, r2 relay.Relay) (h1, h2 *recorder) {
	t.Helper()
	h1 = &recorder{}
	if err := r1.Start(h1); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if r1 == r2 {
		return h1, h1
	}
	h2 = &recorder{}
	if err := r2.Start(h2); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return h1, h2
}

// testRelayContract runs the Relay contract (see the package doc) on the
// relays newPair returns: two nodes on one bus, or the same relay twice for
// an implementation without a bus (a single node). newPair registers their
// Close (and anything behind them) with t.Cleanup.
func testRelayContract(t *testing.T, newPair func(t *testing.T) (r1, r2 relay.Relay)) {
	t.Run("PublishBeforeStart", func(t *testing.T) {
		r1, r2 := newPair(t)
		for i, r := range []relay.Relay{r1, r2} {
			if err := r.Publish("news", []byte(`{"a":1}`), ""); !errors.Is(err, relay.ErrNotStarted) {
				t.Errorf("r%d: Publish before Start = %v, want %v", i+1, err, relay.ErrNotStarted)
			}
		}
		h1, h2 := startPair(t, r1, r2)
		if n := len(h1.on("news")) + len(h2.on("news")); n != 0 {
			t.Errorf("a publication refused before Start was delivered %d times after it", n)
		}
	})

	t.Run("StatusAndKind", func(t *testing.T) {
		r1, r2 := newPair(t)
		startPair(t, r1, r2)
		for i, r := range []relay.Relay{r1, r2} {
			if err := r.Status(); err != nil {
				t.Errorf("r%d: Status() = %v, want nil while connected", i+1, err)
			}
			s := r.Stats()
			if !s.Connected {
				t.Errorf("r%d: Stats().Connected = false, want true", i+1)
			}
			want := "local"
			if r1 != r2 {
				want = "nats"
			}
			if s.Kind != want {
				t.Errorf("r%d: Stats().Kind = %q, want %q", i+1, s.Kind, want)
			}
		}
	})

	t.Run("DeliversLocallyOnce", func(t *testing.T) {
		r1, r2 := newPair(t)
		h1, h2 := startPair(t, r1, r2)

		// Without interest anywhere, the publishing node still gets it,
		// at once (Publish returns after the local delivery).
		if err := r1.Publish("nobody", []byte(`{"n":0}`), ""); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if got, want := h1.on("nobody"), []string{`{"n":0}`}; !equalStrings(got, want) {
			t.Fatalf("publisher's handler got %q right after Publish, want %q", got, want)
		}

		// Both nodes interested, so an echo from the bus would reach r1.
		r1.Interest("news", true)
		r2.Interest("news", true)
		propagate(t, r1, r2, h2)
		propagate(t, r2, r1, h1)
		first := `{"b":1,  "a":[1,2]}` // odd spacing: passed byte for byte
		if err := r1.Publish("news", []byte(first), ""); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if got, want := h1.on("news"), []string{first}; !equalStrings(got, want) {
			t.Fatalf("publisher's handler got %q right after Publish, want %q", got, want)
		}
		// Barrier: r2 answers once it has the publication. An echo of it
		// to r1 would have left the bus before r2 even received it, so it
		// reaches r1 before r2's answer.
		testkit.Eventually(t, 5*time.Second, "r2 to receive the publication", func() bool { return h2.has("news", first) })
		const answer = `{"answer":true}`
		if err := r2.Publish("news", []byte(answer), ""); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		testkit.Eventually(t, 5*time.Second, "r1 to receive the answer", func() bool { return h1.has("news", answer) })
		want := []string{first, answer}
		if got := h1.on("news"); !equalStrings(got, want) {
			t.Errorf("r1 got %q, want %q (each once: no echo)", got, want)
		}
		if got := h2.on("news"); !equalStrings(got, want) {
			t.Errorf("r2 got %q, want %q", got, want)
		}
	})

	t.Run("InterestGatesOtherNodes", func(t *testing.T) {
		r1, r2 := newPair(t)
		if r1 == r2 {
			t.Skip("single node: there is no other node; Interest is a no-op")
		}
		h1, h2 := startPair(t, r1, r2)
		// marker is a channel r2 always wants: a publication on it from r1
		// arriving at r2 means r1's earlier ones have been routed too.
		r2.Interest("marker", true)
		propagate(t, r1, r2, h2)
		marker := 0
		barrier := func() {
			t.Helper()
			marker++
			m := fmt.Sprintf(`{"marker":%d}`, marker)
			if err := r1.Publish("marker", []byte(m), ""); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			testkit.Eventually(t, 5*time.Second, "marker "+m, func() bool { return h2.has("marker", m) })
		}
		publish := func(data string) {
			t.Helper()
			if err := r1.Publish("gated", []byte(data), ""); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		}

		publish(`"before interest"`)
		barrier()
		if got := h2.on("gated"); len(got) != 0 {
			t.Errorf("r2 got %q without interest", got)
		}

		r2.Interest("gated", true)
		r2.Interest("gated", true) // a second "on" changes nothing
		propagate(t, r1, r2, h2)
		publish(`"with interest"`)
		barrier()
		if got, want := h2.on("gated"), []string{`"with interest"`}; !equalStrings(got, want) {
			t.Errorf("with interest, r2 got %q, want %q", got, want)
		}

		r2.Interest("gated", false)
		propagate(t, r1, r2, h2)
		publish(`"after interest"`)
		barrier()
		if got, want := h2.on("gated"), []string{`"with interest"`}; !equalStrings(got, want) {
			t.Errorf("after Interest(false), r2 got %q, want %q", got, want)
		}
		if got, want := h1.on("gated"), []string{`"before interest"`, `"with interest"`, `"after interest"`}; !equalStrings(got, want) {
			t.Errorf("the publisher got %q, want %q", got, want)
		}
	})

	t.Run("PerPublisherOrder", func(t *testing.T) {
		const n = 1000
		r1, r2 := newPair(t)
		h1, h2 := startPair(t, r1, r2)
		r1.Interest("order", true)
		r2.Interest("order", true)
		propagate(t, r1, r2, h2)
		propagate(t, r2, r1, h1)

		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, p := range []struct {
			name string
			r    relay.Relay
		}{{"p1", r1}, {"p2", r2}} {
			wg.Go(func() {
				for i := range n {
					if err := p.r.Publish("order", fmt.Appendf(nil, `{"p":%q,"i":%d}`, p.name, i), ""); err != nil {
						errs <- fmt.Errorf("%s: Publish #%d: %w", p.name, i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for name, h := range map[string]*recorder{"r1": h1, "r2": h2} {
			testkit.Eventually(t, 10*time.Second, name+" to receive both publishers' messages", func() bool { return h.count("order") >= 2*n })
			next := map[string]int{}
			for _, d := range h.on("order") {
				var m struct {
					P string
					I int
				}
				if err := json.Unmarshal([]byte(d), &m); err != nil {
					t.Fatalf("%s: bad payload %q: %v", name, d, err)
				}
				if m.I != next[m.P] {
					t.Fatalf("%s: from %s got #%d, want #%d (lost, duplicated or reordered)", name, m.P, m.I, next[m.P])
				}
				next[m.P]++
			}
			if next["p1"] != n || next["p2"] != n {
				t.Errorf("%s: got %d from p1 and %d from p2, want %d each", name, next["p1"], next["p2"], n)
			}
		}
	})

	t.Run("InterestCount", func(t *testing.T) {
		r1, r2 := newPair(t)
		startPair(t, r1, r2)
		bus := r1 != r2
		steps := []struct {
			channel string
			on      bool
			want    int64 // on a bus; a single node subscribes to nothing
		}{
			{"a", true, 1},
			{"a", true, 1}, // already on
			{"b", true, 2},
			{"a", false, 1},
			{"never", false, 1}, // never on
			{"a", false, 1},     // already off
			{"b", false, 0},
		}
		for _, s := range steps {
			r1.Interest(s.channel, s.on)
			want := s.want
			if !bus {
				want = 0
			}
			if got := r1.Stats().Interests; got != want {
				t.Errorf("after Interest(%q, %v): Stats().Interests = %d, want %d", s.channel, s.on, got, want)
			}
		}
		// Interest returns at once; the changes are applied on the bus soon
		// after.
		testkit.Eventually(t, 5*time.Second, "the interest changes to be applied", func() bool { return r1.Stats().InterestsPending == 0 })
	})

	t.Run("CloseSendsWhatWasAccepted", func(t *testing.T) {
		const n = 500
		r1, r2 := newPair(t)
		_, h2 := startPair(t, r1, r2)
		r2.Interest("last", true)
		propagate(t, r1, r2, h2)
		for i := range n {
			if err := r1.Publish("last", fmt.Appendf(nil, `{"i":%d}`, i), ""); err != nil {
				t.Fatalf("Publish #%d: %v", i, err)
			}
		}
		// Close at once: what Publish accepted is on its way to the bus,
		// and Close gives it time to get there.
		if err := r1.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		testkit.Eventually(t, 5*time.Second, "every publication accepted before Close", func() bool { return h2.count("last") == n })
		if s := r1.Stats(); s.Lost != 0 {
			t.Errorf("Stats().Lost = %d after closing with NATS up, want 0", s.Lost)
		}
	})

	t.Run("MessageCounters", func(t *testing.T) {
		r1, r2 := newPair(t)
		h1, h2 := startPair(t, r1, r2)
		if r1 == r2 {
			r1.Interest("stats", true)
			for _, data := range []string{`1`, `"two"`, `{"three":3}`} {
				if err := r1.Publish("stats", []byte(data), ""); err != nil {
					t.Fatalf("Publish: %v", err)
				}
			}
			if got, want := r1.Stats(), (relay.Stats{Kind: "local", Connected: true}); got != want {
				t.Errorf("Stats() = %+v, want %+v: a single node has no bus to count", got, want)
			}
			return
		}
		r2.Interest("stats", true)
		propagate(t, r1, r2, h2)
		// A first publication flushes the probes out of the way, so the
		// counters below move only for what this test sends.
		if err := r1.Publish("stats", []byte(`0`), ""); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		testkit.Eventually(t, 5*time.Second, "the first publication", func() bool { return h2.count("stats") == 1 })
		b1, b2 := r1.Stats(), r2.Stats()

		payloads := []string{`1`, `"two"`, `{"three":3}`}
		size := 0
		for _, data := range payloads {
			size += len(data)
			if err := r1.Publish("stats", []byte(data), ""); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		}
		testkit.Eventually(t, 5*time.Second, "r2 to receive the publications", func() bool { return h2.count("stats") == 1+len(payloads) })
		n, nb := int64(len(payloads)), int64(size)
		// The publisher counts a publication once its bus goroutine has
		// handed it over, which may be a moment after r2 has it.
		testkit.Eventually(t, 5*time.Second, "r1's counters to settle", func() bool {
			s := r1.Stats()
			return s.MessagesOut-b1.MessagesOut == n && s.BufferedMessages == 0
		})
		a1, a2 := r1.Stats(), r2.Stats()
		for _, c := range []struct {
			what      string
			got, want int64
		}{
			{"r1 MessagesOut", a1.MessagesOut - b1.MessagesOut, n},
			{"r1 BytesOut", a1.BytesOut - b1.BytesOut, nb},
			{"r1 MessagesIn", a1.MessagesIn - b1.MessagesIn, 0},
			{"r1 Delivered", a1.Delivered - b1.Delivered, 0},
			{"r2 MessagesIn", a2.MessagesIn - b2.MessagesIn, n},
			{"r2 BytesIn", a2.BytesIn - b2.BytesIn, nb},
			{"r2 Delivered", a2.Delivered - b2.Delivered, n},
			{"r2 MessagesOut", a2.MessagesOut - b2.MessagesOut, 0},
			{"r1 Interests", a1.Interests, 0},
			{"r2 Interests", a2.Interests, 1},
		} {
			if c.got != c.want {
				t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
			}
		}
		for i, s := range []relay.Stats{a1, a2} {
			if s.Invalid != 0 || s.Refused != 0 || s.Dropped != 0 || s.Lost != 0 || s.BufferedBytes != 0 || s.BufferedMessages != 0 || s.Reconnects != 0 {
				t.Errorf("r%d: Stats() = %+v, want no invalid, refused, dropped, lost, buffered or reconnects", i+1, s)
			}
		}
		if got := h1.count("stats"); got != 1+len(payloads) {
			t.Errorf("r1's handler got %d publications, want %d", got, 1+len(payloads))
		}
	})

	t.Run("PublishAfterClose", func(t *testing.T) {
		r1, r2 := newPair(t)
		h1, _ := startPair(t, r1, r2)
		if err := r1.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		// "Close stops delivery": a publication after it is refused and
		// reaches no handler.
		if err := r1.Publish("closed", []byte(`{}`), ""); err == nil {
			t.Errorf("Publish after Close = nil, want an error")
		}
		if got := h1.on("closed"); len(got) != 0 {
			t.Errorf("after Close, the handler got %q", got)
		}
	})
}

func TestLocalContract(t *testing.T) {
	testRelayContract(t, func(t *testing.T) (relay.Relay, relay.Relay) {
		l := relay.NewLocal()
		t.Cleanup(func() { _ = l.Close() })
		return l, l
	})
}
