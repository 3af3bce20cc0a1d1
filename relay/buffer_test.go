package relay_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
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

// residentBytes is the process's RSS after a full collection has returned
// what it could to the system.
func residentBytes(t *testing.T) int64 {
	t.Helper()
	debug.FreeOSMemory()
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(statm), &size, &resident); err != nil {
		t.Fatalf("/proc/self/statm: %v", err)
	}
	return resident * int64(os.Getpagesize())
}

// TestNATSQueueChargesRealCost: publications held while NATS is down are
// charged what they really cost, so filling the buffer until it refuses
// grows the process's RSS by at most what the buffer says it holds (and
// 1 MiB of slack), and
// that is within its bounds. (Charging only the data bytes, 100,000
// one-byte publications on a 255-byte channel counted as 100,000 bytes
// held 48.5 MiB, and an 8 MiB buffer could hold gigabytes. Held on the Go
// heap, charged their cost, they grew the heap by the charge and a node's
// RSS by 2.2 times it.)
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
			before := residentBytes(t)
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
			grew := residentBytes(t) - before
			s := r.Stats()
			t.Logf("%d publications held, charged %d bytes (%d each), RSS grew %d bytes (%d each): %.2f of the charge",
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
			// The slack is for the rest of the process (the runtime, the
			// relay's goroutines, the race detector's shadow memory).
			const slack = 1 << 20
			if grew > s.BufferedBytes+slack {
				t.Errorf("RSS grew %d bytes for %d charged: more than the charge and %d bytes of slack", grew, s.BufferedBytes, slack)
			}
			runtime.KeepAlive(r)
		})
	}
}
