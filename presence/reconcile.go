package presence

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// reconcileTimeout bounds one reconciliation.
const reconcileTimeout = 2 * time.Minute

// errWrites: some of a pipeline's writes failed (a reconciliation's, a
// janitor's, Close's).
var errWrites = errors.New("presence: some KV writes failed")

// reconcile makes the bucket hold exactly this node's members (the
// localSet), after writes were lost: dropped by a full queue, failed, or
// removed by a janitor that declared this node dead. Only the writer
// goroutine calls it, between two batches, so no write of the queue runs
// meanwhile, and the queue's later writes apply on top, in order.
//
//  1. It reads this node's keys in the bucket. A key this node no longer
//     has is purged (at the revision read); one it has is marked.
//  2. It puts every member not marked, or every member when all is set:
//     after this node was declared dead, a janitor may still purge what
//     it read before this node's heartbeat came back, but only at that
//     revision, so a put made now survives it.
//
// It returns the number of keys purged. A watcher may see a join or a
// leave repeated by a reconciliation.
func (n *NATS) reconcile(all bool) (purged int, err error) {
	ctx, cancel := context.WithTimeout(n.ctx, reconcileTimeout)
	defer cancel()
	epoch := n.local.newEpoch()
	p := newPipeline(n.js, n.cfg.Bucket, n.ctx.Done())
	err = scan(ctx, n.members, nodeFilter(n.cfg.Node), false, func(e jetstream.KeyValueEntry) error {
		if channel, conn, ok := parseKey(e.Key()); ok && n.local.mark(channel, conn, epoch) {
			return nil
		}
		if p.full() {
			p.flush()
		}
		m, _ := decodeMember(e.Key(), e.Value())
		p.purge(e.Key(), m, e.Revision())
		return nil
	})
	p.flush()
	purged = p.ok
	if err != nil {
		return purged, err
	}
	var buf []Member
	for _, channel := range n.local.channelNames() {
		buf = n.local.unmarked(channel, epoch, all, buf)
		for _, m := range buf {
			if p.full() {
				p.flush()
			}
			p.put(memberKey(channel, m.Conn), m)
		}
	}
	p.flush()
	if p.failed > 0 {
		return purged, errWrites
	}
	return purged, nil
}

// repair runs a reconciliation the writer was asked for, and asks again
// if it fails.
func (n *NATS) repair() bool {
	all := n.revived.Swap(false)
	n.dirty.Store(false)
	purged, err := n.reconcile(all)
	if err != nil {
		n.stats.errors.Add(1)
		n.log.Warn("presence: reconciling this node's members with the bucket failed; retrying", "err", err)
		if all {
			n.revived.Store(true)
		}
		n.dirty.Store(true)
		return false
	}
	if purged > 0 || all {
		n.log.Info("presence: reconciled this node's members with the bucket", "purged", purged, "restored_all", all)
	}
	return true
}
