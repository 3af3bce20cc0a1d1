package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
)

func wsURL(e *reactor.Engine) string { return "ws://" + e.Addr().String() + "/ws" }

// formats are the client's formats: the tests against real nodes run in
// each, the client's behaviour being the same.
var formats = []client.Format{client.FormatJSON, client.FormatProtobuf}

// eachFormat runs test once per format, as a subtest named after it.
func eachFormat(t *testing.T, test func(t *testing.T, f client.Format)) {
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) { test(t, f) })
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestSubscribePublishRoundTrip: on a real node a client subscribes,
// publishes (acknowledged) and receives its publication byte for byte;
// after Unsubscribe nothing more arrives. In both formats.
func TestSubscribePublishRoundTrip(t *testing.T) { eachFormat(t, testSubscribePublishRoundTrip) }

func testSubscribePublishRoundTrip(t *testing.T, format client.Format) {
	eng := gatewaytest.Start(t, reactor.Config{NodeID: "n1"})
	c := newClient(t, []string{wsURL(eng)}, fast(client.Options{Format: format}))
	ctx := testContext(t)
	connect(t, c)
	if c.Node() != "n1" || c.ClientID() == "" || c.State() != client.StateConnected {
		t.Fatalf("node %q, client %q, state %v", c.Node(), c.ClientID(), c.State())
	}
	got := make(chan client.Message, 10)
	sub, err := c.Subscribe(ctx, "news", func(m client.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "news", map[string]any{"title": "<hi>"}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := c.Publish(ctx, "news", json.RawMessage(`[1, 2,  3]`)); err != nil {
		t.Fatalf("Publish raw: %v", err)
	}
	for _, want := range []string{`{"title":"<hi>"}`, `[1, 2,  3]`} {
		select {
		case m := <-got:
			if m.Channel != "news" || string(m.Data) != want || m.Offset != 0 {
				t.Fatalf("message %+v (%s), want %s", m, m.Data, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no message")
		}
	}
	// The node framed the publications in Protobuf exactly when the
	// client speaks it: the format is the one on the wire.
	if n := eng.Stats().ProtobufEncodes; (n == 2) != (format == client.FormatProtobuf) || (n != 0 && n != 2) {
		t.Fatalf("%d publications framed in Protobuf, format %v", n, format)
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if err := c.Publish(ctx, "news", 3); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		t.Fatalf("after Unsubscribe: %s", m.Data)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := c.Subscribe(ctx, "news", func(client.Message) {}); err != nil {
		t.Fatalf("subscribe again: %v", err)
	}
	if _, err := c.Subscribe(ctx, "news", func(client.Message) {}); !errors.Is(err, client.ErrSubscribed) {
		t.Fatalf("second subscription to a channel: %v", err)
	}
}

var testSecret = []byte("client-test-secret-0123456789abcdef")

// token signs an HS256 token for sub, valid for ttl, with the patterns.
func token(t testing.TB, sub string, ttl time.Duration, subscribe, publish []string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "exp": time.Now().Add(ttl).Unix(), "subscribe": subscribe, "publish": publish,
	}).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func authGateway(t *testing.T, cfg reactor.Config) *reactor.Engine {
	v, err := auth.NewVerifier(auth.Config{HMACSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth, cfg.AuthRequired = v, true
	return gatewaytest.Start(t, cfg)
}

// TestErrorCodes: the server's refusals come back as *Error with their
// stable code; a bad channel is refused before it is sent; no token where
// one is required is a final 401. In both formats.
func TestErrorCodes(t *testing.T) { eachFormat(t, testErrorCodes) }

func testErrorCodes(t *testing.T, format client.Format) {
	eng := authGateway(t, reactor.Config{})
	ctx := testContext(t)
	tok := token(t, "alice", time.Hour, []string{"news.>"}, []string{"news.>"})
	c := newClient(t, []string{wsURL(eng)}, fast(client.Options{Format: format, Token: func(context.Context) (string, error) { return tok, nil }}))
	connect(t, c)
	var e *client.Error
	if _, err := c.Subscribe(ctx, "secret", func(client.Message) {}); !errors.As(err, &e) || e.Code != wire.CodeForbidden {
		t.Fatalf("Subscribe to a channel the token does not allow: %v", err)
	}
	if err := c.Publish(ctx, "secret", 1); !errors.As(err, &e) || e.Code != wire.CodeForbidden {
		t.Fatalf("Publish on a channel the token does not allow: %v", err)
	}
	if err := c.Publish(ctx, "bad..channel", 1); !errors.As(err, &e) || e.Code != wire.CodeBadChannel {
		t.Fatalf("Publish on a bad channel: %v", err)
	}
	if err := c.Publish(ctx, "news.a", 1, client.WithIdempotencyKey("has space")); !errors.As(err, &e) || e.Code != wire.CodeBadKey {
		t.Fatalf("Publish with a bad key: %v", err)
	}
	if _, err := c.History(ctx, "news.a", nil, 10); !errors.As(err, &e) || e.Code != wire.CodeNoHistory {
		t.Fatalf("History without history: %v", err)
	}
	if err := c.Publish(ctx, "news.a", 1); err != nil {
		t.Fatalf("allowed Publish: %v", err)
	}
	if c.State() != client.StateConnected {
		t.Fatalf("state %v after the refusals", c.State())
	}

	anon := newClient(t, []string{wsURL(eng)}, fast(client.Options{Format: format}))
	var he *client.HandshakeError
	if err := anon.Connect(ctx); !errors.As(err, &he) || he.Status != 401 || he.Body != "no token" {
		t.Fatalf("anonymous Connect: %v", err)
	}
}

// TestHistoryAndResumeInMemory: History reads what a channel retains; a
// subscription kept from an earlier one (WithSince) gets what it missed,
// once, in order, and says it recovered. In both formats.
func TestHistoryAndResumeInMemory(t *testing.T) { eachFormat(t, testHistoryAndResumeInMemory) }

func testHistoryAndResumeInMemory(t *testing.T, format client.Format) {
	eng := gatewaytest.Start(t, reactor.Config{Relay: relay.NewLocalHistory(relay.HistoryConfig{Size: 100})})
	ctx := testContext(t)
	store := func(n int) {
		t.Helper()
		if _, err := eng.Store(ctx, "orders", fmt.Appendf(nil, "%d", n), ""); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		store(i)
	}
	c := newClient(t, []string{wsURL(eng)}, fast(client.Options{Format: format}))
	connect(t, c)
	page, err := c.History(ctx, "orders", nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Publications) != 3 || !page.More || string(page.Publications[0].Data) != "0" || page.Position.Epoch == "" {
		t.Fatalf("history page %+v", page)
	}
	last := page.Publications[2]
	page, err = c.History(ctx, "orders", &client.Position{Offset: last.Offset, Epoch: page.Position.Epoch}, 0)
	if err != nil || len(page.Publications) != 2 || page.More || !page.Recovered || string(page.Publications[1].Data) != "4" {
		t.Fatalf("next page %+v, %v", page, err)
	}

	var col collector
	sub, err := c.Subscribe(ctx, "orders", col.message)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Epoch() == "" || sub.Offset() != page.Position.Offset || sub.Recovered() {
		t.Fatalf("position %+v recovered %v, want the channel's", sub.Position(), sub.Recovered())
	}
	for i := 5; i < 8; i++ {
		store(i)
	}
	testkit.Eventually(t, 5*time.Second, "3 live messages", func() bool { return len(col.offsets()) == 3 })
	pos := sub.Position()
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 8; i < 10; i++ {
		store(i)
	}
	var col2 collector
	sub2, err := c.Subscribe(ctx, "orders", col2.message, client.WithSince(pos), client.WithEvents(col2.event))
	if err != nil {
		t.Fatal(err)
	}
	store(10)
	testkit.Eventually(t, 5*time.Second, "the missed and the new", func() bool { return len(col2.offsets()) == 3 })
	var datas []string
	col2.mu.Lock()
	for _, m := range col2.msgs {
		datas = append(datas, string(m.Data))
	}
	col2.mu.Unlock()
	if !slices.Equal(datas, []string{"8", "9", "10"}) || !sub2.Recovered() {
		t.Fatalf("resumed with %v (recovered %v), want 8 9 10", datas, sub2.Recovered())
	}
	if k := col2.kinds(); !slices.Equal(k, []client.EventKind{client.EventResumed}) {
		t.Fatalf("events %v", k)
	}
}

// TestTokenRefreshWithoutReconnecting: a token that lives 3 s is refreshed
// in place (a refresh frame, half its life before it expires) again and
// again: after two of its lifetimes the client has never reconnected, the
// node counts refreshes and no expiry, and the connection still works.
// In both formats, side by side.
func TestTokenRefreshWithoutReconnecting(t *testing.T) {
	eachFormat(t, func(t *testing.T, format client.Format) {
		t.Parallel()
		testTokenRefreshWithoutReconnecting(t, format)
	})
}

func testTokenRefreshWithoutReconnecting(t *testing.T, format client.Format) {
	eng := authGateway(t, reactor.Config{})
	ctx := testContext(t)
	var issued atomic.Int32
	var st states
	c := newClient(t, []string{wsURL(eng)}, fast(client.Options{
		Format: format,
		Token: func(context.Context) (string, error) {
			issued.Add(1)
			return token(t, "bob", 3*time.Second, []string{">"}, []string{">"}), nil
		},
		OnState: st.record,
	}))
	connect(t, c)
	id := c.ClientID()
	got := make(chan client.Message, 1)
	if _, err := c.Subscribe(ctx, "news", func(m client.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second)
	s := eng.Stats()
	if st.count(client.StateConnected) != 1 || c.ClientID() != id || s.TokenExpiries != 0 {
		t.Fatalf("connected %d times (client %s, was %s), %d token expiries: the token was not refreshed in place", st.count(client.StateConnected), c.ClientID(), id, s.TokenExpiries)
	}
	if s.Refreshes < 2 || issued.Load() < 3 {
		t.Fatalf("%d refreshes, %d tokens issued: want at least 2 refreshes in 6 s of 3 s tokens", s.Refreshes, issued.Load())
	}
	if err := c.Publish(ctx, "news", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no message after the refreshes")
	}
}
