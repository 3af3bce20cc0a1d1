package e2e

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// TestChatExample loads examples/chat in headless Chromium from a static
// server, as its README says to, against a node: the page joins a room
// from its link, posts, and shows its connection state and the post it
// got back; a Go subscriber of the room gets the post too.
func TestChatExample(t *testing.T) {
	chromium := testkit.RequireTool(t, "chromium")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: http.FileServer(http.Dir(filepath.Join("..")))}
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
	page := origin + "/examples/chat/?ws=" + n.url("/ws") + "&room=lobby&name=page&say=hello+from+the+page"
	out, err := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=15000", "--dump-dom", page).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
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
