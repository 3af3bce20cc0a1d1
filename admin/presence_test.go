package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/presence"
	"github.com/wsgate/wsgate/reactor"
)

// TestPresenceSingleNode: with the in-process store, subscribers of a
// presence channel are listed and counted, in pages; a watcher gets its
// join and leave frames; a closed connection leaves; bad requests get
// 400, 404 and 401.
func TestPresenceSingleNode(t *testing.T) {
	patterns, err := auth.CompilePatterns([]string{"room.*"})
	if err != nil {
		t.Fatal(err)
	}
	store := presence.NewLocal()
	t.Cleanup(func() { _ = store.Close() })
	eng := gatewaytest.Start(t, reactor.Config{NodeID: "n1", Presence: store, PresenceChannels: patterns})
	ts := gatewaytest.Admin(t, eng, admin.Config{NodeID: "n1", APIKey: "k"})

	w := subscribe(t, eng, "lobby")
	if err := w.WriteText([]byte(`{"type":"subscribe","channel":"room.a","presence":true,"id":1}`)); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, w); got != `{"type":"ack","id":1}` {
		t.Fatalf("subscribe: %s", got)
	}
	var members []*wstest.Conn
	for range 3 {
		members = append(members, subscribe(t, eng, "room.a"))
	}
	for _, m := range members {
		if got := readText(t, w); !strings.Contains(got, `"type":"join"`) || !strings.Contains(got, m.Connected.Client) {
			t.Fatalf("join of %s: %s", m.Connected.Client, got)
		}
	}
	if code, out := call(t, ts, "GET", "/api/presence/count?channel=room.a", ""); code != 200 || out["count"].(float64) != 4 {
		t.Fatalf("count: %d %v", code, out)
	}
	code, out := call(t, ts, "GET", "/api/presence?channel=room.a&limit=3", "")
	if code != 200 || len(out["members"].([]any)) != 3 || out["next"] == "" {
		t.Fatalf("first page: %d %v", code, out)
	}
	code, out = call(t, ts, "GET", "/api/presence?channel=room.a&limit=3&after="+out["next"].(string), "")
	if code != 200 || len(out["members"].([]any)) != 1 || out["next"] != nil {
		t.Fatalf("second page: %d %v", code, out)
	}

	_ = members[1].Close()
	if got := readText(t, w); !strings.Contains(got, `"type":"leave"`) || !strings.Contains(got, members[1].Connected.Client) {
		t.Fatalf("leave: %s", got)
	}
	testkit.Eventually(t, 5*time.Second, "three members", func() bool {
		_, out := call(t, ts, "GET", "/api/presence/count?channel=room.a", "")
		return out["count"].(float64) == 3
	})

	for path, status := range map[string]int{
		"/api/presence?channel=lobby":             404,
		"/api/presence?channel=room..a":           400,
		"/api/presence?channel=room.a&limit=0":    400,
		"/api/presence?channel=room.a&limit=1001": 400,
		"/api/presence/count?channel=x":           404,
	} {
		if code, out := call(t, ts, "GET", path, ""); code != status {
			t.Errorf("%s: %d %v, want %d", path, code, out, status)
		}
	}
	if resp, err := ts.Client().Get(ts.URL + "/api/presence?channel=room.a"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("without the key: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}
