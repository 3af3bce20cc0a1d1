package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/hook"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/wire"
)

// connIDPattern is a connection ID (docs/backend.md, "Connection IDs").
var connIDPattern = regexp.MustCompile(`^n1\.[0-9a-f]{32}$`)

// echoHooks is a backend whose message hook replies {"echo": data}; it
// is closed after the engine that uses it.
func echoHooks(t *testing.T) *hook.Client {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Type string
			Data json.RawMessage
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if json.Unmarshal(body, &req) == nil && req.Type == "message" {
			_, _ = w.Write(append(append([]byte(`{"reply":{"echo":`), req.Data...), "}}"...))
		}
	}))
	t.Cleanup(backend.Close)
	hk, err := hook.New(hook.Config{URL: backend.URL, Secret: []byte("client-test-hook-secret-0123456789"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hk.Close(context.Background()) })
	return hk
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// TestBackendOnANode: on a real node with a message hook, ClientID is the
// connection's ID, the one the control API takes: a push sent by it
// reaches OnPush, Send gets the hook's reply as a push, and a
// subscription the backend ends gets EventEnded "server" and is not
// subscribed again after the backend closes the connection and the
// client reconnects. A node without the hook refuses Send with
// unsupported. In both formats.
func TestBackendOnANode(t *testing.T) { eachFormat(t, testBackendOnANode) }

func testBackendOnANode(t *testing.T, format client.Format) {
	eng := gatewaytest.Start(t, reactor.Config{NodeID: "n1", Hooks: echoHooks(t), HookMessage: true})
	ctx := testContext(t)
	var got pushes
	var st states
	c := newClient(t, []string{wsURL(eng)}, fast(client.Options{Format: format, OnPush: got.record, OnState: st.record}))
	connect(t, c)
	id := c.ClientID()
	if !connIDPattern.MatchString(id) {
		t.Fatalf("ClientID %q is not a connection ID", id)
	}

	if _, err := eng.Control(ctx, id, reactor.ConnOp{Kind: reactor.OpSend, Data: json.RawMessage(`{"to":"you"}`)}); err != nil {
		t.Fatalf("control send to %s: %v", id, err)
	}
	if err := c.Send(ctx, map[string]int{"n": 1}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := [][]byte{[]byte(`{"to":"you"}`), []byte(`{"echo":{"n":1}}`)}
	testkit.Eventually(t, 5*time.Second, "the pushes", func() bool { return len(got.get()) == len(want) })
	for i, p := range got.get() {
		if !jsonEqual([]byte(p), want[i]) {
			t.Fatalf("push %d: %s, want %s", i, p, want[i])
		}
	}

	var col collector
	if _, err := c.Subscribe(ctx, "news", col.message, client.WithEvents(col.event)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, "other", func(client.Message) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Control(ctx, id, reactor.ConnOp{Kind: reactor.OpUnsubscribe, Channel: "news"}); err != nil {
		t.Fatalf("control unsubscribe: %v", err)
	}
	testkit.Eventually(t, 5*time.Second, "the end", func() bool { return len(col.kinds()) == 1 })
	col.mu.Lock()
	e := col.events[0]
	col.mu.Unlock()
	if e.Kind != client.EventEnded || e.Reason != wire.UnsubscribedServer {
		t.Fatalf("event %+v, want ended by the server", e)
	}

	if _, err := eng.Control(ctx, id, reactor.ConnOp{Kind: reactor.OpClose, Code: 4000, Reason: "bye"}); err != nil {
		t.Fatalf("control close: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, "the reconnection", func() bool {
		return st.count(client.StateConnected) == 2 && c.ClientID() != id
	})
	// A command goes after the resubscriptions: once answered, the node
	// has them all.
	if err := c.Send(ctx, 2); err != nil {
		t.Fatal(err)
	}
	info, err := eng.Control(ctx, c.ClientID(), reactor.ConnOp{Kind: reactor.OpInfo})
	if err != nil || !slices.Equal(info.Channels, []string{"other"}) {
		t.Fatalf("the new connection %+v (%v): want subscribed to other alone", info, err)
	}

	plain := gatewaytest.Start(t, reactor.Config{NodeID: "n1"})
	p := newClient(t, []string{wsURL(plain)}, fast(client.Options{Format: format}))
	connect(t, p)
	var ce *client.Error
	if err := p.Send(ctx, 1); !errors.As(err, &ce) || ce.Code != wire.CodeUnsupported {
		t.Fatalf("Send to a node without the message hook: %v", err)
	}
}
