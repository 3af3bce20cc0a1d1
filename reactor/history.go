package reactor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
)

// History reads (resumes, history frames) may wait for the bus, so they
// run on a fixed pool of workers, never on a loop; the answer goes back to
// the loop with Execute. The pool's queue is bounded: when it is full the
// client is told to retry (history_unavailable). So are the pages read and
// not yet handed to their connection, in bytes, node-wide: a worker waits
// for room before it reads, so that reads for clients that do not read
// their answers (or are gone) cannot pile pages up in the loops' queues.
const (
	historyWorkers = 16
	historyQueue   = 4096
	// historyPending bounds the bytes of pages read and not yet handed
	// over (each read reserves its maxBytes first).
	historyPending = 64 << 20
	// historyTimeout bounds one read.
	historyTimeout = 5 * time.Second
	// entryOverhead is what a page entry costs beside its data.
	entryOverhead = 64
)

// historyJob is one read; done runs on loop.
type historyJob struct {
	loop            *loop
	channel         string
	since           *relay.Position
	limit, maxBytes int
	done            func(relay.Page, error)
}

// historyPool runs the reads.
type historyPool struct {
	relay relay.Historian
	jobs  chan historyJob
	stop  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	room    sync.Cond // broadcast when pending drops or the pool stops
	pending int       // bytes reserved or read and not yet handed over
	budget  int       // historyPending (tests lower it)
	stopped bool

	reads, failures, refused, recovered, unrecovered atomic.Int64
}

func newHistoryPool(h relay.Historian) *historyPool {
	p := &historyPool{relay: h, jobs: make(chan historyJob, historyQueue), stop: make(chan struct{}), budget: historyPending}
	p.room.L = &p.mu
	for range historyWorkers {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

// submit queues job; false when the queue is full.
func (p *historyPool) submit(job historyJob) bool {
	select {
	case p.jobs <- job:
		return true
	default:
		p.refused.Add(1)
		return false
	}
}

func (p *historyPool) work() {
	defer p.wg.Done()
	for {
		select {
		case <-p.stop:
			return
		case job := <-p.jobs:
			if !p.reserve(job.maxBytes) {
				return
			}
			p.reads.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
			page, err := p.relay.Read(ctx, job.channel, job.since, job.limit, job.maxBytes)
			cancel()
			size := pageBytes(page)
			p.release(job.maxBytes - size) // a page may pass maxBytes by one entry
			handOver := gnet.RunnableFunc(func(context.Context) error {
				job.done(page, err)
				p.release(size)
				return nil
			})
			// The loop may be gone (the engine stopping): then so is the client.
			if job.loop.el.Execute(context.Background(), handOver) != nil {
				p.release(size)
			}
		}
	}
}

// reserve waits until pending is under the budget and adds n; false when
// the pool stops first.
func (p *historyPool) reserve(n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.pending >= p.budget && !p.stopped {
		p.room.Wait()
	}
	p.pending += n
	return !p.stopped
}

// release takes n back from pending.
func (p *historyPool) release(n int) {
	p.mu.Lock()
	p.pending -= n
	p.mu.Unlock()
	p.room.Broadcast()
}

// pageBytes is what page holds.
func pageBytes(page relay.Page) int {
	n := 0
	for _, e := range page.Entries {
		n += len(e.Data) + entryOverhead
	}
	return n
}

func (p *historyPool) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.room.Broadcast()
	close(p.stop)
	p.wg.Wait()
}

// history answers a history command: the retained publications of
// channel after since (from the oldest without it), at most limit and
// about half of MaxOutboundBytes. Runs on c's loop; the answer comes
// later, on it.
func (c *conn) history(cmd wire.Command) *wire.Error {
	l := c.loop
	id := append([]byte(nil), cmd.ID...)
	job := historyJob{loop: l, channel: cmd.Channel, limit: cmd.Limit, maxBytes: l.eng.cfg.MaxOutboundBytes / 2}
	if cmd.Since != nil {
		job.since = &relay.Position{Offset: cmd.Since.Offset, Epoch: cmd.Since.Epoch}
	}
	job.done = func(p relay.Page, err error) {
		if c.state != stateOpen {
			return
		}
		if err != nil {
			l.eng.history.failures.Add(1)
			c.replyError(id, wire.ErrHistoryUnavailable)
			c.flush()
			return
		}
		entries := make([]wire.HistoryEntry, len(p.Entries))
		for i, e := range p.Entries {
			entries[i] = wire.HistoryEntry{Offset: e.Offset, Prev: e.Prev, Data: e.Data}
		}
		c.queueHistory(id, cmd.Channel, p.Position.Offset, p.Position.Epoch, p.Recovered, p.More, entries)
		c.flush()
	}
	if !l.eng.history.submit(job) {
		return wire.ErrHistoryUnavailable
	}
	return nil
}
