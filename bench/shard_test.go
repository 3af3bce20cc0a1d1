package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/reactor"
)

// startGateway runs an in-process wsgate node and its admin API.
func startGateway(t *testing.T) (wsURL, adminURL string) {
	t.Helper()
	eng, err := reactor.New(reactor.Config{Listen: "127.0.0.1:0", Loops: 2, MessageRate: -1, ByteRate: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(admin.New(eng, admin.Config{NodeID: "test"}))
	t.Cleanup(func() {
		api.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eng.Shutdown(ctx)
	})
	return "ws://" + eng.Addr().String(), api.URL
}

func TestShardConnectsAndCloses(t *testing.T) {
	ws, _ := startGateway(t)
	target, err := ParseTarget(ws + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := NewShard(Plan{Targets: []Target{target}, Count: 200, ConnectRate: 0, Channels: 4, ChannelPrefix: "bench.", Salt: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := sh.WaitReady(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Open != 200 || r.PerChannel[0] != 50 {
		t.Fatalf("ready = %+v", r)
	}
	res, err := sh.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connect.Count() != 200 || len(res.Errors) != 0 || res.Progress.Open != 0 {
		t.Fatalf("result: connect count %d, errors %v, progress %+v", res.Connect.Count(), res.Errors, res.Progress)
	}
}
