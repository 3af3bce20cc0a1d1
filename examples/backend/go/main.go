// Command backend is a wsgate hook backend (docs/backend.md): it admits a
// handshake that carries the cookie session=ok, echoes each send frame back
// to its sender, and logs the events. Run it beside a node started with
// --hook-url http://127.0.0.1:9000/ --hook-connect --hook-message and the
// same WSGATE_HOOK_SECRET.
package main

import (
	"cmp"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/wsgate/wsgate/hook"
)

func main() {
	secret := []byte(os.Getenv("WSGATE_HOOK_SECRET")) // the node's --hook-secret
	if len(secret) < hook.MinSecretBytes {
		log.Fatal("WSGATE_HOOK_SECRET must be set, 16 bytes or more")
	}
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Type    string
			Headers http.Header       // connect
			Data    json.RawMessage   // message
			Events  []json.RawMessage // events
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil || hook.Verify(secret, r.Header, body, time.Now(), hook.DefaultTolerance) != nil || json.Unmarshal(body, &req) != nil {
			http.Error(w, "refused", http.StatusUnauthorized)
			return
		}
		var answer any // nil: 204, nothing to say
		switch req.Type {
		case "connect":
			answer = map[string]any{"allow": false, "status": 401, "reason": "no session"}
			if c, err := (&http.Request{Header: req.Headers}).Cookie("session"); err == nil && c.Value == "ok" {
				answer = map[string]any{"allow": true, "user": "demo"}
			}
		case "message":
			answer = map[string]any{"reply": map[string]any{"echo": req.Data}}
		case "events":
			for _, e := range req.Events {
				log.Printf("event %s", e)
			}
		}
		if answer == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
	log.Fatal(http.ListenAndServe(cmp.Or(os.Getenv("ADDR"), "127.0.0.1:9000"), nil))
}
