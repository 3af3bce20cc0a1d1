package hook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
)

// eventLog records the batches a backend accepted, in arrival order.
type eventLog struct {
	mu      sync.Mutex
	batches [][]Event
}

func (l *eventLog) add(body []byte) bool {
	var b struct {
		Type   string  `json:"type"`
		Events []Event `json:"events"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Type != "events" {
		return false
	}
	l.mu.Lock()
	l.batches = append(l.batches, b.Events)
	l.mu.Unlock()
	return true
}

// events returns every event accepted so far, and the number of batches.
func (l *eventLog) events() ([]Event, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var all []Event
	for _, b := range l.batches {
		all = append(all, b...)
	}
	return all, len(l.batches)
}

// accept returns a handler that records each batch in l and answers 200,
// except when fail says otherwise (given the batch's attempt number).
func (l *eventLog) accept(t *testing.T, fail func(attempt int) int) handler {
	var mu sync.Mutex
	attempt := 0
	return func(w http.ResponseWriter, _ *http.Request, _ string, body []byte) {
		mu.Lock()
		attempt++
		n := attempt
		mu.Unlock()
		if fail != nil {
			if status := fail(n); status != 0 {
				w.WriteHeader(status)
				return
			}
		}
		if !l.add(body) {
			t.Errorf("backend: malformed batch %s", body)
			w.WriteHeader(http.StatusBadRequest)
		}
	}
}

// numbered returns event i: Conn carries the number, for order checks.
func numbered(i int) Event {
	return Event{Type: "subscribe", Conn: strconv.Itoa(i), Node: "n1", Channel: "chat"}
}

// disconnected is event i, a disconnect.
func disconnected(i int) Event {
	return Event{Type: "disconnect", Conn: strconv.Itoa(i), Node: "n1", Code: 1000}
}

// checkSequence fails t unless events are numbered from..to-1 in order,
// each once.
func checkSequence(t *testing.T, events []Event, from, to int) {
	t.Helper()
	if len(events) != to-from {
		t.Fatalf("%d events, want %d", len(events), to-from)
	}
	for i, ev := range events {
		if ev.Conn != strconv.Itoa(from+i) {
			t.Fatalf("event %d is %q, want %d: order or uniqueness broken", i, ev.Conn, from+i)
		}
		want := numbered(from + i)
		if ev.Type == "disconnect" {
			want = disconnected(from + i)
		}
		if ev.At.IsZero() || ev.Type != want.Type || ev.Node != "n1" || ev.Channel != want.Channel || ev.Code != want.Code {
			t.Fatalf("event %d arrived as %+v", i, ev)
		}
	}
}

// TestEventsBatchedInOrder emits a burst of 250: two full batches go at
// once, and the partial one, which would wait an hour, goes on Close.
func TestEventsBatchedInOrder(t *testing.T) {
	var log eventLog
	srv := newBackend(t, log.accept(t, nil))
	c := newClient(t, Config{URL: srv.URL, BatchSize: 100, BatchWait: time.Hour})
	for i := range 250 {
		if !c.Emit(numbered(i)) {
			t.Fatalf("Emit %d refused", i)
		}
	}
	testkit.Eventually(t, waitLimit, "two full batches", func() bool { return c.Stats().EventsSent == 200 })
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	events, posts := log.events()
	if posts != 3 {
		t.Errorf("%d POSTs for 250 events in batches of 100", posts)
	}
	checkSequence(t, events, 0, 250)
	if s := c.Stats(); s.EventsQueued != 250 || s.EventsSent != 250 || s.EventsDropped != 0 || s.BatchRetries != 0 || s.Queue != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestEventsRetriedAfterFailure(t *testing.T) {
	var log eventLog
	srv := newBackend(t, log.accept(t, func(attempt int) int {
		if attempt <= 2 {
			return http.StatusInternalServerError
		}
		return 0
	}))
	c := newClient(t, Config{URL: srv.URL, BatchWait: time.Millisecond, RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	for i := range 50 {
		c.Emit(numbered(i))
	}
	testkit.Eventually(t, waitLimit, "50 events", func() bool { return c.Stats().EventsSent == 50 })
	events, _ := log.events()
	checkSequence(t, events, 0, 50)
	if s := c.Stats(); s.BatchRetries != 2 || s.EventsDropped != 0 {
		t.Errorf("stats %+v, want 2 retries", s)
	}
}

// TestEventsQueueWhileBackendDown emits into a node whose backend is down
// (its address refuses connections), then starts the backend on that
// address: the events the queue held arrive, in order, and the rest were
// counted as dropped without Emit ever waiting.
func TestEventsQueueWhileBackendDown(t *testing.T) {
	const queue, emitted = 1000, 20000
	addr := testkit.ReserveAddr(t)
	var logged lockedBuffer
	c := newClient(t, Config{URL: "http://" + addr, QueueSize: queue, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	began := time.Now()
	var slowest time.Duration
	for i := range emitted {
		start := time.Now()
		c.Emit(disconnected(i)) // disconnects may fill the whole queue
		slowest = max(slowest, time.Since(start))
	}
	if slowest > time.Second { // a lock held across I/O, not a slow machine
		t.Errorf("an Emit took %s", slowest)
	}
	s := c.Stats()
	if s.EventsQueued != queue || s.EventsDropped != emitted-queue || s.Queue != queue || s.EventsSent != 0 {
		t.Fatalf("stats %+v, want %d queued and %d dropped", s, queue, emitted-queue)
	}
	testkit.Eventually(t, waitLimit, "a failed batch", func() bool { return c.Stats().BatchRetries > 0 })

	var log eventLog
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the reserved %s: %v", addr, err)
	}
	newBackendOn(t, ln, log.accept(t, nil))

	testkit.Eventually(t, waitLimit, "the queued events", func() bool { return c.Stats().EventsSent == queue })
	events, _ := log.events()
	checkSequence(t, events, 0, queue)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	if s := c.Stats(); s.Queue != 0 || s.EventsDropped != emitted-queue {
		t.Errorf("stats after Close %+v", s)
	}
	// 19,000 drops: a line per logPeriod at most, and the total by Close.
	text := logged.String()
	if n := strings.Count(text, "event queue full"); n > 1+int(time.Since(began)/logPeriod) {
		t.Errorf("%d drop log lines in %s:\n%s", n, time.Since(began), text)
	}
	if !strings.Contains(text, "dropped_total=19000") {
		t.Errorf("the drop total was never logged:\n%s", text)
	}
}

// TestEventsQueueKeepsRoomForDisconnects: subscribe and unsubscribe
// events fill three quarters of the queue at most; disconnect events may
// take the rest.
func TestEventsQueueKeepsRoomForDisconnects(t *testing.T) {
	addr := testkit.ReserveAddr(t) // refuses connections: nothing leaves the queue
	c := newClient(t, Config{URL: "http://" + addr, QueueSize: 100, RetryMin: time.Second, RetryMax: time.Second})
	for i := range 200 {
		c.Emit(numbered(i))
	}
	if s := c.Stats(); s.EventsQueued != 75 || s.EventsDropped != 125 {
		t.Fatalf("subscribe events: %+v, want 75 queued", s)
	}
	for i := range 50 {
		c.Emit(disconnected(i))
	}
	if s := c.Stats(); s.EventsQueued != 100 || s.EventsDropped != 150 {
		t.Fatalf("then disconnect events: %+v, want 25 more queued", s)
	}
}

// lockedBuffer is a log destination the batcher and the test share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestEventsCloseFlushes(t *testing.T) {
	var log eventLog
	srv := newBackend(t, log.accept(t, nil))
	c := newClient(t, Config{URL: srv.URL, BatchSize: 100, BatchWait: time.Hour})
	for i := range 10 {
		c.Emit(numbered(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	events, _ := log.events()
	checkSequence(t, events, 0, 10)
	if c.Emit(numbered(10)) {
		t.Error("Emit after Close accepted an event")
	}
	if s := c.Stats(); s.EventsSent != 10 || s.EventsDropped != 1 || s.Queue != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestEventsCloseGivesUp(t *testing.T) {
	srv := newBackend(t, answer(http.StatusServiceUnavailable, ""))
	c := newClient(t, Config{URL: srv.URL, BatchSize: 10, RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	for i := range 25 {
		c.Emit(numbered(i))
	}
	testkit.Eventually(t, waitLimit, "a failed batch", func() bool { return c.Stats().BatchRetries > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the context's deadline", err)
	}
	if s := c.Stats(); s.EventsDropped != 25 || s.EventsSent != 0 || s.Queue != 0 {
		t.Errorf("stats %+v, want the 25 events dropped", s)
	}
}
