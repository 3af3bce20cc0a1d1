package control

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// FuzzServe: whatever arrives on the bus as a control request, the node
// answers with a JSON answer of a known status, and never panics.
func FuzzServe(f *testing.F) {
	rel := relay.NewLocal()
	eng, err := reactor.New(reactor.Config{Listen: "127.0.0.1:0", NodeID: "n", Relay: rel, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	if err := eng.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = eng.Shutdown(context.Background()) })
	p, err := New(eng, rel, Config{})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"conn":"n.00000000000000000000000000000000","op":1}`,
		`{"user":"ann","op":2,"data":{"a":1}}`,
		`{"user":"ann","op":3,"code":4000,"reason":"x"}`,
		`{"conn":"n.x","op":4,"channel":"a..b"}`,
		`{"op":99}`, `{}`, `[]`, `nul`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		var a answer
		if err := json.Unmarshal(p.serve(req), &a); err != nil {
			t.Fatalf("%q: answer is not JSON: %v", req, err)
		}
		switch a.Status {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict:
		default:
			t.Fatalf("%q: status %d %s", req, a.Status, a.Message)
		}
	})
}
