package admin_test

import (
	"fmt"
	"testing"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
)

// TestPublishIdempotencyKeyAndOffset: a publication to a channel with
// history answers its offset and epoch; a retry with the same key within
// the window is not published again and answers the first one's offset.
func TestPublishIdempotencyKeyAndOffset(t *testing.T) {
	_, ts := startNode(t, reactor.Config{Relay: relay.NewLocalHistory(relay.HistoryConfig{Size: 10})})
	post := func(body string) map[string]any {
		r := do(t, "POST", ts.URL+"/api/publish", body)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
		return decode(t, r)
	}
	first := post(`{"channel":"orders","data":1,"idempotency_key":"order-1"}`)
	if first["offset"] != float64(1) || first["epoch"] == "" {
		t.Fatalf("first publish: %v, want offset 1 and an epoch", first)
	}
	if again := post(`{"channel":"orders","data":1,"idempotency_key":"order-1"}`); again["offset"] != float64(1) {
		t.Fatalf("retry: %v, want the first offset", again)
	}
	if other := post(`{"channel":"orders","data":2,"idempotency_key":"order-2"}`); other["offset"] != float64(2) {
		t.Fatalf("another key: %v, want offset 2", other)
	}
	for _, bad := range []string{`"has space"`, `""`, `7`, fmt.Sprintf("%q", string(make([]byte, 65)))} {
		r := do(t, "POST", ts.URL+"/api/publish", `{"channel":"orders","data":1,"idempotency_key":`+bad+`}`)
		if m := decode(t, r); r.status != 400 || m["error"] != wire.CodeBadKey && m["error"] != wire.CodeBadJSON {
			t.Fatalf("key %s: %d %v", bad, r.status, m)
		}
	}
}

func TestHistoryAPI(t *testing.T) {
	eng, ts := startNode(t, reactor.Config{Relay: relay.NewLocalHistory(relay.HistoryConfig{Size: 2000})})
	for i := range 1200 {
		if err := eng.Publish("h", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	get := func(query string) (int, map[string]any) {
		r := do(t, "GET", ts.URL+"/api/history?"+query, "")
		return r.status, decode(t, r)
	}
	status, all := get("channel=h&limit=99999999999999999999999")
	if pubs := all["publications"].([]any); status != 200 || len(pubs) != wire.MaxHistoryLimit || all["more"] != true {
		t.Fatalf("a huge limit: %d, %d publications, more %v", status, len(pubs), all["more"])
	}
	epoch := all["epoch"].(string)
	status, page := get("channel=h&since_offset=1195&epoch=" + epoch)
	pubs := page["publications"].([]any)
	if status != 200 || page["recovered"] != true || len(pubs) != 5 || pubs[0].(map[string]any)["data"] != float64(1195) {
		t.Fatalf("since 1195: %d %v", status, page)
	}
	if status, page := get("channel=h&since_offset=5&epoch=other"); status != 200 || page["recovered"] != false || len(page["publications"].([]any)) != wire.DefaultHistoryLimit {
		t.Fatalf("another epoch: %d recovered %v", status, page["recovered"])
	}
	for query, code := range map[string]string{
		"channel=h&limit=0":                    wire.CodeBadLimit,
		"channel=h&limit=-1":                   wire.CodeBadLimit,
		"channel=h&since_offset=x":             wire.CodeBadSince,
		"channel=h&since_offset=1":             wire.CodeBadSince, // no epoch
		"channel=a*b":                          wire.CodeBadChannel,
		"channel=h&epoch=a%20b&since_offset=1": wire.CodeBadSince,
	} {
		if status, m := get(query); status != 400 || m["error"] != code {
			t.Errorf("%s: %d %v, want 400 %s", query, status, m, code)
		}
	}
}

func TestHistoryAPINeedsKeyAndHistory(t *testing.T) {
	eng := gatewaytest.Start(t, reactor.Config{Relay: relay.NewLocalHistory(relay.HistoryConfig{Size: 2})})
	ts := gatewaytest.Admin(t, eng, admin.Config{NodeID: "n1", APIKey: "s3cret"})
	if r := do(t, "GET", ts.URL+"/api/history?channel=h", ""); r.status != 401 {
		t.Fatalf("without the key: %d", r.status)
	}
	_, plain := startNode(t, reactor.Config{})
	if r := do(t, "GET", plain.URL+"/api/history?channel=h", ""); r.status != 404 || decode(t, r)["error"] != wire.CodeNoHistory {
		t.Fatalf("without history: %d %s", r.status, r.body)
	}
}
