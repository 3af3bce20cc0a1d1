package reactor

import (
	"context"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/wstest"
)

// With ReusePort two engines (as two processes would) share one address,
// and the kernel hands connections to both.
func TestReusePortSharesOneAddress(t *testing.T) {
	first := gateway(t, Config{ReusePort: true, Loops: 1})
	e2, err := New(Config{Listen: first.Addr().String(), ReusePort: true, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(); err != nil {
		t.Fatalf("second engine on %s: %v", first.Addr(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e2.Shutdown(ctx)
	})
	var conns []*wstest.Conn
	for range 40 {
		c, err := wstest.Dial("ws://"+first.Addr().String()+"/echo", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	eventually(t, "40 connections", func() bool { return first.Stats().Upgraded+e2.Stats().Upgraded == 40 })
	if first.Stats().Upgraded == 0 || e2.Stats().Upgraded == 0 {
		t.Fatalf("connections %d and %d: the kernel should spread 40 over both", first.Stats().Upgraded, e2.Stats().Upgraded)
	}
	for _, c := range conns {
		c.Close()
	}
}
