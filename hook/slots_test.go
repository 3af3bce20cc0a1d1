package hook

import (
	"errors"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
)

func TestSlotsBusyWhenFull(t *testing.T) {
	var hanging atomic.Bool
	hanging.Store(true)
	wait := hang(t)
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request, event string, body []byte) {
		if hanging.Load() {
			wait(w, r, event, body)
			return
		}
		answer(200, `{"allow":true}`)(w, r, event, body)
	})
	c := newClient(t, Config{URL: srv.URL, MaxConcurrent: 2, ConnectTimeout: 500 * time.Millisecond})

	results := make(chan ConnectResult, 2)
	for i := range 2 {
		if !c.Connect(ConnectRequest{Conn: "c"}, func(r ConnectResult) { results <- r }) {
			t.Fatalf("call %d found no slot", i)
		}
	}
	third := false
	if c.Connect(ConnectRequest{Conn: "c"}, func(ConnectResult) { third = true }) {
		t.Fatal("the third call got a slot")
	}
	if c.Publish(PublishRequest{}, func(PublishResult) {}) || c.Message(MessageRequest{}, func(MessageResult) {}) {
		t.Fatal("a publish or message call got a slot")
	}
	if s := c.Stats(); s.Busy != 3 || s.ConnectCalls != 2 {
		t.Errorf("stats %+v, want Busy 3 and ConnectCalls 2", s)
	}
	for range 2 {
		if r := await(t, results, "connect result"); !errors.Is(r.Err, ErrTimeout) {
			t.Errorf("a hung call ended with %+v, want ErrTimeout", r)
		}
	}
	hanging.Store(false)
	// The slots are freed just after done returns.
	var r ConnectResult
	testkit.Eventually(t, waitLimit, "a free slot", func() bool {
		ch := make(chan ConnectResult, 1)
		if !c.Connect(ConnectRequest{Conn: "c"}, func(r ConnectResult) { ch <- r }) {
			return false
		}
		r = await(t, ch, "connect result")
		return true
	})
	if !r.Allow || r.Err != nil {
		t.Errorf("after the timeouts: %+v", r)
	}
	if third {
		t.Error("a refused call's done ran")
	}
}

// TestSlotsFloodStaysBounded makes 10,000 calls against a slow backend:
// each refused one costs nothing, and the goroutines in flight never
// depend on the number of calls. Each call holding a slot costs its own
// goroutine, the transport's two per connection and the test server's two
// per connection; idle connections keep theirs.
func TestSlotsFloodStaysBounded(t *testing.T) {
	const maxConcurrent, calls = 4, 10000
	srv := newBackend(t, func(w http.ResponseWriter, r *http.Request, event string, body []byte) {
		time.Sleep(100 * time.Millisecond)
		answer(200, `{"allow":true}`)(w, r, event, body)
	})
	c := newClient(t, Config{URL: srv.URL, MaxConcurrent: maxConcurrent})
	base := runtime.NumGoroutine()
	bound := base + maxConcurrent + 5*(maxConcurrent+2) + 8

	var accepted, finished atomic.Int64
	peak := 0
	for i := range calls {
		if c.Connect(ConnectRequest{Conn: "c"}, func(ConnectResult) { finished.Add(1) }) {
			accepted.Add(1)
		}
		if i%10 == 0 {
			peak = max(peak, runtime.NumGoroutine())
		}
	}
	testkit.Eventually(t, waitLimit, "every accepted call's done", func() bool {
		peak = max(peak, runtime.NumGoroutine())
		return finished.Load() == accepted.Load()
	})
	if peak > bound {
		t.Errorf("%d goroutines at the peak, over %d (%d before the flood)", peak, bound, base)
	}
	s := c.Stats()
	if refused := calls - accepted.Load(); refused < calls/2 || s.Busy != refused || s.ConnectCalls != accepted.Load() {
		t.Errorf("%d of %d calls refused, stats %+v", refused, calls, s)
	}
	t.Logf("%d calls accepted, peak %d goroutines (bound %d, base %d)", accepted.Load(), peak, bound, base)
}
