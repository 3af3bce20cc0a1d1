package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// TestChatExample loads examples/chat in headless Chromium from a static
// server, as its README says to, against a node: the page joins a room
// from its link, posts, and shows its connection state and the post it
// got back; a Go subscriber of the room gets the post too. A probe page
// frames the example and reports its document once the post is back: it
// runs in real time, since virtual time (--virtual-time-budget) does not
// wait for WebSocket traffic and made the check a race.
func TestChatExample(t *testing.T) {
	chromium := testkit.RequireTool(t, "chromium")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + ln.Addr().String()
	results := make(chan []byte, 1)
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir("..")))
	mux.HandleFunc("/probe.html", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("testdata", "browser", "chat-probe.html"))
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

	n := startNode(t, "--allowed-origins", origin)
	sub, err := wstest.Dial(n.url("/ws?channels=chat.lobby"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	page := origin + "/probe.html?ws=" + n.url("/ws") + "&room=lobby&name=page&say=hello+from+the+page"
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
	var dom string
	select {
	case b := <-results:
		dom = string(b)
	case <-ctx.Done():
		t.Fatal("the probe page reported nothing")
	}
	for _, want := range []string{`class="badge connected"`, `<b>page: </b>hello from the page`} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the page lacks %s:\n%s", want, dom)
		}
	}
	_ = sub.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, p, err := sub.ReadMessage(); err != nil || !strings.Contains(string(p), `"text":"hello from the page"`) {
		t.Fatalf("the room's subscriber: %s, %v", p, err)
	}
}
