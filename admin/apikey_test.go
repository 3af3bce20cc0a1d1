package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/reactor"
)

// With an API key, publishing needs the X-API-Key header; the read-only
// endpoints do not.
func TestPublishRequiresAPIKey(t *testing.T) {
	eng := gatewaytest.Start(t, reactor.Config{})
	ts := gatewaytest.Admin(t, eng, admin.Config{NodeID: "k", APIKey: "s3cret-key"})
	c := subscribe(t, eng, "news")
	body := `{"channel":"news","data":1}`
	for _, tc := range []struct {
		name, key string
		status    int
	}{
		{"no key", "", http.StatusUnauthorized},
		{"wrong key", "s3cret-kez", http.StatusUnauthorized},
		{"prefix of the key", "s3cret", http.StatusUnauthorized},
		{"longer than the key", "s3cret-key-and-more", http.StatusUnauthorized},
		{"right key", "s3cret-key", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", ts.URL+"/api/publish", strings.NewReader(body))
			if tc.key != "" {
				req.Header.Set("X-API-Key", tc.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	if got := readText(t, c); !strings.Contains(got, `"data":1`) {
		t.Fatalf("the authorized publication: %s", got)
	}
	if eng.Stats().PublishesAPI != 1 {
		t.Fatalf("publishes %d, want only the authorized one", eng.Stats().PublishesAPI)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/api/stats"} {
		if r := do(t, "GET", ts.URL+path, ""); r.status != http.StatusOK {
			t.Errorf("GET %s without a key: %d", path, r.status)
		}
	}
}
