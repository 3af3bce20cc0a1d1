package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/bench"
)

// subscribeServer answers wsgate's way: a connected frame, then an ack to
// each subscribe command, or an error frame for a channel named in refuse.
// It records each request's query and each channel subscribed.
func subscribeServer(t *testing.T, refuse string) (url string, seen func() (queries, channels []string)) {
	t.Helper()
	var mu sync.Mutex
	var queries, channels []string
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"connected","client":"x.1","node":"x","version":"t","ping_interval_ms":25000}`))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			var cmd struct{ Type, Channel string }
			if json.Unmarshal(msg, &cmd) != nil || cmd.Type != "subscribe" {
				return
			}
			mu.Lock()
			channels = append(channels, cmd.Channel)
			mu.Unlock()
			reply := `{"type":"ack","id":1}`
			if cmd.Channel == refuse {
				reply = `{"type":"error","id":1,"code":"forbidden","message":"no"}`
			}
			_ = c.WriteMessage(websocket.TextMessage, []byte(reply))
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", func() ([]string, []string) {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), queries...), append([]string(nil), channels...)
	}
}

// TestSubscribeViaFrame: with --subscribe-via frame the upgrade carries no
// ?channels=, every subscriber sends one subscribe command for its channel,
// and the handshake counts at the ack; a refusal fails the connection as
// subscribe_refused.
func TestSubscribeViaFrame(t *testing.T) {
	url, seen := subscribeServer(t, "")
	jsonPath := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runWsbench("connect", "--url", url, "--conns", "12", "--channels", "3", "--hold", "200ms", "--procs", "1",
		"--subscribe-via", "frame", "--quiet", "--fail-if", "opened=12,errors=0", "--json", jsonPath)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	queries, channels := seen()
	count := map[string]int{}
	for _, ch := range channels {
		count[ch]++
	}
	if len(queries) != 12 || strings.Contains(strings.Join(queries, "&"), "channels=") || len(channels) != 12 ||
		count["bench.0"] != 4 || count["bench.1"] != 4 || count["bench.2"] != 4 {
		t.Fatalf("queries %q, subscribed %v: want 12 upgrades without ?channels= and 4 subscribe frames per channel", queries, count)
	}
	rep := readReport(t, jsonPath)
	if rep.Settings.SubscribeVia != bench.SubscribeFrame || rep.ConnectTime.Count != 12 {
		t.Fatalf("report: subscribe_via %q, %d connect times; want frame, 12", rep.Settings.SubscribeVia, rep.ConnectTime.Count)
	}

	url, _ = subscribeServer(t, "bench.1")
	code, stdout, _ = runWsbench("connect", "--url", url, "--conns", "6", "--channels", "3", "--hold", "100ms", "--procs", "1",
		"--subscribe-via", "frame", "--quiet", "--json", jsonPath)
	rep = readReport(t, jsonPath)
	if rep.Errors["subscribe_refused"] != 2 || rep.Connections.Opened != 4 {
		t.Fatalf("exit %d, errors %v, %d handshakes: want 2 subscribe_refused (channel bench.1) and 4 handshakes\n%s", code, rep.Errors, rep.Connections.Opened, stdout)
	}
}

func readReport(t *testing.T, path string) bench.Report {
	t.Helper()
	var rep bench.Report
	raw, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
