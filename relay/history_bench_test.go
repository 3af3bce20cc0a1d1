package relay_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wsgate/wsgate/internal/testkit/natstest"
	"github.com/wsgate/wsgate/relay"
)

// counter is a relay.Handler that counts deliveries and wakes a waiter at
// a target.
type counter struct {
	n      atomic.Int64
	target atomic.Int64
	done   chan struct{}
}

func (c *counter) Deliver(string, relay.Seq, []byte) {
	if c.n.Add(1) == c.target.Load() {
		close(c.done)
	}
}

// payload64 is a 64-byte JSON string, the size make bench publishes.
var payload64 = []byte(`"` + strings.Repeat("x", 62) + `"`)

// BenchmarkHistoryPublishJetStream: publications to one channel with
// history through the node's publish path (Publish: queued, sent to
// JetStream asynchronously, delivered back from the stream's live feed),
// nats-server with the file store in the same process on the same cores.
// pubs/s counts publications delivered back with their offsets.
func BenchmarkHistoryPublishJetStream(b *testing.B) {
	srv := startJetStream(b)
	r, err := relay.DialNATS(relay.NATSConfig{URLs: []string{srv.ClientURL()}, Logger: quietLogger, Required: true,
		History: relay.HistoryConfig{Size: 1000}})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	c := &counter{done: make(chan struct{})}
	c.target.Store(int64(b.N))
	if err := r.Start(c); err != nil {
		b.Fatal(err)
	}
	r.Interest("bench", true)
	for r.Stats().InterestsPending > 0 || !r.Retains("bench") {
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for r.Publish("bench", payload64, "") != nil {
			time.Sleep(50 * time.Microsecond) // the publish queue is full: the bus sets the pace
		}
	}
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d delivered back", c.n.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pubs/s")
}

// BenchmarkHistoryStoreJetStream: the admin API's publish (Store: waits for
// JetStream's acknowledgement) from 1 and 16 concurrent publishers.
func BenchmarkHistoryStoreJetStream(b *testing.B) {
	for _, publishers := range []int{1, 16} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			srv := startJetStream(b)
			r, err := relay.DialNATS(relay.NATSConfig{URLs: []string{srv.ClientURL()}, Logger: quietLogger, Required: true,
				History: relay.HistoryConfig{Size: 1000}})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			if err := r.Start(&counter{done: make(chan struct{})}); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := r.Store(ctx, "bench", payload64, ""); err != nil {
				b.Fatal(err) // the stream is there
			}
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range publishers {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, err := r.Store(ctx, "bench", payload64, ""); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pubs/s")
		})
	}
}

// BenchmarkHistoryMemoryPerChannel: the in-process relay's heap per
// channel with history, each holding 10 publications of 64 bytes.
func BenchmarkHistoryMemoryPerChannel(b *testing.B) {
	const channels, perChannel = 10000, 10
	for range b.N {
		before := heapInUse()
		r := relay.NewLocalHistory(relay.HistoryConfig{Size: perChannel})
		if err := r.Start(discard{}); err != nil {
			b.Fatal(err)
		}
		for ch := range channels {
			name := fmt.Sprintf("user.%d.inbox", ch)
			for range perChannel {
				if err := r.Publish(name, payload64, ""); err != nil {
					b.Fatal(err)
				}
			}
		}
		grown := heapInUse() - before
		charged := r.Stats().HistoryBytes
		runtime.KeepAlive(r)
		b.ReportMetric(float64(grown)/channels, "B/channel")
		b.ReportMetric(float64(charged)/channels, "charged-B/channel")
	}
}

// BenchmarkHistoryJetStreamPerChannel: what a channel with history costs
// nats-server (in this process, file store): heap and disk per channel,
// each channel holding 10 publications of 64 bytes.
func BenchmarkHistoryJetStreamPerChannel(b *testing.B) {
	const channels, perChannel = 5000, 10
	for range b.N {
		dir := b.TempDir()
		srv := natstest.Start(b, func(o *server.Options) { o.JetStream, o.StoreDir = true, dir })
		r, err := relay.DialNATS(relay.NATSConfig{URLs: []string{srv.ClientURL()}, Logger: quietLogger, Required: true,
			History: relay.HistoryConfig{Size: perChannel}})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Start(discard{}); err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if _, err := r.Store(ctx, "warm", payload64, ""); err != nil {
			b.Fatal(err)
		}
		before := heapInUse()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < channels*perChannel; i = next.Add(1) - 1 {
					if _, err := r.Store(ctx, fmt.Sprintf("user.%d.inbox", i%channels), payload64, ""); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		grown := heapInUse() - before
		b.ReportMetric(float64(grown)/channels, "heap-B/channel")
		b.ReportMetric(float64(dirSize(b, dir))/channels, "disk-B/channel")
		_ = r.Close()
		srv.Shutdown()
	}
}

// dirSize is the bytes of the files under dir.
func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
