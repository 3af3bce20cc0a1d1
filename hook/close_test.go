package hook

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCloseAbortsCallsInFlight(t *testing.T) {
	c := newClient(t, Config{URL: newBackend(t, hang(t)).URL, ConnectTimeout: time.Hour})
	results := make(chan ConnectResult, 3)
	for range 3 {
		if !c.Connect(ConnectRequest{Conn: "c"}, func(r ConnectResult) { results <- r }) {
			t.Fatal("Connect found no slot")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the context's deadline", err)
	}
	// Close returned after every done: the results are there.
	for range 3 {
		select {
		case r := <-results:
			if !errors.Is(r.Err, ErrClosed) || r.Allow {
				t.Errorf("aborted call: %+v, want a deny with ErrClosed", r)
			}
		default:
			t.Fatal("Close returned before a call's done ran")
		}
	}
}

func TestClosedClientRefusesEverything(t *testing.T) {
	c := newClient(t, Config{URL: newBackend(t, answer(200, `{"allow":true}`)).URL})
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	called := false
	if c.Connect(ConnectRequest{}, func(ConnectResult) { called = true }) ||
		c.Publish(PublishRequest{}, func(PublishResult) { called = true }) ||
		c.Message(MessageRequest{}, func(MessageResult) { called = true }) ||
		c.Emit(Event{Type: "disconnect"}) {
		t.Error("a closed Client accepted work")
	}
	if called {
		t.Error("a refused call's done ran")
	}
	if s := c.Stats(); s.Busy != 0 || s.EventsDropped != 1 {
		t.Errorf("stats %+v: closed is not busy, a refused event is dropped", s)
	}
}
