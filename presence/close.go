package presence

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// closeGrace bounds a clean Close's wait for the goroutines' work in
// progress, and then its removal of this node's members.
const closeGrace = 10 * time.Second

// Close stops the goroutines, then removes this node's members (each
// watcher gets their leave events) and its heartbeat key, within about
// closeGrace each. When NATS is unreachable it cannot: it returns an
// error, and the other nodes remove them once the heartbeat expires.
func (n *NATS) Close() error { return n.shutdown(true) }

// shutdown ends the store. clean removes this node's members; without it,
// the store stops the way a killed process does (tests use it so).
func (n *NATS) shutdown(clean bool) error {
	n.lifecycle.Lock()
	if n.closed.Load() {
		n.lifecycle.Unlock()
		return nil
	}
	n.closed.Store(true)
	n.stopNodeWatcher()
	n.lifecycle.Unlock()
	n.queue.close()
	close(n.stop)
	if clean {
		grace := time.AfterFunc(closeGrace, n.cancel) // work in progress may finish
		defer grace.Stop()
	} else {
		n.cancel()
	}
	n.wg.Wait()
	defer n.cancel()
	if !clean {
		return nil
	}
	return n.removeSelf()
}

// removeSelf purges this node's members, then its heartbeat key: in that
// order, so that a janitor woken by the key's removal finds nothing left
// to purge (and if something was, it purges it).
func (n *NATS) removeSelf() error {
	if !n.nc.IsConnected() {
		return fmt.Errorf("presence: close: %w; the other nodes remove this node's members within NodeTTL", ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
	defer cancel()
	p := newPipeline(n.js, n.cfg.Bucket, ctx.Done())
	err := scan(ctx, n.members, nodeFilter(n.cfg.Node), false, func(e jetstream.KeyValueEntry) error {
		if p.full() {
			p.flush()
		}
		m, _ := decodeMember(e.Key(), e.Value())
		p.purge(e.Key(), m, e.Revision())
		return nil
	})
	p.flush()
	if err == nil && p.failed > 0 {
		err = errWrites
	}
	if perr := n.nodes.Purge(ctx, n.cfg.Node); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return fmt.Errorf("presence: close: %w", err)
	}
	return nil
}

// stopping reports whether Close began.
func (n *NATS) stopping() bool {
	select {
	case <-n.stop:
		return true
	default:
		return false
	}
}
