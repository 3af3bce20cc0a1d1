package relay_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/natstest"
	"github.com/wsgate/wsgate/relay"
)

// delivered is one Deliver call with its place in the channel.
type delivered struct {
	channel string
	seq     relay.Seq
	data    string
}

// seqRecorder is a relay.Handler that keeps every delivery with its Seq.
type seqRecorder struct {
	mu   sync.Mutex
	recs []delivered
}

func (r *seqRecorder) Deliver(channel string, seq relay.Seq, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, delivered{channel, seq, string(bytes.Clone(data))})
}

func (r *seqRecorder) on(channel string) []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivered
	for _, d := range r.recs {
		if d.channel == channel {
			out = append(out, d)
		}
	}
	return out
}

// historyRelays runs f against every relay that keeps history: the
// in-process one (memory) and NATS with JetStream (file store), each
// started with a seqRecorder and interested in channels.
func historyRelays(t *testing.T, cfg relay.HistoryConfig, channels []string, f func(t *testing.T, r relay.Relay, rec *seqRecorder)) {
	t.Run("memory", func(t *testing.T) {
		r := relay.NewLocalHistory(cfg)
		rec := &seqRecorder{}
		if err := r.Start(rec); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		f(t, r, rec)
	})
	t.Run("jetstream", func(t *testing.T) {
		srv := startJetStream(t)
		r := dialNATS(t, srv, "history", relay.NATSConfig{History: cfg})
		rec := &seqRecorder{}
		if err := r.Start(rec); err != nil {
			t.Fatal(err)
		}
		for _, ch := range channels {
			r.Interest(ch, true)
		}
		testkit.Eventually(t, 10*time.Second, "interests applied", func() bool {
			return r.Stats().InterestsPending == 0
		})
		f(t, r, rec)
	})
}

// startJetStream runs a nats-server with JetStream on a file store in a
// temporary directory.
func startJetStream(t testing.TB) *server.Server {
	dir := t.TempDir()
	return natstest.Start(t, func(o *server.Options) { o.JetStream, o.StoreDir = true, dir })
}

func store(t *testing.T, r relay.Relay, channel, data, key string) relay.Position {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pos, err := r.Store(ctx, channel, []byte(data), key)
	if err != nil {
		t.Fatalf("Store(%s, %s): %v", channel, data, err)
	}
	return pos
}

func read(t *testing.T, r relay.Relay, channel string, since *relay.Position, limit int) relay.Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := r.Read(ctx, channel, since, limit, 1<<20)
	if err != nil {
		t.Fatalf("Read(%s): %v", channel, err)
	}
	return p
}

func datas(entries []relay.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, string(e.Data))
	}
	return out
}

// checkChain fails unless offsets increase and each Prev is the offset
// before it (the first's Prev is at least first and below its offset: a
// channel's numbering may start anywhere).
func checkChain(t *testing.T, what string, seqs []relay.Seq, first uint64) {
	t.Helper()
	prev := first
	for i, s := range seqs {
		if i == 0 && s.Prev >= first {
			prev = s.Prev
		}
		if s.Offset <= prev || s.Prev != prev {
			t.Fatalf("%s #%d: offset %d prev %d after offset %d", what, i, s.Offset, s.Prev, prev)
		}
		prev = s.Offset
	}
}

func TestHistoryOffsetsPrevAndLiveOrder(t *testing.T) {
	historyRelays(t, relay.HistoryConfig{Size: 100}, []string{"a", "b"}, func(t *testing.T, r relay.Relay, rec *seqRecorder) {
		for i := range 10 {
			ch := []string{"a", "b"}[i%3%2] // a, b, a, a, b, a, …: interleaved channels
			if err := r.Publish(ch, fmt.Appendf(nil, "%d", i), ""); err != nil {
				t.Fatal(err)
			}
		}
		testkit.Eventually(t, 10*time.Second, "10 deliveries", func() bool { return len(rec.on("a"))+len(rec.on("b")) == 10 })
		for _, ch := range []string{"a", "b"} {
			var seqs []relay.Seq
			for _, d := range rec.on(ch) {
				seqs = append(seqs, d.seq)
			}
			checkChain(t, "live "+ch, seqs, 0)
			p := read(t, r, ch, nil, 100)
			if p.Position.Offset != seqs[len(seqs)-1].Offset || p.Position.Epoch == "" {
				t.Fatalf("position %+v, want the last live offset %d and an epoch", p.Position, seqs[len(seqs)-1].Offset)
			}
			var stored []relay.Seq
			for _, e := range p.Entries {
				stored = append(stored, e.Seq)
			}
			checkChain(t, "read "+ch, stored, 0)
		}
	})
}

func TestHistoryResume(t *testing.T) {
	historyRelays(t, relay.HistoryConfig{Size: 5}, []string{"r"}, func(t *testing.T, r relay.Relay, _ *seqRecorder) {
		var pos []relay.Position
		for i := range 8 {
			pos = append(pos, store(t, r, "r", fmt.Sprint(i), ""))
		}
		epoch := pos[7].Epoch
		t.Run("recovered", func(t *testing.T) {
			p := read(t, r, "r", &pos[4], 100)
			if !p.Recovered || fmt.Sprint(datas(p.Entries)) != "[5 6 7]" || p.Position != pos[7] {
				t.Fatalf("since #4: recovered %v, %v, position %+v; want true, [5 6 7], %+v", p.Recovered, datas(p.Entries), p.Position, pos[7])
			}
			if p.Entries[0].Prev != pos[4].Offset {
				t.Fatalf("first replayed prev %d, want %d", p.Entries[0].Prev, pos[4].Offset)
			}
		})
		t.Run("nothing missed", func(t *testing.T) {
			if p := read(t, r, "r", &pos[7], 100); !p.Recovered || len(p.Entries) != 0 {
				t.Fatalf("since the last: recovered %v, %d entries; want true, none", p.Recovered, len(p.Entries))
			}
		})
		t.Run("too old", func(t *testing.T) {
			p := read(t, r, "r", &pos[1], 100)
			if p.Recovered || fmt.Sprint(datas(p.Entries)) != "[3 4 5 6 7]" {
				t.Fatalf("since #1 with 5 kept: recovered %v, %v; want false and the 5 kept", p.Recovered, datas(p.Entries))
			}
		})
		t.Run("wrong epoch", func(t *testing.T) {
			if p := read(t, r, "r", &relay.Position{Offset: pos[5].Offset, Epoch: epoch + "x"}, 100); p.Recovered {
				t.Fatal("another epoch recovered")
			}
		})
		t.Run("from the future", func(t *testing.T) {
			if p := read(t, r, "r", &relay.Position{Offset: pos[7].Offset + 1000, Epoch: epoch}, 100); p.Recovered {
				t.Fatal("an offset never given out recovered")
			}
		})
		t.Run("limit", func(t *testing.T) {
			p := read(t, r, "r", &pos[3], 2)
			if !p.Recovered || fmt.Sprint(datas(p.Entries)) != "[4 5]" || !p.More {
				t.Fatalf("limit 2: recovered %v, %v, more %v; want true, [4 5], true", p.Recovered, datas(p.Entries), p.More)
			}
		})
		t.Run("position only", func(t *testing.T) {
			if p := read(t, r, "r", &pos[3], 0); len(p.Entries) != 0 || p.Position != pos[7] {
				t.Fatalf("limit 0: %d entries, position %+v", len(p.Entries), p.Position)
			}
		})
	})
}

func TestHistoryIdempotentStore(t *testing.T) {
	historyRelays(t, relay.HistoryConfig{Size: 10}, []string{"k"}, func(t *testing.T, r relay.Relay, rec *seqRecorder) {
		first := store(t, r, "k", `"once"`, "key-1")
		again := store(t, r, "k", `"once"`, "key-1")
		other := store(t, r, "k", `"twice"`, "key-2")
		if again.Offset != first.Offset || other.Offset <= first.Offset {
			t.Fatalf("offsets: first %d, retry %d, other key %d", first.Offset, again.Offset, other.Offset)
		}
		testkit.Eventually(t, 10*time.Second, "2 deliveries", func() bool { return len(rec.on("k")) >= 2 })
		time.Sleep(100 * time.Millisecond) // a duplicate would come about now
		if got := rec.on("k"); len(got) != 2 {
			t.Fatalf("deliveries %v, want the key's once and the other key's", got)
		}
		if p := read(t, r, "k", nil, 10); fmt.Sprint(datas(p.Entries)) != `["once" "twice"]` {
			t.Fatalf("retained %v", datas(p.Entries))
		}
	})
}

func TestHistoryTTL(t *testing.T) {
	historyRelays(t, relay.HistoryConfig{Size: 10, TTL: time.Second}, []string{"t"}, func(t *testing.T, r relay.Relay, _ *seqRecorder) {
		old := store(t, r, "t", "1", "")
		testkit.Eventually(t, 10*time.Second, "the publication to expire", func() bool {
			return len(read(t, r, "t", nil, 10).Entries) == 0
		})
		if p := read(t, r, "t", &old, 10); !p.Recovered {
			// Nothing was published after it: nothing was missed.
			t.Fatalf("resume from the last publication after it expired: not recovered (%+v)", p.Position)
		}
		store(t, r, "t", "2", "")
		testkit.Eventually(t, 10*time.Second, "the second to expire", func() bool {
			return len(read(t, r, "t", nil, 10).Entries) == 0
		})
		if p := read(t, r, "t", &old, 10); p.Recovered {
			t.Fatal("resume past an expired publication recovered")
		}
	})
}

// TestHistoryResumeEvictedByChannelLimit: the channel's own limit dropped
// publications after since while another channel keeps the stream's
// oldest sequence low; the resume must not claim them.
func TestHistoryResumeEvictedByChannelLimit(t *testing.T) {
	historyRelays(t, relay.HistoryConfig{Size: 2}, nil, func(t *testing.T, r relay.Relay, _ *seqRecorder) {
		store(t, r, "other", "0", "")
		since := store(t, r, "evicted", "1", "")
		for i := 2; i <= 4; i++ {
			store(t, r, "evicted", fmt.Sprint(i), "")
		}
		if p := read(t, r, "evicted", &since, 10); p.Recovered {
			t.Fatalf("resume past publications the channel limit dropped: recovered, %v", datas(p.Entries))
		}
	})
}

// TestMemoryHistoryBound: --history-max-bytes bounds the store whatever
// the channels do: rings are charged for the slots they have, and names
// made up by readers evict each other before any published channel.
func TestMemoryHistoryBound(t *testing.T) {
	const bound = 1 << 20
	t.Run("many channels with a large size", func(t *testing.T) {
		before := heapInUse()
		r := relay.NewLocalHistory(relay.HistoryConfig{Size: 1000, MaxBytes: bound})
		if err := r.Start(discard{}); err != nil {
			t.Fatal(err)
		}
		for i := range 20000 {
			if err := r.Publish(fmt.Sprintf("c.%d", i), []byte("1"), ""); err != nil {
				t.Fatal(err)
			}
		}
		charged := r.Stats().HistoryBytes
		grown := heapInUse() - before
		if charged > bound || grown > 2*bound {
			t.Fatalf("charged %d, heap grew %d; bound %d", charged, grown, bound)
		}
		t.Logf("charged %d, heap grew %d, %d channels kept", charged, grown, r.Stats().HistoryChannels)
	})
	t.Run("reads of made-up names", func(t *testing.T) {
		r := relay.NewLocalHistory(relay.HistoryConfig{Size: 10, MaxBytes: 100 << 10})
		if err := r.Start(discard{}); err != nil {
			t.Fatal(err)
		}
		real := store(t, r, "real", `"kept"`, "")
		for i := range 10000 {
			read(t, r, fmt.Sprintf("made.up.%d", i), nil, 0)
		}
		if charged := r.Stats().HistoryBytes; charged > 100<<10 {
			t.Fatalf("charged %d over the bound", charged)
		}
		if p := read(t, r, "real", &relay.Position{Offset: real.Offset - 1, Epoch: real.Epoch}, 10); !p.Recovered || len(p.Entries) != 1 {
			t.Fatalf("a published channel was evicted by reads: recovered %v, %d entries", p.Recovered, len(p.Entries))
		}
	})
}

// TestMemoryHistoryOffsetsNeverRepeat: a channel evicted and published
// again starts a new epoch numbered past every offset given before, so a
// subscriber holding an old offset sees a gap, not duplicates.
func TestMemoryHistoryOffsetsNeverRepeat(t *testing.T) {
	rec := &seqRecorder{}
	r := relay.NewLocalHistory(relay.HistoryConfig{Size: 100, MaxBytes: 8 << 10})
	if err := r.Start(rec); err != nil {
		t.Fatal(err)
	}
	var old relay.Position
	for i := range 5 {
		old = store(t, r, "quiet", fmt.Sprint(i), "")
	}
	for i := range 200 { // busier channels push "quiet" out
		store(t, r, fmt.Sprintf("busy.%d", i%50), strings.Repeat("x", 100), "")
	}
	if p := read(t, r, "quiet", &old, 10); p.Recovered || p.Position.Epoch == old.Epoch {
		t.Fatalf("after eviction: recovered %v, epoch %s (was %s)", p.Recovered, p.Position.Epoch, old.Epoch)
	}
	fresh := store(t, r, "quiet", `"again"`, "")
	got := rec.on("quiet")
	last := got[len(got)-1].seq
	if fresh.Offset <= old.Offset || last.Prev < old.Offset || last.Offset != fresh.Offset {
		t.Fatalf("old offset %d; new publication offset %d prev %d", old.Offset, last.Offset, last.Prev)
	}
}

// TestHistoryNonJSONFromTheBus: data a backend stored on a history subject
// that is not JSON keeps its place and goes out as null, live and in
// replay.
func TestHistoryNonJSONFromTheBus(t *testing.T) {
	srv := startJetStream(t)
	r := dialNATS(t, srv, "history", relay.NATSConfig{History: relay.HistoryConfig{Size: 10}})
	rec := &seqRecorder{}
	if err := r.Start(rec); err != nil {
		t.Fatal(err)
	}
	r.Interest("raw", true)
	testkit.Eventually(t, 10*time.Second, "interest applied", func() bool { return r.Stats().InterestsPending == 0 })
	first := store(t, r, "raw", `"ok"`, "")
	raw := dialRaw(t, srv)
	if err := raw.Publish(relay.DefaultHistorySubject+".raw", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if err := raw.Flush(); err != nil { // stored before the next
		t.Fatal(err)
	}
	store(t, r, "raw", `"after"`, "")
	testkit.Eventually(t, 10*time.Second, "3 deliveries", func() bool { return len(rec.on("raw")) == 3 })
	if got := rec.on("raw"); got[1].data != "null" || got[2].seq.Prev != got[1].seq.Offset {
		t.Fatalf("live: %+v", got)
	}
	if p := read(t, r, "raw", &first, 10); fmt.Sprint(datas(p.Entries)) != `[null "after"]` {
		t.Fatalf("replay: %v", datas(p.Entries))
	}
}

// TestHistoryNamespaces: the first namespace matching a channel sets its
// history (size 0: none); a channel none matches takes the default.
func TestHistoryNamespaces(t *testing.T) {
	prefix := func(p string) func(string) bool {
		return func(ch string) bool { return strings.HasPrefix(ch, p) }
	}
	cfg := relay.HistoryConfig{Size: 5, Namespaces: []relay.Namespace{
		{Name: "short", Match: prefix("short."), Size: 2},
		{Name: "off", Match: prefix("off."), Size: 0},
		{Name: "shadowed", Match: prefix("short."), Size: 100},
	}}
	historyRelays(t, cfg, []string{"short.a", "off.a", "plain"}, func(t *testing.T, r relay.Relay, rec *seqRecorder) {
		for ch, want := range map[string]bool{"short.a": true, "off.a": false, "plain": true} {
			if r.Retains(ch) != want {
				t.Fatalf("Retains(%s) = %v", ch, !want)
			}
		}
		for i := range 4 {
			store(t, r, "short.a", fmt.Sprint(i), "")
			store(t, r, "plain", fmt.Sprint(i), "")
		}
		if got := datas(read(t, r, "short.a", nil, 10).Entries); fmt.Sprint(got) != "[2 3]" {
			t.Fatalf("short.a keeps %v, want the last 2", got)
		}
		if got := datas(read(t, r, "plain", nil, 10).Entries); len(got) != 4 {
			t.Fatalf("plain keeps %v, want 4", got)
		}
		if err := r.Publish("off.a", []byte(`"x"`), ""); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 10*time.Second, "the delivery without history", func() bool { return len(rec.on("off.a")) == 1 })
		if d := rec.on("off.a")[0]; d.seq != (relay.Seq{}) {
			t.Fatalf("off.a delivered with %+v, want no offset", d.seq)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := r.Read(ctx, "off.a", nil, 10, 1<<20); !errors.Is(err, relay.ErrNoHistory) {
			t.Fatalf("Read(off.a): %v, want ErrNoHistory", err)
		}
	})
}

func TestHistoryConfigValidate(t *testing.T) {
	match := func(string) bool { return true }
	err := relay.HistoryConfig{Size: -1, TTL: -1, Replicas: 9, Namespaces: []relay.Namespace{
		{Name: "Bad", Match: match}, {Name: "a", Match: match}, {Name: "a", Match: match}, {Name: "b"}, {Name: "c", Match: match, Size: -2},
	}}.Validate()
	for _, want := range []string{"size must not be negative", "ttl must not be negative", "replicas", `name "Bad"`, `"a" is taken`, `"b" matches nothing`, `namespace "c": size and ttl`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want %q", err, want)
		}
	}
}
