package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/testkit"
)

// browserSecret signs the page's tokens (HS256, 32+ bytes).
const browserSecret = "browser-e2e-secret-0123456789abcdef"

// TestBrowserClientSurvivesDrain runs the JavaScript client in headless
// Chromium, imported as a plain ES module from a static server, against
// two nodes sharing JetStream history. The page follows 1,000 publications
// (200/s) made through node b; its node a is drained a third of the way;
// its tokens live 6 s, so the client must refresh them on the way. It must
// end with every publication once, in order, after one reconnection; its
// subscription to a channel its token does not allow must fail with
// forbidden; and no token may expire on it.
func TestBrowserClientSurvivesDrain(t *testing.T) {
	chromium := testkit.RequireTool(t, "chromium")
	addr := testkit.ReserveAddr(t)
	startNATSJetStream(t, addr, t.TempDir())

	// The static server: the client package, the page, tokens, results.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + ln.Addr().String()
	var tokens atomic.Int64
	results := make(chan []byte, 1)
	mux := http.NewServeMux()
	mux.Handle("/clients/js/", http.StripPrefix("/clients/js/", http.FileServer(http.Dir(filepath.Join("..", "clients", "js")))))
	mux.HandleFunc("/drain.html", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("testdata", "browser", "drain.html"))
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		tokens.Add(1)
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "page", "exp": time.Now().Add(6 * time.Second).Unix(), "subscribe": []string{"orders.>"},
		}).SignedString([]byte(browserSecret))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = io.WriteString(w, s)
	})
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		select {
		case results <- b:
		default:
		}
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	flags := []string{"--jwt-hmac-secret", browserSecret, "--allowed-origins", origin}
	a := historyNode(t, "a", "nats://"+addr, flags...)
	b := historyNode(t, "b", "nats://"+addr, flags...)

	const total = 1000
	channel := "orders.browser"
	urls, _ := json.Marshal([]string{a.url("/ws"), b.url("/ws")})
	page := fmt.Sprintf("%s/drain.html?urls=%s&channel=%s&total=%d&refreshBeforeMs=3000", origin, urls, channel, total)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	browser := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir="+t.TempDir(), page)
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	if err := browser.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = browser.Process.Signal(syscall.SIGTERM)
		_ = browser.Wait()
	})
	testkit.Eventually(t, 30*time.Second, "the page subscribed on node a", func() bool {
		return a.stats(t)["stats"].(map[string]any)["subscriptions"].(float64) >= 1
	})

	deadline := time.Now().Add(90 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := range total {
		<-tick.C
		if err := postKeyed(b, channel, i, fmt.Sprintf("b-%d", i), deadline); err != nil {
			t.Fatal(err)
		}
		if i == total/3 {
			_ = a.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	var res struct {
		Got    []int
		States []struct {
			State, Reason string
			Code          int
			At            int64 // ms since the page loaded
		}
		Forbidden *string
		Error     string
	}
	select {
	case b := <-results:
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatalf("result %s: %v", b, err)
		}
	case <-ctx.Done():
		t.Fatal("the page reported nothing")
	}
	if res.Error != "" {
		t.Fatalf("the page failed: %s", res.Error)
	}
	for i, n := range res.Got {
		if n != i {
			t.Fatalf("publication %d is %d (%d received)", i, n, len(res.Got))
		}
	}
	if len(res.Got) != total {
		t.Fatalf("%d publications, want %d", len(res.Got), total)
	}
	// One disconnection, the drain's 1001, and connected again within the
	// delay its reason suggests (the client waits N to 1.5 N), give or
	// take a second for the handshake.
	t.Logf("states %+v; %d tokens fetched", res.States, tokens.Load())
	var down *int64
	var hint int64
	disconnects := 0
	for _, s := range res.States {
		switch s.State {
		case "disconnected":
			disconnects++
			if s.Code != 1001 || !strings.Contains(s.Reason, "retry-after-ms=") {
				t.Fatalf("disconnected with %d %q, want the drain's 1001 with its hint", s.Code, s.Reason)
			}
			hint, _ = strconv.ParseInt(s.Reason[strings.Index(s.Reason, "retry-after-ms=")+len("retry-after-ms="):], 10, 64)
			at := s.At
			down = &at
		case "connected":
			if down != nil {
				if took := s.At - *down; took > hint*3/2+1000 {
					t.Fatalf("reconnected %d ms after the drain's close, hint %d ms", took, hint)
				}
				down = nil
			}
		}
	}
	if disconnects != 1 {
		t.Fatalf("%d disconnections, want the drain's only", disconnects)
	}
	if res.Forbidden == nil || *res.Forbidden != "forbidden" {
		t.Fatalf("the forbidden subscription: %v, want error forbidden", res.Forbidden)
	}
	// The page stays connected to node b: its 6 s token must be replaced
	// by a refresh frame, never expire (4001) or cost a reconnection.
	testkit.Eventually(t, 15*time.Second, "a token refresh on node b", func() bool {
		return b.stats(t)["stats"].(map[string]any)["refreshes"].(float64) >= 1
	})
	time.Sleep(7 * time.Second) // past the first token's expiry
	if st := b.stats(t)["stats"].(map[string]any); st["token_expiries"].(float64) != 0 || st["connections"].(float64) != 1 {
		t.Fatalf("node b: %v token expiries, %v connections; want the page still on its first connection", st["token_expiries"], st["connections"])
	}
}
