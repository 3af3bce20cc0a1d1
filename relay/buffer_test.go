package relay_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
)

// discard is a Handler that keeps nothing, so the heap measures the relay.
type discard struct{}

func (discard) Deliver(string, relay.Seq, []byte) {}

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestNATSQueueChargesRealCost: publications held while NATS is down are
// charged what they really cost and kept off the Go heap, so filling the
// buffer until it refuses leaves the heap where it was, and stays within
// its bounds. (Charging only the data bytes, 100,000 one-byte publications
// on a 255-byte channel counted as 100,000 bytes held 48.5 MiB, and an
// 8 MiB buffer could hold gigabytes. Held on the Go heap, charged their
// cost, they grew the heap by the charge and a node's RSS by 2.2 times it.)
// TestPubQueueResidentWithinCharge measures the queue's own memory.
func TestNATSQueueChargesRealCost(t *testing.T) {
	for _, tc := range []struct {
		name, channel string
		dataLen       int
		bound         string // which bound refuses first with the defaults
	}{
		{"255-byte channel, 1-byte data", strings.Repeat("c", wire.MaxChannelLength), 1, "bytes"},
		{"1-byte channel, 1-byte data", "c", 1, "messages"},
		{"20-byte channel, 1000-byte data", strings.Repeat("c", 20), 1000, "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := relay.DialNATS(relay.NATSConfig{
				URLs:       []string{"nats://" + testkit.ReserveAddr(t)},
				CloseGrace: time.Millisecond, // NATS never comes: do not wait for it
				Logger:     quietLogger,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close() })
			if err := r.Start(discard{}); err != nil {
				t.Fatal(err)
			}
			data := []byte("1")
			if tc.dataLen > 1 {
				data = []byte(`"` + strings.Repeat("x", tc.dataLen-2) + `"`)
			}
			before := heapInUse()
			n := 0
			for {
				err := r.Publish(tc.channel, data, "")
				if errors.Is(err, relay.ErrBufferFull) {
					break
				}
				if err != nil {
					t.Fatalf("Publish #%d: %v", n, err)
				}
				n++
			}
			grew := heapInUse() - before
			s := r.Stats()
			t.Logf("%d publications held, charged %d bytes (%d each), heap grew %d bytes (%d each): %.2f of the charge",
				n, s.BufferedBytes, s.BufferedBytes/int64(n), grew, grew/int64(n), float64(grew)/float64(s.BufferedBytes))
			if s.BufferedMessages != int64(n) || s.Refused != 1 {
				t.Errorf("Stats() = %+v, want %d publications held and 1 refused", s, n)
			}
			if s.BufferedBytes > relay.DefaultPublishBuffer || n > relay.DefaultPublishBufferMsgs {
				t.Errorf("held %d publications charged %d bytes, over the bounds %d and %d",
					n, s.BufferedBytes, relay.DefaultPublishBufferMsgs, relay.DefaultPublishBuffer)
			}
			switch tc.bound {
			case "bytes":
				if cost := int64(len("wsgate.ch."+tc.channel) + tc.dataLen + relay.PublicationOverhead); s.BufferedBytes+cost <= relay.DefaultPublishBuffer {
					t.Errorf("refused at %d bytes held, with room for one more of %d", s.BufferedBytes, cost)
				}
			case "messages":
				if n != relay.DefaultPublishBufferMsgs {
					t.Errorf("refused after %d publications, want %d", n, relay.DefaultPublishBufferMsgs)
				}
			}
			if grew > s.BufferedBytes/4 {
				t.Errorf("the heap grew %d bytes for %d charged: the held publications are on it", grew, s.BufferedBytes)
			}
			runtime.KeepAlive(r)
		})
	}
}
