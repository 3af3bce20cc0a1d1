package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/internal/testkit"
)

// fast are options for tests: short backoffs.
func fast(o client.Options) client.Options {
	o.MinBackoff, o.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	return o
}

func newClient(t *testing.T, urls []string, o client.Options) *client.Client {
	t.Helper()
	c := client.New(urls, o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func connect(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

// states records a client's state changes.
type states struct {
	mu  sync.Mutex
	all []client.State
	at  []time.Time
}

func (s *states) record(st client.State) {
	s.mu.Lock()
	s.all = append(s.all, st)
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
}

// offline is how long the client was without a connection: from the first
// state after the first connected to the second connected.
func (s *states) offline() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var left time.Time
	seen := 0
	for i, x := range s.all {
		switch {
		case x == client.StateConnected && seen == 1:
			return s.at[i].Sub(left), true
		case x == client.StateConnected:
			seen++
		case seen == 1 && left.IsZero():
			left = s.at[i]
		}
	}
	return 0, false
}

func (s *states) count(st client.State) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.all {
		if x == st {
			n++
		}
	}
	return n
}

// collector gathers a subscription's messages and events.
type collector struct {
	mu     sync.Mutex
	msgs   []client.Message
	events []client.Event
}

func (c *collector) message(m client.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) event(e client.Event) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
}

func (c *collector) offsets() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []uint64
	for _, m := range c.msgs {
		out = append(out, m.Offset)
	}
	return out
}

func (c *collector) kinds() []client.EventKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []client.EventKind
	for _, e := range c.events {
		out = append(out, e.Kind)
	}
	return out
}

func msg(channel string, offset, prev uint64) string {
	return fmt.Sprintf(`{"type":"message","channel":%q,"offset":%d,"prev":%d,"data":%d}`, channel, offset, prev, offset)
}

// TestGapRepairOnTheSameConnection: a message whose prev is past the last
// offset seen makes the client subscribe again with since on the same
// connection and ignore the channel until the ack; the replay fills the
// gap; a duplicate is never delivered twice; every publication arrives
// once, in order.
func TestGapRepairOnTheSameConnection(t *testing.T) {
	srv := startFake(t, "f1", nil)
	c := newClient(t, []string{srv.url}, fast(client.Options{}))
	connect(t, c)
	fc := srv.next(t)
	var col collector
	done := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(context.Background(), "orders", col.message, client.WithEvents(col.event))
		done <- err
	}()
	sub := fc.expect("subscribe")
	if sub.Since != nil {
		t.Fatalf("first subscribe carries since %+v", sub.Since)
	}
	fc.send(fmt.Sprintf(`{"type":"ack","id":%d,"channel":"orders","offset":10,"epoch":"E1"}`, sub.ID))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fc.send(msg("orders", 11, 10))
	fc.send(msg("orders", 13, 11))
	fc.send(msg("orders", 17, 15)) // 15 was lost: a gap
	fc.send(msg("orders", 18, 17)) // before the ack: ignored
	re := fc.expect("subscribe")
	if re.Since == nil || re.Since.Offset != 13 || re.Since.Epoch != "E1" {
		t.Fatalf("resubscribe since %+v, want {13 E1}", re.Since)
	}
	fc.send(fmt.Sprintf(`{"type":"ack","id":%d,"channel":"orders","offset":18,"epoch":"E1","recovered":true}`, re.ID))
	for _, m := range [][2]uint64{{15, 13}, {17, 15}, {18, 17}} {
		fc.send(msg("orders", m[0], m[1]))
	}
	fc.send(msg("orders", 17, 15)) // a duplicate: not delivered, resume from 18
	re2 := fc.expect("subscribe")
	if re2.Since == nil || re2.Since.Offset != 18 {
		t.Fatalf("after a duplicate: since %+v, want 18", re2.Since)
	}
	fc.send(fmt.Sprintf(`{"type":"ack","id":%d,"channel":"orders","offset":18,"epoch":"E1","recovered":true}`, re2.ID))
	fc.send(msg("orders", 20, 18))
	// Mid-replay loss (an ack without id): the position jumps to the ack's.
	fc.send(`{"type":"ack","channel":"orders","offset":40,"epoch":"E2","recovered":false}`)
	fc.send(msg("orders", 41, 40))
	want := []uint64{11, 13, 15, 17, 18, 20, 41}
	testkit.Eventually(t, 5*time.Second, "the publications", func() bool { return len(col.offsets()) == len(want) })
	if got := col.offsets(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	testkit.Eventually(t, 5*time.Second, "the events", func() bool { return len(col.kinds()) == 3 })
	if got := col.kinds(); !slices.Equal(got, []client.EventKind{client.EventResumed, client.EventResumed, client.EventNotRecovered}) {
		t.Fatalf("events %v", got)
	}
}

// TestFinalCloseStopsReconnecting: a close 1002 reconnects (no close
// code says "do not come back"), but 4001 (token expired) without a token
// function is final: the same token, or none, would be presented again.
// The client closes itself, Err says why, no further handshake comes, and
// calls fail with ErrClosed.
func TestFinalCloseStopsReconnecting(t *testing.T) {
	srv := startFake(t, "f1", nil)
	var st states
	c := newClient(t, []string{srv.url}, fast(client.Options{OnState: st.record}))
	connect(t, c)
	srv.next(t).close(ws.StatusProtocolError, "bad frame")
	fc := srv.next(t) // reconnected
	fc.close(4001, "token expired")
	testkit.Eventually(t, 5*time.Second, "the client to close itself", func() bool { return c.State() == client.StateClosed })
	var ce *client.CloseError
	if err := c.Err(); !errors.As(err, &ce) || ce.Code != 4001 {
		t.Fatalf("Err %v, want the 4001 close", err)
	}
	time.Sleep(300 * time.Millisecond) // more than the backoff
	if n := len(srv.handshakes()); n != 2 {
		t.Fatalf("%d handshakes, want 2", n)
	}
	err := c.Publish(context.Background(), "news", 1)
	if !errors.Is(err, client.ErrClosed) || !errors.As(err, &ce) {
		t.Fatalf("Publish after the final close: %v", err)
	}
	if got := st.count(client.StateClosed); got != 1 {
		t.Fatalf("OnState closed %d times", got)
	}
}

// TestRefusedHandshake: a 404 before the first connection is final
// (Connect returns it: the URL is wrong); once the client has connected,
// the same refusal is retried (a proxy, a rollout).
func TestRefusedHandshake(t *testing.T) {
	notFound := "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n"
	wrong := startFake(t, "f1", func(s *fakeServer) { s.refuse = func(int) string { return notFound } })
	c := newClient(t, []string{wrong.url}, fast(client.Options{}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var he *client.HandshakeError
	if err := c.Connect(ctx); !errors.As(err, &he) || he.Status != 404 || he.Body != "not found" || len(wrong.handshakes()) != 1 {
		t.Fatalf("Connect: %v after %d handshakes, want the 404 after 1", err, len(wrong.handshakes()))
	}

	flaky := startFake(t, "f2", func(s *fakeServer) {
		s.refuse = func(n int) string {
			if n == 2 || n == 3 {
				return notFound
			}
			return ""
		}
	})
	c2 := newClient(t, []string{flaky.url}, fast(client.Options{}))
	connect(t, c2)
	_ = flaky.next(t).nc.Close()
	flaky.next(t)
	testkit.Eventually(t, 5*time.Second, "connected again", func() bool { return c2.State() == client.StateConnected })
	if n := len(flaky.handshakes()); n != 4 {
		t.Fatalf("%d handshakes: want two 404s retried, then connected", n)
	}
}

// TestDrainReconnectsToTheNextURLAfterRetryAfter: close 1001 "draining;
// retry-after-ms=N" makes the client wait about N ms and reconnect to the
// next URL, where it subscribes again with since; a transient close
// (1008) reconnects too.
func TestDrainReconnectsToTheNextURLAfterRetryAfter(t *testing.T) {
	a := startFake(t, "a", nil)
	b := startFake(t, "b", nil)
	c := newClient(t, []string{a.url, b.url}, fast(client.Options{}))
	connect(t, c)
	fa := a.next(t)
	var col collector
	done := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(context.Background(), "news", col.message)
		done <- err
	}()
	s := fa.expect("subscribe")
	fa.send(fmt.Sprintf(`{"type":"ack","id":%d,"channel":"news","offset":5,"epoch":"E"}`, s.ID))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fa.send(msg("news", 6, 5))
	testkit.Eventually(t, 5*time.Second, "the first message", func() bool { return len(col.offsets()) == 1 })
	closed := time.Now()
	fa.close(1001, "draining; retry-after-ms=300")
	fb := b.next(t)
	if wait := time.Since(closed); wait < 300*time.Millisecond || wait > 3*time.Second {
		t.Fatalf("reconnected after %v, want about 300ms", wait)
	}
	if n := len(a.handshakes()); n != 1 {
		t.Fatalf("the draining node got %d handshakes, want 1", n)
	}
	s = fb.expect("subscribe")
	if s.Since == nil || s.Since.Offset != 6 || s.Since.Epoch != "E" {
		t.Fatalf("resubscribe since %+v, want {6 E}", s.Since)
	}
	if c.Node() != "b" {
		t.Fatalf("node %q", c.Node())
	}
	// A slow-consumer close is transient: back to a (the next URL).
	fb.close(1008, "slow consumer")
	a.next(t).expect("subscribe")
}

// TestHandshakeRetryAfter: a 503 with Retry-After: 1 is not retried
// within the second, however short the backoff.
func TestHandshakeRetryAfter(t *testing.T) {
	srv := startFake(t, "f1", func(s *fakeServer) {
		s.refuse = func(n int) string {
			if n == 1 {
				return "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 9\r\n\r\ndraining\n"
			}
			return ""
		}
	})
	c := newClient(t, []string{srv.url}, fast(client.Options{}))
	connect(t, c)
	hs := srv.handshakes()
	if len(hs) != 2 {
		t.Fatalf("%d handshakes", len(hs))
	}
	if gap := hs[1].Sub(hs[0]); gap < time.Second || gap > 3*time.Second {
		t.Fatalf("second handshake %v after the 503, want about 1s", gap)
	}
}

// TestUnauthorizedTwiceIsFinal: a 401 is tried once more with a fresh
// token; a second in a row is final and Connect returns it. Without a
// token function the first is final.
func TestUnauthorizedTwiceIsFinal(t *testing.T) {
	refuse := func(s *fakeServer) {
		s.refuse = func(int) string {
			return "HTTP/1.1 401 Unauthorized\r\nContent-Length: 14\r\n\r\ntoken expired\n"
		}
	}
	srv := startFake(t, "f1", refuse)
	var calls atomic.Int32
	c := newClient(t, []string{srv.url}, fast(client.Options{Token: func(context.Context) (string, error) {
		return fmt.Sprintf("token-%d", calls.Add(1)), nil
	}}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Connect(ctx)
	var he *client.HandshakeError
	if !errors.As(err, &he) || he.Status != 401 || he.Body != "token expired" {
		t.Fatalf("Connect: %v, want the 401", err)
	}
	if calls.Load() != 2 || len(srv.handshakes()) != 2 {
		t.Fatalf("%d tokens, %d handshakes: want 2 each", calls.Load(), len(srv.handshakes()))
	}
	if c.State() != client.StateClosed {
		t.Fatalf("state %v", c.State())
	}

	anon := startFake(t, "f2", refuse)
	c2 := newClient(t, []string{anon.url}, fast(client.Options{}))
	if err := c2.Connect(ctx); !errors.As(err, &he) || len(anon.handshakes()) != 1 {
		t.Fatalf("anonymous Connect: %v after %d handshakes", err, len(anon.handshakes()))
	}
}

// TestPublishResentWithItsKeyAfterReconnect: a publication the connection
// lost before its ack is sent again on the next one with the same
// idempotency key, and Publish returns that ack. The token goes in the
// Authorization header.
func TestPublishResentWithItsKeyAfterReconnect(t *testing.T) {
	srv := startFake(t, "f1", nil)
	c := newClient(t, []string{srv.url}, fast(client.Options{Token: func(context.Context) (string, error) { return "tok", nil }}))
	connect(t, c)
	fc := srv.next(t)
	if !slices.Equal(fc.auths, []string{"Bearer tok"}) {
		t.Fatalf("Authorization %q", fc.auths)
	}
	done := make(chan error, 1)
	go func() { done <- c.Publish(context.Background(), "news", json.RawMessage(`{"a": "<b>"}`)) }()
	p1 := fc.expect("publish")
	if string(p1.Data) != `{"a": "<b>"}` || len(p1.Key) != 32 {
		t.Fatalf("publish %+v: data must go byte for byte, with a random key", p1)
	}
	_ = fc.nc.Close() // lost before the ack
	fc2 := srv.next(t)
	p2 := fc2.expect("publish")
	if p2.Key != p1.Key || string(p2.Data) != string(p1.Data) {
		t.Fatalf("resent %+v, want the same key and data as %+v", p2, p1)
	}
	fc2.send(fmt.Sprintf(`{"type":"ack","id":%d}`, p2.ID))
	if err := <-done; err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// An error frame is an *Error; a timeout wraps the context's error.
	go func() { done <- c.Publish(context.Background(), "news", 1, client.WithIdempotencyKey("k-1")) }()
	p3 := fc2.expect("publish")
	if p3.Key != "k-1" {
		t.Fatalf("key %q", p3.Key)
	}
	fc2.send(fmt.Sprintf(`{"type":"error","id":%d,"code":"rate_limited","message":"slow down"}`, p3.ID))
	var e *client.Error
	if err := <-done; !errors.As(err, &e) || e.Code != "rate_limited" {
		t.Fatalf("Publish: %v, want rate_limited", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Publish(ctx, "news", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered Publish: %v", err)
	}
}

// TestSilentServerIsDead: the server's pings are answered with pongs; a
// server silent for longer than its ping interval plus the margin (at
// least 5 s) is taken for dead and the client reconnects.
func TestSilentServerIsDead(t *testing.T) {
	srv := startFake(t, "f1", func(s *fakeServer) { s.pingMS = 100 })
	c := newClient(t, []string{srv.url}, fast(client.Options{}))
	connect(t, c)
	fc := srv.next(t)
	fc.ping()
	fc.awaitPong()
	start := time.Now()
	srv.next(t) // silence from then on: 100ms + 5s later the client gives up
	if d := time.Since(start); d < 5*time.Second || d > 9*time.Second {
		t.Fatalf("reconnected %v into the silence, want about 5.1s", d)
	}
}

// TestCloseEndsEverything: Close fails waiting calls with ErrClosed, ends
// subscriptions, sends close 1000, and leaves no goroutine (TestMain
// checks); calls after it return ErrClosed.
func TestCloseEndsEverything(t *testing.T) {
	srv := startFake(t, "f1", nil)
	c := client.New([]string{srv.url}, fast(client.Options{}))
	connect(t, c)
	fc := srv.next(t)
	done := make(chan error, 2)
	go func() {
		_, err := c.Subscribe(context.Background(), "news", func(client.Message) {})
		done <- err
	}()
	go func() { done <- c.Publish(context.Background(), "news", 1) }()
	for range 2 {
		if _, err := fc.read(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if p, err := fc.read(); err != errClientClosed || len(p) < 2 || p[0] != 0x03 || p[1] != 0xe8 {
		t.Fatalf("after Close the server read %q, %v: want close 1000", p, err)
	}
	for range 2 {
		if err := <-done; !errors.Is(err, client.ErrClosed) {
			t.Fatalf("waiting call: %v, want ErrClosed", err)
		}
	}
	if c.State() != client.StateClosed {
		t.Fatalf("state %v", c.State())
	}
	if _, err := c.Subscribe(context.Background(), "x", func(client.Message) {}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestResubscribeRefusalIsRetried: a resubscription refused with
// too_many_channels or rate_limited (the node is full, or the connection
// too fast, for now) is retried on the same connection after a backoff:
// the subscription goes on and resumes from its position.
func TestResubscribeRefusalIsRetried(t *testing.T) {
	srv := startFake(t, "f1", nil)
	c := newClient(t, []string{srv.url}, fast(client.Options{}))
	connect(t, c)
	fc := srv.next(t)
	var col collector
	done := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(context.Background(), "orders", col.message, client.WithEvents(col.event))
		done <- err
	}()
	s := fc.expect("subscribe")
	fc.send(fmt.Sprintf(`{"type":"ack","id":%d,"channel":"orders","offset":3,"epoch":"E"}`, s.ID))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = fc.nc.Close()
	fc = srv.next(t)
	for _, code := range []string{"too_many_channels", "rate_limited"} {
		s = fc.expect("subscribe")
		fc.send(fmt.Sprintf(`{"type":"error","id":%d,"code":%q,"message":"not now"}`, s.ID, code))
	}
	s = fc.expect("subscribe")
	if s.Since == nil || s.Since.Offset != 3 || s.Since.Epoch != "E" {
		t.Fatalf("retry since %+v, want {3 E}", s.Since)
	}
	fc.send(fmt.Sprintf(`{"type":"ack","id":%d,"channel":"orders","offset":4,"epoch":"E","recovered":true}`, s.ID))
	fc.send(msg("orders", 4, 3))
	testkit.Eventually(t, 5*time.Second, "the message after the retry", func() bool { return len(col.offsets()) == 1 })
	if got := col.kinds(); !slices.Equal(got, []client.EventKind{client.EventResumed}) {
		t.Fatalf("events %v, want only resumed", got)
	}
}

// TestDrainStormBacksOff: a server that closes every connection at once
// with "draining; retry-after-ms=0" is not hammered: each wait is at
// least MinBackoff, and drains of connections that did not hold count as
// failures, so the waits grow towards MaxBackoff.
func TestDrainStormBacksOff(t *testing.T) {
	srv := startFake(t, "f1", nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case fc := <-srv.conns:
				fc.close(1001, "draining; retry-after-ms=0")
			case <-stop:
				return
			}
		}
	}()
	c := newClient(t, []string{srv.url}, fast(client.Options{}))
	connect(t, c)
	time.Sleep(1500 * time.Millisecond)
	_ = c.Close()
	close(stop)
	wg.Wait()
	// Back to back that is over a hundred; with 20 ms to 200 ms of backoff
	// about fifteen.
	if n := len(srv.handshakes()); n > 40 {
		t.Fatalf("%d handshakes in 1.5s of drains announcing 0 ms", n)
	}
}
