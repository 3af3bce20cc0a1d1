package hook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/wsgate/wsgate/hook"
)

func ExampleSign() {
	secret := []byte("0123456789abcdef")
	fmt.Println(hook.Sign(secret, 1700000000, []byte(`{"type":"events","events":[]}`)))
	// Output: v1=06ca82ee538140473f35870de58dc483ca3338c8640af7bd0beed9012054e3a1
}

// A backend's endpoint in Go: verify, then answer by the body's "type".
func ExampleVerify() {
	secret := []byte("the --hook-secret, 16 bytes or more")
	http.HandleFunc("POST /wsgate", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		if err := hook.Verify(secret, r.Header, body, time.Now(), hook.DefaultTolerance); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var req struct {
			Type    string              `json:"type"`
			Headers map[string][]string `json:"headers"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		switch req.Type {
		case "connect":
			if len(req.Headers["Cookie"]) == 0 {
				_, _ = io.WriteString(w, `{"allow":false,"status":401,"reason":"no session"}`)
				return
			}
			_, _ = io.WriteString(w, `{"allow":true,"user":"u1","subscribe":["chat.*"]}`)
		case "publish":
			_, _ = io.WriteString(w, `{"allow":true}`)
		default: // "message" and "events": 204, no reply
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

// The gateway's side: one Client per node, never blocking the caller.
func ExampleClient_Connect() {
	cfg := hook.Config{URL: "https://backend.example/wsgate", Secret: []byte("the --hook-secret, 16 bytes or more")}
	c, err := hook.New(cfg)
	if err != nil {
		panic(err)
	}
	defer c.Close(context.Background())

	decide := func(r hook.ConnectResult) {
		// On a Client goroutine: hand r to the connection's event loop.
		fmt.Println(r.Allow, r.Status, r.Reason)
	}
	req := hook.ConnectRequest{Conn: "c1", Node: "n1", Path: "/ws", Headers: map[string][]string{"Cookie": {"s=1"}}}
	if !c.Connect(req, decide) {
		decide(hook.Busy(cfg)) // no slot: the busy outcome, on the caller's goroutine
	}
}
