package presence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// newIncarnation is a random value that tells this process's heartbeats
// from those of an earlier process with the same node ID.
func newIncarnation() []byte {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return []byte(hex.EncodeToString(b[:]))
}

// heartbeatLoop renews this node's heartbeat key every NodeTTL/3 until
// stop.
func (n *NATS) heartbeatLoop() {
	defer n.wg.Done()
	tick := time.NewTicker(n.cfg.NodeTTL / 3)
	defer tick.Stop()
	good := 0 // heartbeats written in a row
	for {
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
		if !n.nc.IsConnected() {
			good = 0
			continue
		}
		switch err := n.beat(); {
		case err != nil:
			if good > 0 && n.ctx.Err() == nil {
				n.log.Warn("presence: heartbeat failed", "node", n.cfg.Node, "err", err)
			}
			n.stats.errors.Add(1)
			good = 0
		case good >= 2:
			n.checkNodeWatcher(time.Now())
		default:
			good++
		}
	}
}

// beat renews the heartbeat key at the revision this node last wrote. When
// that fails because the key moved on, it is either this node's own write
// whose acknowledgement was lost (then it carries this incarnation, and
// its revision is adopted) or the key expired or was purged: the other
// nodes declared this node dead and their janitor purged its members. It
// then writes the key again, and has the writer restore every member
// (reconcile with all set) — in that order, which the janitor relies on.
func (n *NATS) beat() error {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.NodeTTL/3)
	defer cancel()
	rev, err := n.nodes.Update(ctx, n.cfg.Node, n.incarnation, n.heartbeatRev)
	if err == nil {
		n.heartbeatRev = rev
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return err
	}
	if e, err := n.nodes.Get(ctx, n.cfg.Node); err == nil {
		if string(e.Value()) == string(n.incarnation) {
			n.heartbeatRev = e.Revision()
			return nil
		}
		n.log.Error("presence: another process heartbeats with this node ID; node IDs must be unique", "node", n.cfg.Node)
	}
	rev, err = n.nodes.Put(ctx, n.cfg.Node, n.incarnation)
	if err != nil {
		return err
	}
	n.heartbeatRev = rev
	n.log.Warn("presence: this node was declared dead (its heartbeat expired); restoring its members", "node", n.cfg.Node)
	n.revived.Store(true)
	n.queue.wake()
	return nil
}
