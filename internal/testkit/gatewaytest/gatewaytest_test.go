package gatewaytest_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/reactor"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// TestStartAndAdmin: the engine listens on a loopback port of the kernel's,
// the admin API publishes through it to a subscriber, and both stop when
// the test that started them ends (the leak check finds nothing left).
func TestStartAndAdmin(t *testing.T) {
	var (
		eng *reactor.Engine
		url string
	)
	t.Run("running", func(t *testing.T) {
		eng = gatewaytest.Start(t, reactor.Config{})
		ts := gatewaytest.Admin(t, eng, admin.Config{NodeID: "n1"})
		url = ts.URL
		addr, ok := eng.Addr().(*net.TCPAddr)
		if !ok || !addr.IP.IsLoopback() || addr.Port == 0 {
			t.Fatalf("engine on %v, want 127.0.0.1 and a port", eng.Addr())
		}
		sub, err := wstest.Dial("ws://"+addr.String()+"/ws?channels=news", 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = sub.Close() })
		resp, err := http.Post(url+"/api/publish", "application/json", strings.NewReader(`{"channel":"news","data":1}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"id":"n1-1"}` {
			t.Fatalf("POST /api/publish: %d %s, want 200 {\"id\":\"n1-1\"}", resp.StatusCode, body)
		}
		_ = sub.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, p, err := sub.ReadMessage(); err != nil || string(p) != `{"type":"message","channel":"news","data":1}` {
			t.Fatalf("subscriber read %q, %v", p, err)
		}
	})
	select {
	case <-eng.Done():
	default:
		t.Fatal("the engine still runs after the test that started it ended")
	}
	if err := eng.Err(); err != nil {
		t.Errorf("engine stopped with %v, want a clean stop", err)
	}
	if resp, err := http.Get(url + "/healthz"); err == nil {
		_ = resp.Body.Close()
		t.Errorf("the admin API still answers (%d) after the test that started it ended", resp.StatusCode)
	}
}

// TestStoppedByTheTest: an engine the test shut down itself is left alone
// by the cleanup (a second Shutdown would fail: "already stopped").
func TestStoppedByTheTest(t *testing.T) {
	eng := gatewaytest.Start(t, reactor.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := eng.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
