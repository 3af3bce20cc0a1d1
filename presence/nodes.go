package presence

import (
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// nodeView is this node's view of the live nodes, kept from a watcher on
// the nodes bucket. A node is live from a heartbeat seen until its key is
// removed (a clean Close purges it; the server's expiry of a heartbeat
// older than NodeTTL leaves a marker) or, should that marker be missed,
// until no heartbeat was seen for NodeTTL + NodeTTL/3 by the local clock.
// This node is always live in its own view.
//
// The view decides what List and Count show, and which node is the
// janitor (the live node with the smallest ID). Removing a dead node's
// members takes the server's word instead (its heartbeat key is gone):
// a view can be late, the bucket cannot.
type nodeView struct {
	self  string
	stale time.Duration // NodeTTL + NodeTTL/3

	mu     sync.Mutex
	seen   map[string]time.Time // node → when its last heartbeat was seen
	leader bool                 // this node was the janitor at the last check
}

func newNodeView(self string, nodeTTL time.Duration) *nodeView {
	return &nodeView{self: self, stale: nodeTTL + nodeTTL/3, seen: make(map[string]time.Time)}
}

// heard records a heartbeat of node.
func (v *nodeView) heard(node string, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seen[node] = now
}

// forget removes node (its heartbeat key is gone).
func (v *nodeView) forget(node string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.seen, node)
}

// forgetStale removes node if no heartbeat of it was seen for the stale
// time (one seen meanwhile means it came back).
func (v *nodeView) forgetStale(node string, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if at, ok := v.seen[node]; ok && now.Sub(at) >= v.stale {
		delete(v.seen, node)
	}
}

// live returns the set of live nodes (this one included): a snapshot for
// one List or Count.
func (v *nodeView) live(now time.Time) map[string]bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	set := map[string]bool{v.self: true}
	for node, at := range v.seen {
		if now.Sub(at) < v.stale {
			set[node] = true
		}
	}
	return set
}

// staleNodes lists the nodes whose heartbeats stopped without a marker.
func (v *nodeView) staleNodes(now time.Time) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var nodes []string
	for node, at := range v.seen {
		if node != v.self && now.Sub(at) >= v.stale {
			nodes = append(nodes, node)
		}
	}
	slices.Sort(nodes)
	return nodes
}

// checkLeader reports whether this node is the janitor (no live node has
// a smaller ID), and whether it just became it.
func (v *nodeView) checkLeader(now time.Time) (leader, became bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	leader = true
	for node, at := range v.seen {
		if node < v.self && now.Sub(at) < v.stale {
			leader = false
			break
		}
	}
	became = leader && !v.leader
	v.leader = leader
	return leader, became
}

// sinceSelf is how long ago this node's own heartbeat was last seen.
func (v *nodeView) sinceSelf(now time.Time) time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return now.Sub(v.seen[v.self])
}

// startNodeWatcher starts a watcher on the nodes bucket, and the
// goroutine that keeps the view from it, in place of the previous ones.
// ready closes after the initial values.
func (n *NATS) startNodeWatcher() (ready <-chan struct{}, err error) {
	w, cancel, err := watch(n.ctx, n.nodes, ">")
	if err != nil {
		return nil, err
	}
	n.lifecycle.Lock()
	defer n.lifecycle.Unlock()
	if n.closed.Load() {
		stopWatcher(w)
		cancel()
		return nil, ErrClosed
	}
	n.stopNodeWatcher()
	n.nodesW, n.nodesCancel = w, cancel
	done := make(chan struct{})
	n.wg.Add(1)
	go n.watchNodes(w, done)
	return done, nil
}

// stopNodeWatcher stops the nodes bucket's watcher, which ends its
// goroutine. n.lifecycle must be held.
func (n *NATS) stopNodeWatcher() {
	if n.nodesW != nil {
		stopWatcher(n.nodesW)
		n.nodesCancel()
		n.nodesW, n.nodesCancel = nil, nil
	}
}

// checkNodeWatcher restarts the nodes watcher when it has not shown this
// node's own heartbeats, written meanwhile, for two heartbeat intervals:
// it stopped delivering, and the view would soon take every other node
// for dead. The heartbeat goroutine calls it after two good heartbeats.
func (n *NATS) checkNodeWatcher(now time.Time) {
	if n.view.sinceSelf(now) < 2*n.cfg.NodeTTL/3 {
		return
	}
	n.log.Warn("presence: the nodes watcher stopped showing heartbeats; restarting it", "node", n.cfg.Node)
	if _, err := n.startNodeWatcher(); err != nil && n.ctx.Err() == nil {
		n.stats.errors.Add(1)
		n.log.Warn("presence: restarting the nodes watcher failed", "err", err)
	}
}

// watchNodes keeps the view from the nodes bucket's watcher w until w
// stops. It closes ready after the initial values. After it, a node whose
// key goes is handed to the janitor, and the janitor sweeps when this
// node becomes it.
func (n *NATS) watchNodes(w jetstream.KeyWatcher, ready chan<- struct{}) {
	defer n.wg.Done()
	initial := true
	for e := range w.Updates() {
		now := time.Now()
		if e == nil {
			if initial {
				initial = false
				close(ready)
				n.checkLeader(now)
			}
			continue
		}
		node := e.Key()
		if e.Operation() == jetstream.KeyValuePut {
			n.view.heard(node, now)
		} else {
			n.view.forget(node)
			if !initial && node != n.cfg.Node {
				n.nodeGone(node, now)
			}
		}
		if !initial {
			n.checkLeader(now)
		}
	}
}

// nodeGone hands a node whose heartbeat key went to the janitor, if this
// node is the janitor.
func (n *NATS) nodeGone(node string, now time.Time) {
	if n.checkLeader(now) {
		n.janitor.request(node)
	}
}

// checkLeader reports whether this node is the janitor, and starts a
// sweep when it just became it.
func (n *NATS) checkLeader(now time.Time) bool {
	leader, became := n.view.checkLeader(now)
	if became {
		n.janitor.requestSweep(false)
	}
	return leader
}
