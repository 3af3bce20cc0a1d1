package reactor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wsgate/wsgate/relay"
)

// testMaxChannels is the hub's channel limit in these tests, below the 8
// channels TestTopicIndexRandomSubscribeUnsubscribe uses.
const testMaxChannels = 6

// newTestLoop is a loop with a hub and no gnet loop behind it: enough for
// the topic index, which never does I/O.
func newTestLoop() *loop {
	e := &Engine{hub: newHub(relay.NewLocal(), 1, testMaxChannels)}
	return &loop{eng: e, topics: make(map[string]*topic)}
}

// checkIndex verifies that every connection's subscriptions and every
// topic's subscriber list agree, position for position.
func checkIndex(t *testing.T, l *loop, conns []*conn, want map[*conn]map[string]bool) {
	t.Helper()
	total := 0
	for _, c := range conns {
		if got := c.subs.len(); got != len(want[c]) {
			t.Fatalf("conn has %d subscriptions, want %d", got, len(want[c]))
		}
		for ch := range want[c] {
			tp := l.topics[ch]
			if tp == nil {
				t.Fatalf("no topic %q", ch)
			}
			sub := c.subs.find(tp)
			if sub == nil || tp.subs[sub.pos] != c {
				t.Fatalf("subscription to %q points at the wrong slot", ch)
			}
		}
		total += len(want[c])
	}
	n := 0
	for name, tp := range l.topics {
		if len(tp.subs) == 0 {
			t.Fatalf("empty topic %q kept", name)
		}
		n += len(tp.subs)
	}
	if n != total || l.stats.subscriptions.Load() != int64(total) {
		t.Fatalf("topics hold %d subscriptions, stats %d, want %d", n, l.stats.subscriptions.Load(), total)
	}
	if got := l.eng.hub.channelCount(); got != len(l.topics) {
		t.Fatalf("hub knows %d channels, loop %d", got, len(l.topics))
	}
}

func TestTopicIndexRandomSubscribeUnsubscribe(t *testing.T) {
	l := newTestLoop()
	rng := rand.New(rand.NewPCG(1, 2))
	conns := make([]*conn, 20)
	want := map[*conn]map[string]bool{}
	for i := range conns {
		conns[i] = &conn{loop: l}
		want[conns[i]] = map[string]bool{}
	}
	for step := range 5000 {
		c := conns[rng.IntN(len(conns))]
		ch := fmt.Sprintf("ch.%d", rng.IntN(8))
		switch rng.IntN(5) {
		case 0, 1:
			full := l.topics[ch] == nil && l.eng.hub.channelCount() >= testMaxChannels
			added, err := l.subscribe(c, ch)
			if full {
				if added || err != errTooManyChannels {
					t.Fatalf("step %d: subscribe to a channel past the limit: added %v, err %v", step, added, err)
				}
				continue
			}
			if err != nil || added == want[c][ch] {
				t.Fatalf("step %d: subscribe reported %v with subscribed=%v", step, added, want[c][ch])
			}
			want[c][ch] = true
		case 2, 3:
			removed := l.unsubscribe(c, ch)
			if removed != want[c][ch] {
				t.Fatalf("step %d: unsubscribe reported %v with subscribed=%v", step, removed, want[c][ch])
			}
			delete(want[c], ch)
		case 4:
			l.leaveAll(c)
			want[c] = map[string]bool{}
		}
		checkIndex(t, l, conns, want)
	}
}
