package presence

import "time"

const (
	// writeBatch is how many queued writes the writer sends before it
	// waits for their acknowledgements.
	writeBatch = pipelineDepth
	// retryInterval is how often the writer and the watch manager look
	// again at a NATS that was unreachable, or retry what failed.
	retryInterval = 250 * time.Millisecond
)

// writeLoop is the writer goroutine, the only one that writes this node's
// members. It takes the queued writes in order, sends a batch at a time
// (pipelined: one wait for the batch's acknowledgements), and so keeps
// every member's writes, and every channel's, in the order they were
// queued. While NATS is unreachable it sends nothing: the queue holds up
// to QueueSize writes and drops the rest. A failed write marks the bucket
// dirty at once, a dropped one once the writes queued before it are
// written (see queue.takeRepair), and the writer then reconciles the
// bucket (see reconcile) as soon as NATS takes writes.
func (n *NATS) writeLoop() {
	defer n.wg.Done()
	buf := make([]Event, 0, writeBatch)
	p := newPipeline(n.js, n.cfg.Bucket, n.ctx.Done())
	tick := time.NewTicker(retryInterval)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-n.queue.signal:
		case <-tick.C:
		}
		for n.nc.IsConnected() && !n.stopping() {
			if n.queue.takeRepair() {
				n.dirty.Store(true)
			}
			if (n.dirty.Load() || n.revived.Load()) && !n.repair() {
				break
			}
			buf = n.queue.take(buf)
			if len(buf) == 0 {
				break
			}
			n.write(p, buf)
			clear(buf)
		}
	}
}

// write sends one batch and waits for it.
func (n *NATS) write(p *pipeline, batch []Event) {
	for i := range batch {
		ev := &batch[i]
		key := memberKey(ev.Channel, ev.Member.Conn)
		if ev.Join {
			p.put(key, ev.Member)
		} else {
			p.purge(key, ev.Member, 0)
		}
	}
	p.flush()
	if p.failed > 0 {
		n.stats.errors.Add(int64(p.failed))
		n.dirty.Store(true)
	}
	p.reset()
	n.unwritten.Add(-int64(len(batch)))
}
