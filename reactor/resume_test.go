package reactor

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
)

// historyGateway is a node whose in-process relay keeps size publications
// per channel.
func historyGateway(t *testing.T, size int) *Engine {
	return gateway(t, Config{Relay: relay.NewLocalHistory(relay.HistoryConfig{Size: size}), MessageRate: -1, ByteRate: -1})
}

// position is a subscribe ack's place in the channel.
type position struct {
	offset uint64
	epoch  string
}

// subscribeAt subscribes c to channel (resuming from since when not nil)
// and returns the ack.
func subscribeAt(t *testing.T, c *wstest.Conn, channel string, since *position) map[string]any {
	t.Helper()
	frame := fmt.Sprintf(`{"type":"subscribe","channel":%q,"id":1}`, channel)
	if since != nil {
		frame = fmt.Sprintf(`{"type":"subscribe","channel":%q,"id":1,"since":{"offset":%d,"epoch":%q}}`, channel, since.offset, since.epoch)
	}
	ack := send(t, c, frame)
	if ack["type"] != "ack" || ack["channel"] != channel || ack["epoch"] == nil || ack["offset"] == nil {
		t.Fatalf("subscribe %s: got %v, want an ack with channel, offset and epoch", channel, ack)
	}
	return ack
}

func ackPosition(ack map[string]any) position {
	return position{uint64(ack["offset"].(float64)), ack["epoch"].(string)}
}

// readMessages reads n message frames of channel, checking that offsets
// follow prev without gap after last, and returns their data and the last
// offset.
func readMessages(t *testing.T, c *wstest.Conn, channel string, n int, last uint64) ([]string, uint64) {
	t.Helper()
	var got []string
	for range n {
		m := readJSON(t, c)
		if m["type"] != "message" || m["channel"] != channel {
			t.Fatalf("after %d messages: got %v", len(got), m)
		}
		off, prev := uint64(m["offset"].(float64)), uint64(m["prev"].(float64))
		if prev > last || off <= last {
			t.Fatalf("after offset %d: offset %d prev %d (a gap or a duplicate)", last, off, prev)
		}
		last = off
		got = append(got, fmt.Sprint(m["data"]))
	}
	return got, last
}

func TestHistorySubscribeAckAndOffsets(t *testing.T) {
	e := historyGateway(t, 100)
	c := dialWS(t, e, "/ws")
	ack := subscribeAt(t, c, "h", nil)
	if ack["recovered"] != nil {
		t.Fatalf("a subscribe without since says recovered: %v", ack)
	}
	if ack["offset"] != float64(0) {
		t.Fatalf("offset of an empty channel: %v", ack["offset"])
	}
	for i := range 3 {
		if err := e.Publish("h", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if got, last := readMessages(t, c, "h", 3, 0); fmt.Sprint(got) != "[0 1 2]" || last != 3 {
		t.Fatalf("got %v up to offset %d", got, last)
	}
}

// TestHistoryResumeSeam resumes while publications keep coming: the client
// must get every publication after its offset once, in order, the replay
// meeting the live feed with no gap and no duplicate.
func TestHistoryResumeSeam(t *testing.T) {
	e := historyGateway(t, 10000)
	for round := range 20 {
		c := dialWS(t, e, "/ws")
		from := subscribeAt(t, c, "seam", nil)
		_ = c.Close()
		pos := ackPosition(from)
		// Publications the client misses, then more while it resumes.
		var published atomic.Int64
		for range 50 {
			if err := e.Publish("seam", []byte(fmt.Sprint(published.Add(1)))); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if published.Load() >= 3000 {
					return // within the 10,000 kept: the resume must recover it all
				}
				_ = e.Publish("seam", []byte(fmt.Sprint(published.Add(1))))
				time.Sleep(time.Duration(round%3) * 100 * time.Microsecond)
			}
		}()
		c = dialWS(t, e, "/ws")
		ack := subscribeAt(t, c, "seam", &pos)
		if ack["recovered"] != true {
			close(stop)
			wg.Wait()
			t.Fatalf("round %d: resume from %+v: %v", round, pos, ack)
		}
		time.Sleep(5 * time.Millisecond)
		close(stop)
		wg.Wait()
		total := int(published.Load())
		got, _ := readMessages(t, c, "seam", total, pos.offset)
		for i, d := range got {
			if d != fmt.Sprint(i+1) {
				t.Fatalf("round %d: message %d is %s", round, i, d)
			}
		}
		_ = c.Close()
		// The next round starts from a fresh subscription's position.
	}
}

func TestHistoryResumeRefused(t *testing.T) {
	e := historyGateway(t, 5)
	c := dialWS(t, e, "/ws")
	first := ackPosition(subscribeAt(t, c, "r", nil))
	for i := range 10 {
		if err := e.Publish("r", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	_, last := readMessages(t, c, "r", 10, first.offset)
	for _, tc := range []struct {
		name  string
		since position
	}{
		{"too old", first},
		{"wrong epoch", position{last - 1, first.epoch + "x"}},
		{"never given out", position{last + 100, first.epoch}},
	} {
		c := dialWS(t, e, "/ws")
		ack := subscribeAt(t, c, "r", &tc.since)
		if ack["recovered"] != false || ack["offset"] != float64(last) || ack["epoch"] != first.epoch {
			t.Fatalf("%s: %v, want recovered false at offset %d epoch %s", tc.name, ack, last, first.epoch)
		}
		if err := e.Publish("r", []byte(`"live"`)); err != nil {
			t.Fatal(err)
		}
		got, _ := readMessages(t, c, "r", 1, last)
		if got[0] != "live" {
			t.Fatalf("%s: after the ack, %v; want the live publication only", tc.name, got)
		}
		last++
	}
}

func TestHistoryBadSinceAndNoHistory(t *testing.T) {
	e := historyGateway(t, 5)
	c := dialWS(t, e, "/ws")
	for _, frame := range []string{
		`{"type":"subscribe","channel":"x","id":1,"since":5}`,
		`{"type":"subscribe","channel":"x","id":1,"since":{"offset":-1,"epoch":"e"}}`,
		`{"type":"subscribe","channel":"x","id":1,"since":{"offset":1}}`,
		`{"type":"subscribe","channel":"x","id":1,"since":{"offset":1,"epoch":"a b"}}`,
		`{"type":"history","channel":"x","id":1,"since":"yesterday"}`,
	} {
		if got := send(t, c, frame); got["type"] != "error" || got["code"] != wire.CodeBadSince || got["id"] != float64(1) {
			t.Fatalf("%s: got %v, want bad_since", frame, got)
		}
	}
	plain := gateway(t, Config{})
	p := dialWS(t, plain, "/ws")
	for _, frame := range []string{
		`{"type":"subscribe","channel":"x","id":2,"since":{"offset":1,"epoch":"e"}}`,
		`{"type":"history","channel":"x","id":2}`,
	} {
		if got := send(t, p, frame); got["type"] != "error" || got["code"] != wire.CodeNoHistory {
			t.Fatalf("%s without history: got %v, want no_history", frame, got)
		}
	}
}

func TestHistoryFrameIsBounded(t *testing.T) {
	e := historyGateway(t, 1500)
	for i := range 1200 {
		if err := e.Publish("big", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	c := dialWS(t, e, "/ws")
	got := send(t, c, `{"type":"history","channel":"big","id":3,"limit":5000}`)
	pubs, _ := got["publications"].([]any)
	if got["type"] != "history" || len(pubs) != wire.MaxHistoryLimit || got["more"] != true || got["offset"] != float64(1200) {
		t.Fatalf("limit 5000: type %v, %d publications, more %v, offset %v; want history, %d, true, 1200", got["type"], len(pubs), got["more"], got["offset"], wire.MaxHistoryLimit)
	}
	got = send(t, c, `{"type":"history","channel":"big","id":4}`)
	if pubs, _ := got["publications"].([]any); len(pubs) != wire.DefaultHistoryLimit {
		t.Fatalf("default limit: %d publications", len(pubs))
	}
	first := got["publications"].([]any)[0].(map[string]any)
	if first["offset"] != float64(1) || first["data"] != float64(0) {
		t.Fatalf("oldest retained: %v", first)
	}
}

func TestClientPublishIdempotencyKey(t *testing.T) {
	for _, size := range []int{0, 10} {
		t.Run(fmt.Sprintf("history %d", size), func(t *testing.T) {
			e := gateway(t, Config{Relay: relay.NewLocalHistory(relay.HistoryConfig{Size: size})})
			sub := dialWS(t, e, "/ws?channels=k")
			testkit.Eventually(t, waitTimeout, "subscription", func() bool { return e.Stats().Subscriptions == 1 })
			if size > 0 {
				readJSON(t, sub) // the ack of a channel with history
			}
			pub := dialWS(t, e, "/ws")
			for i := range 3 {
				if got := send(t, pub, fmt.Sprintf(`{"type":"publish","channel":"k","data":%d,"idempotency_key":"order-17","id":%d}`, i, i)); got["type"] != "ack" {
					t.Fatalf("publish %d: %v", i, got)
				}
			}
			if got := send(t, pub, `{"type":"publish","channel":"k","data":"other","idempotency_key":"order-18","id":9}`); got["type"] != "ack" {
				t.Fatalf("publish: %v", got)
			}
			if m := readJSON(t, sub); m["data"] != float64(0) {
				t.Fatalf("first delivery %v", m)
			}
			if m := readJSON(t, sub); m["data"] != "other" {
				t.Fatalf("second delivery %v: a retried key was published again", m)
			}
		})
	}
}
