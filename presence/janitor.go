package presence

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// janitorTimeout bounds one sweep or the removal of one dead node's
// members (a few seconds for 100,000: the purges are pipelined).
const janitorTimeout = 2 * time.Minute

// errRevived: the node being expired heartbeats again.
var errRevived = errors.New("presence: node is alive again")

// janitor is the work of removing dead nodes' members, done by the live
// node with the smallest ID: the nodes whose heartbeat key went, and
// sweeps of the whole bucket for members of nodes with no key at all
// (dead before any node watched, or missed). Requests are a set, so
// repeats cost nothing; failed work is requested again and retried at
// the next tick.
type janitor struct {
	signal chan struct{}

	mu    sync.Mutex
	nodes map[string]struct{}
	sweep bool
}

func newJanitor() *janitor {
	return &janitor{signal: make(chan struct{}, 1), nodes: make(map[string]struct{})}
}

// request asks for node's members to be removed now.
func (j *janitor) request(node string) {
	j.requestLater(node)
	j.wake()
}

// requestLater asks for it at the next tick: a retry.
func (j *janitor) requestLater(node string) {
	j.mu.Lock()
	j.nodes[node] = struct{}{}
	j.mu.Unlock()
}

// requestSweep asks for a sweep now, or at the next tick (later).
func (j *janitor) requestSweep(later bool) {
	j.mu.Lock()
	j.sweep = true
	j.mu.Unlock()
	if !later {
		j.wake()
	}
}

func (j *janitor) wake() {
	select {
	case j.signal <- struct{}{}:
	default:
	}
}

// take returns and clears the pending work, nodes sorted.
func (j *janitor) take() (nodes []string, sweep bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for node := range j.nodes {
		nodes = append(nodes, node)
	}
	clear(j.nodes)
	sweep, j.sweep = j.sweep, false
	slices.Sort(nodes)
	return nodes, sweep
}

// janitorLoop is the janitor goroutine. It works when woken, and at each
// tick (NodeTTL/3), when it also takes the nodes that went silent without
// a marker, and retries failed work.
func (n *NATS) janitorLoop() {
	defer n.wg.Done()
	tick := time.NewTicker(n.cfg.NodeTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-n.janitor.signal:
		case now := <-tick.C:
			if n.checkLeader(now) {
				for _, node := range n.view.staleNodes(now) {
					n.janitor.request(node)
				}
			}
		}
		if n.nc.IsConnected() {
			n.cleanUp()
		}
	}
}

// cleanUp does the pending work if this node is the janitor (else the
// janitor does it and the work is dropped).
func (n *NATS) cleanUp() {
	nodes, sweep := n.janitor.take()
	if !n.checkLeader(time.Now()) {
		return
	}
	if sweep {
		found, err := n.sweep()
		if err != nil && n.ctx.Err() == nil {
			n.stats.errors.Add(1)
			n.log.Warn("presence: sweep of the members bucket failed; retrying", "err", err)
			n.janitor.requestSweep(true)
		}
		nodes = append(nodes, found...)
	}
	for _, node := range nodes {
		if err := n.expireNode(node); err != nil && n.ctx.Err() == nil {
			n.stats.errors.Add(1)
			n.log.Warn("presence: removing a dead node's members failed; retrying", "node", node, "err", err)
			n.janitor.requestLater(node)
		}
	}
}

// sweep lists the nodes, other than the live ones, that have members in
// the bucket. It reads keys only (no values), one pass over the bucket.
func (n *NATS) sweep() ([]string, error) {
	ctx, cancel := context.WithTimeout(n.ctx, janitorTimeout)
	defer cancel()
	live := n.view.live(time.Now())
	dead := make(map[string]struct{})
	err := scan(ctx, n.members, ">", true, func(e jetstream.KeyValueEntry) error {
		if _, _, node, ok := splitKey(e.Key()); ok && !live[node] {
			dead[node] = struct{}{}
		}
		return nil
	})
	nodes := make([]string, 0, len(dead))
	for node := range dead {
		nodes = append(nodes, node)
	}
	slices.Sort(nodes)
	return nodes, err
}

// expireNode purges the members of node, if its heartbeat key is gone.
// It checks that again before each pipeline of purges, and each purge
// expects the revision it read: a node that comes back (its heartbeat
// first, then its members, see reconcile) keeps what it wrote after the
// check. The leave markers carry the members, so watchers learn who left.
func (n *NATS) expireNode(node string) error {
	ctx, cancel := context.WithTimeout(n.ctx, janitorTimeout)
	defer cancel()
	p := newPipeline(n.js, n.cfg.Bucket, n.ctx.Done())
	err := n.checkDead(ctx, node)
	if err == nil {
		err = scan(ctx, n.members, nodeFilter(node), false, func(e jetstream.KeyValueEntry) error {
			if p.full() {
				p.flush()
				if err := n.checkDead(ctx, node); err != nil {
					return err
				}
			}
			m, _ := decodeMember(e.Key(), e.Value())
			p.purge(e.Key(), m, e.Revision())
			return nil
		})
	}
	p.flush()
	n.stats.expired.Add(int64(p.ok))
	if p.ok > 0 {
		n.log.Info("presence: removed the members of a dead node", "node", node, "members", p.ok)
	}
	switch {
	case errors.Is(err, errRevived):
		return nil
	case err != nil:
		return err
	case p.failed > 0:
		return errWrites
	}
	n.view.forgetStale(node, time.Now()) // no more stale requests for it
	return nil
}

// checkDead returns nil if node's heartbeat key is gone, errRevived if it
// is there.
func (n *NATS) checkDead(ctx context.Context, node string) error {
	_, err := n.nodes.Get(ctx, node)
	switch {
	case err == nil:
		return errRevived
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil
	}
	return err
}
