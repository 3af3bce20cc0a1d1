package reactor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/internal/testkit/natstest"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

// BenchmarkResume1000: a client that missed 1,000 publications (64 bytes)
// connects and subscribes with since; one op is from the dial to the
// 1,000th replayed publication read, reported as ms/resume. The history
// is in memory (single node) or on JetStream (nats-server with the file
// store in this process, on the same cores).
func BenchmarkResume1000(b *testing.B) {
	const missed = 1000
	for _, store := range []string{"memory", "jetstream"} {
		b.Run(store, func(b *testing.B) {
			cfg := relay.HistoryConfig{Size: 2 * missed}
			var rel relay.Relay = relay.NewLocalHistory(cfg)
			if store == "jetstream" {
				dir := b.TempDir()
				srv := natstest.Start(b, func(o *server.Options) { o.JetStream, o.StoreDir = true, dir })
				n, err := relay.DialNATS(relay.NATSConfig{URLs: []string{srv.ClientURL()}, Required: true, History: cfg, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				rel = n
			}
			e := gatewaytest.Start(b, reactor.Config{Relay: rel})
			ctx := context.Background()
			since, err := e.Store(ctx, "resume", []byte(`"before"`), "")
			if err != nil {
				b.Fatal(err)
			}
			payload := []byte(`"` + fmt.Sprintf("%062d", 0) + `"`)
			for range missed {
				if _, err := e.Store(ctx, "resume", payload, ""); err != nil {
					b.Fatal(err)
				}
			}
			url := "ws://" + e.Addr().String() + "/ws"
			frame := fmt.Sprintf(`{"type":"subscribe","channel":"resume","since":{"offset":%d,"epoch":%q}}`, since.Offset, since.Epoch)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				resumeOnce(b, url, frame, missed)
			}
			b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/resume")
		})
	}
}

// resumeOnce dials, sends the resuming subscribe and reads until want
// publications have arrived.
func resumeOnce(b *testing.B, url, frame string, want int) {
	c, err := wstest.Dial(url, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteText([]byte(frame)); err != nil {
		b.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := 0
	for got < want {
		_, p, err := c.ReadMessage()
		if err != nil {
			b.Fatalf("after %d: %v", got, err)
		}
		var m struct {
			Type      string
			Recovered *bool
		}
		if err := json.Unmarshal(p, &m); err != nil {
			b.Fatal(err)
		}
		switch m.Type {
		case "message":
			got++
		case "ack":
			if m.Recovered == nil || !*m.Recovered {
				b.Fatalf("not recovered: %s", p)
			}
		case "connected":
		default:
			b.Fatalf("unexpected %s", p)
		}
	}
}
