package reactor

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
)

// drainFrames reads until the connection is quiet for 300 ms and returns
// every frame as JSON.
func drainFrames(t *testing.T, c *wstest.Conn) []map[string]any {
	t.Helper()
	var out []map[string]any
	for {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, p, err := c.ReadMessage()
		if err != nil {
			return out
		}
		var m map[string]any
		if err := json.Unmarshal(p, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}

// TestSlowConsumerConflate: a subscriber that stops reading under the
// conflate policy loses the publications it could not take in time except
// the latest of each channel, which it gets once it reads again, even
// when nothing is published after.
func TestSlowConsumerConflate(t *testing.T) {
	e := gateway(t, Config{MaxOutboundBytes: 32 << 10, SlowPolicy: SlowConflate})
	slow := dialWS(t, e, "/ws?channels=firehose")
	fast := dialWS(t, e, "/ws?channels=firehose")
	testkit.Eventually(t, waitTimeout, "subscriptions", func() bool { return e.Stats().Subscriptions == 2 })
	const msgs = 3000
	publishPaced(t, e, fast, msgs)
	last := fmt.Sprintf(`{"last":%q}`, strings.Repeat("y", 100))
	if err := e.Publish("firehose", []byte(last)); err != nil {
		t.Fatal(err)
	}
	if m := readJSON(t, fast); m["type"] != "message" {
		t.Fatalf("fast: %v", m)
	}
	testkit.Eventually(t, waitTimeout, "conflation", func() bool { return e.Stats().Conflated > 0 })
	frames := drainFrames(t, slow)
	if len(frames) == 0 || len(frames) > msgs {
		t.Fatalf("slow got %d frames", len(frames))
	}
	for _, m := range frames {
		if m["type"] != "message" {
			t.Fatalf("under conflate: %v", m)
		}
	}
	if got := frames[len(frames)-1]["data"].(map[string]any); got["last"] == nil {
		t.Fatalf("the latest publication did not come last: %v", got)
	}
	if e.Stats().Drops != 0 || e.Stats().SlowConsumerCloses != 0 {
		t.Fatalf("drops %d, closes %d under conflate", e.Stats().Drops, e.Stats().SlowConsumerCloses)
	}
	t.Logf("slow subscriber: %d of %d publications, the latest included; %d set aside", len(frames), msgs+1, e.Stats().Conflated)
}

// TestSlowPolicyPerChannel: each channel's own policy applies (drop for
// one, close for another); the drop notice of a channel with history
// names it and the last offset before the gap.
func TestSlowPolicyPerChannel(t *testing.T) {
	policies := map[string]SlowPolicy{"firehose": SlowDrop, "strict": SlowClose}
	e := gateway(t, Config{
		MaxOutboundBytes: 32 << 10, SlowPolicy: SlowConflate,
		SlowPolicyFor: func(ch string) SlowPolicy { return policies[ch] },
		Relay:         relay.NewLocalHistory(relay.HistoryConfig{Size: 10000}),
	})
	slow := dialWS(t, e, "/ws?channels=firehose")
	fast := dialWS(t, e, "/ws?channels=firehose")
	testkit.Eventually(t, waitTimeout, "subscriptions", func() bool { return e.Stats().Subscriptions == 2 })
	readJSON(t, slow) // the acks of a channel with history
	readJSON(t, fast)
	publishPaced(t, e, fast, 3000)
	testkit.Eventually(t, waitTimeout, "drops", func() bool { return e.Stats().Drops > 0 })
	var last float64
	var notice map[string]any
	for _, m := range drainFrames(t, slow) {
		if m["type"] == "message" {
			if notice != nil {
				t.Fatal("a message after the notice before anything new")
			}
			last = m["offset"].(float64)
			continue
		}
		notice = m
	}
	if notice == nil {
		t.Fatal("no dropped notice")
	}
	if notice["code"] != wire.CodeDropped || notice["channel"] != "firehose" || notice["offset"] != last {
		t.Fatalf("notice %v; want dropped on firehose after offset %v, the last received", notice, last)
	}

	strict := dialWS(t, e, "/ws?channels=strict")
	other := dialWS(t, e, "/ws?channels=strict")
	testkit.Eventually(t, waitTimeout, "subscriptions", func() bool { return e.Stats().Subscriptions == 4 })
	readJSON(t, strict)
	readJSON(t, other)
	payload := []byte(`"` + strings.Repeat("x", 4000) + `"`)
	for range 3000 {
		_ = e.Publish("strict", payload)
		if e.Stats().SlowConsumerCloses > 0 {
			break
		}
	}
	testkit.Eventually(t, waitTimeout, "a slow-consumer close on the close channel", func() bool { return e.Stats().SlowConsumerCloses >= 1 })
}

// TestSlowConsumerConflateForgetsLeftChannels: what a slow connection is
// owed on a channel goes when it leaves the channel, so subscription
// churn cannot pile up held frames, and nothing arrives for a channel it
// left.
func TestSlowConsumerConflateForgetsLeftChannels(t *testing.T) {
	e := gateway(t, Config{MaxOutboundBytes: 32 << 10, SlowPolicy: SlowConflate})
	slow := dialWS(t, e, "/ws?channels=firehose")
	fast := dialWS(t, e, "/ws?channels=firehose")
	testkit.Eventually(t, waitTimeout, "subscriptions", func() bool { return e.Stats().Subscriptions == 2 })
	publishPaced(t, e, fast, 3000)
	before := e.Stats().Conflated
	if err := e.Publish("firehose", []byte(`{"last":true}`)); err != nil {
		t.Fatal(err)
	}
	readJSON(t, fast)
	testkit.Eventually(t, waitTimeout, "the last publication set aside", func() bool { return e.Stats().Conflated > before })
	if err := slow.WriteText([]byte(`{"type":"unsubscribe","channel":"firehose"}`)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, waitTimeout, "the unsubscribe", func() bool { return e.Stats().Subscriptions == 1 })
	for _, m := range drainFrames(t, slow) {
		if d, ok := m["data"].(map[string]any); ok && d["last"] != nil {
			t.Fatalf("a publication set aside for a channel the client left arrived: %v", m)
		}
	}
}
