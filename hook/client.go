package hook

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// Client calls one backend's hooks. Its methods may be called from any
// goroutine, an event loop included: Connect, Publish, Message, Emit and
// Stats never block and do no I/O; the calls run on the Client's own
// goroutines (at most MaxConcurrent, plus the batcher).
type Client struct {
	cfg     Config
	http    *http.Client
	ownHTTP bool // http was built by New, which closes its idle connections

	// ctx is canceled when Close gives up waiting (or has finished): it
	// aborts the calls in flight and the batcher's POST or backoff.
	ctx   context.Context
	abort context.CancelFunc

	slots       chan struct{}  // one token per call in flight, MaxConcurrent capacity
	callMu      sync.RWMutex   // orders callsClosed and calls.Add before Close's calls.Wait
	callsClosed bool           // guarded by callMu
	calls       sync.WaitGroup // the call goroutines

	events      events        // the queue Emit fills and the batcher drains
	closing     chan struct{} // closed by Close: the batcher flushes and ends
	batcherDone chan struct{} // closed when the batcher has ended
	closeOnce   sync.Once

	stats   counters
	aborted atomic.Int64 // calls that ended with ErrClosed
	failLog every        // rate limit of call failure logs
}

// New checks cfg, applies its defaults and starts the event batcher. The
// Client must be closed with Close.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	c := &Client{
		cfg:         cfg,
		http:        cfg.Client,
		slots:       make(chan struct{}, cfg.MaxConcurrent),
		closing:     make(chan struct{}),
		batcherDone: make(chan struct{}),
	}
	if c.http == nil {
		c.http, c.ownHTTP = newHTTPClient(cfg.MaxConcurrent), true
	}
	c.ctx, c.abort = context.WithCancel(context.Background())
	c.events.init()
	go c.batch()
	return c, nil
}

// Close stops the Client: Connect, Publish and Message return false and
// Emit drops from then on. It lets the batcher send the queued events
// (without waiting BatchWait, with the usual retries) and waits for the
// calls in flight, until ctx ends; then it aborts what is left: each
// aborted call's done still runs, with ErrClosed, and the events not
// delivered are counted in Stats.EventsDropped (and the drops not logged
// yet are logged with their total). It returns nil when nothing
// was aborted, else an error wrapping ctx's. Close may be called more than
// once; every call waits.
func (c *Client) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.callMu.Lock()
		c.callsClosed = true
		c.callMu.Unlock()
		c.events.close()
		close(c.closing)
	})
	c.waitOrAbort(ctx, c.batcherDone)
	callsDone := make(chan struct{})
	go func() {
		c.calls.Wait()
		close(callsDone)
	}()
	c.waitOrAbort(ctx, callsDone)
	c.abort()
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
	lost := c.events.discard()
	total := c.stats.eventsDropped.Add(lost)
	if c.events.logged.Swap(total) != total { // drops not logged yet
		c.cfg.Logger.Warn("hook: closed with events dropped", "lost_on_close", lost, "dropped_total", total)
	}
	switch cause := context.Cause(ctx); {
	case cause == nil: // nothing aborted by this Close
		return nil
	case lost > 0:
		return fmt.Errorf("hook: close: %d events not delivered: %w", lost, cause)
	case c.aborted.Load() > 0:
		return fmt.Errorf("hook: close: %d calls aborted: %w", c.aborted.Load(), cause)
	}
	return nil
}

// waitOrAbort waits until done is closed; when ctx ends first, it aborts
// the calls and the batcher and waits for done all the same (aborted work
// ends at once).
func (c *Client) waitOrAbort(ctx context.Context, done <-chan struct{}) {
	select {
	case <-done:
	case <-ctx.Done():
		c.abort()
		<-done
	}
}
