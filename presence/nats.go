package presence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// ackTimeout is how long a write waits for JetStream's acknowledgement
	// before it counts as failed (and the bucket is reconciled).
	ackTimeout = 10 * time.Second
)

// NATS is the cluster Store: members in a JetStream KV bucket, node
// heartbeats in another. See the package documentation for the design.
type NATS struct {
	cfg         NATSConfig
	log         *slog.Logger
	eventPrefix string // "<EventSubjectPrefix>.<bucket>."
	nc          *nats.Conn
	js          jetstream.JetStream

	members jetstream.KeyValue // "<enc(channel)>.<conn>" → Member
	nodes   jetstream.KeyValue // "<node>" → incarnation, MaxAge NodeTTL

	local       *localSet // this node's members: the truth the bucket follows
	queue       *queue    // writes waiting for the writer
	watches     *watchSet // channels whose events this node wants
	view        *nodeView // the live nodes
	janitor     *janitor  // dead nodes' members to remove
	stats       counters
	nodesW      jetstream.KeyWatcher // the nodes bucket's watcher (see watchNodes), under lifecycle
	nodesCancel context.CancelFunc   // ends it

	incarnation  []byte // this process's heartbeat value
	heartbeatRev uint64 // revision of the last heartbeat (heartbeat goroutine only, after NewNATS)

	dirty     atomic.Bool  // writes failed: reconcile
	revived   atomic.Bool  // this node was declared dead: reconcile, putting every member
	unwritten atomic.Int64 // writes queued or in flight (at least)

	lifecycle sync.Mutex // orders Start, Close and the nodes watcher's restarts
	started   bool
	closed    atomic.Bool
	ctx       context.Context // ends the goroutines' requests
	cancel    context.CancelFunc
	stop      chan struct{} // closed by Close: the goroutines end
	wg        sync.WaitGroup
}

var _ Store = (*NATS)(nil)

// NewNATS creates or updates the buckets (several nodes may do it at
// once), writes this node's heartbeat, removes the members an earlier
// process with this node ID left, reads the live nodes, and starts the
// writer, heartbeat, janitor and node-watcher goroutines. It needs NATS
// with JetStream: it fails when the buckets cannot be set up within 10 s.
// nc stays the caller's: Close does not close it.
func NewNATS(nc *nats.Conn, cfg NATSConfig) (*NATS, error) {
	if nc == nil {
		return nil, errors.New("presence: nil NATS connection")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(ackTimeout), jetstream.WithPublishAsyncMaxPending(4*pipelineDepth))
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	n := &NATS{
		cfg: cfg, log: cfg.Logger, eventPrefix: eventPrefix(cfg.Bucket), nc: nc, js: js,
		local: newLocalSet(), queue: newQueue(cfg.QueueSize), watches: newWatchSet(),
		view: newNodeView(cfg.Node, cfg.NodeTTL), janitor: newJanitor(),
		incarnation: newIncarnation(), stop: make(chan struct{}),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.setUp(); err != nil {
		n.shutdown(false)
		return nil, err
	}
	n.wg.Add(3)
	go n.writeLoop()
	go n.heartbeatLoop()
	go n.janitorLoop()
	return n, nil
}

// setUp is NewNATS's part that talks to NATS, in an order that matters: a
// node's heartbeat is in the nodes bucket before any of its members is in
// the members bucket.
func (n *NATS) setUp() error {
	ctx, cancel := context.WithTimeout(n.ctx, setupTimeout)
	defer cancel()
	var err error
	if n.members, n.nodes, err = ensureBuckets(ctx, n.js, n.cfg); err != nil {
		return err
	}
	if n.heartbeatRev, err = n.nodes.Put(ctx, n.cfg.Node, n.incarnation); err != nil {
		return fmt.Errorf("presence: heartbeat: %w", err)
	}
	purged, err := n.reconcile(false) // the local set is empty: purges what an earlier process left
	if err != nil {
		return fmt.Errorf("presence: removing an earlier process's members: %w", err)
	}
	n.stats.expired.Add(int64(purged))
	ready, err := n.startNodeWatcher()
	if err != nil {
		return fmt.Errorf("presence: watching nodes: %w", err)
	}
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("presence: reading the live nodes: %w", ctx.Err())
	}
}

// Start starts the watch manager, and the event dispatcher, which hands
// the events of watched channels to h, one at a time, in the order the
// bucket stored them. Watch calls made before Start take effect then.
func (n *NATS) Start(h func(Event)) error {
	if h == nil {
		return ErrNoHandler
	}
	n.lifecycle.Lock()
	defer n.lifecycle.Unlock()
	switch {
	case n.closed.Load():
		return ErrClosed
	case n.started:
		return ErrStarted
	}
	n.started = true
	n.wg.Add(1)
	go n.watchLoop(h)
	return nil
}

// Join adds m, whose Node must be this node's, to channel and queues its
// write.
func (n *NATS) Join(channel string, m Member) {
	if !validChannel(channel) || !validMember(m) || m.Node != n.cfg.Node {
		n.stats.errors.Add(1)
		return
	}
	if n.closed.Load() {
		return
	}
	if m.Joined.IsZero() {
		m.Joined = time.Now()
	}
	n.unwritten.Add(1)
	added, queued := n.local.join(channel, m, n.queue)
	if added {
		n.stats.joins.Add(1)
	}
	n.queued(added, queued)
}

// Leave removes m.Conn from channel and queues its write.
func (n *NATS) Leave(channel string, m Member) {
	if n.closed.Load() {
		return
	}
	n.unwritten.Add(1)
	left, queued := n.local.leave(channel, m.Conn, n.queue)
	if left {
		n.stats.leaves.Add(1)
	}
	n.queued(left, queued)
}

// queued counts the outcome of a Join or Leave: a change whose write did
// not fit in the queue is dropped (the queue remembers, and the writer
// reconciles the bucket later).
func (n *NATS) queued(changed, queued bool) {
	if !queued {
		n.unwritten.Add(-1)
	}
	if changed && !queued {
		n.stats.dropped.Add(1)
	}
}

// Watch asks for the events of channel; the watch manager starts its
// watcher soon after (or when NATS is back).
func (n *NATS) Watch(channel string) { n.watches.set(channel, true) }

// Unwatch stops the events of channel.
func (n *NATS) Unwatch(channel string) { n.watches.set(channel, false) }

// Stats reports the counters, this node's members, the watched channels
// and the writes waiting in the queue.
func (n *NATS) Stats() Stats {
	s := n.stats.snapshot()
	s.Members = int64(n.local.len())
	s.Watches = int64(n.watches.len())
	s.Queued = int64(n.queue.len())
	return s
}
