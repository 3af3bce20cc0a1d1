package reactor

import (
	"context"

	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wsproto"
)

// delivery is one publication queued for one loop's subscribers of a topic.
type delivery struct {
	topic *topic
	frame *wsproto.Prepared // one reference held by this delivery
	seq   relay.Seq         // its place in the channel's history; zero without
}

// enqueue hands d to the loop. Deliveries arriving while the loop is busy
// accumulate and are written as one batch: one Execute per batch, not per
// message or subscriber. Any goroutine.
func (l *loop) enqueue(d delivery) {
	l.inboxMu.Lock()
	l.inbox = append(l.inbox, d)
	wake := !l.inboxPosted
	l.inboxPosted = true
	l.inboxMu.Unlock()
	if wake {
		if err := l.el.Execute(context.Background(), l.onInbox); err != nil {
			l.dropInbox() // the engine is shutting down
		}
	}
}

func (l *loop) takeInbox() []delivery {
	l.inboxMu.Lock()
	batch := l.inbox
	l.inbox, l.spare = l.spare[:0], nil
	l.inboxPosted = false
	l.inboxMu.Unlock()
	return batch
}

func (l *loop) dropInbox() {
	for _, d := range l.takeInbox() {
		d.frame.Release()
	}
}

// drainInbox writes a batch of deliveries. Runs on the loop.
//
// Every frame due to one connection in the batch goes out in one writev:
// a first pass counts frames per connection, a second lays them out in one
// shared iovec array, grouped by connection and in publication order, and a
// third writes each group. One small write costs about as much as ten
// frames in one write, so under load this is the difference that matters.
func (l *loop) drainInbox(context.Context) error {
	batch := l.takeInbox()
	l.batch = batch // for the slow path (slow.go)
	for i := range batch {
		if d := &batch[i]; d.seq.Offset != 0 {
			if len(d.topic.resumers) > 0 {
				l.feedResumers(d)
			}
			d.topic.lastLive = max(d.topic.lastLive, d.seq.Offset)
		}
	}
	touched := l.touched[:0]
	for _, d := range batch {
		for _, c := range d.topic.subs {
			if c.frames == 0 { // every connection leaves a batch at 0
				touched = append(touched, c)
			}
			c.frames++
		}
	}
	total := 0
	for _, c := range touched {
		c.first, total = uint32(total), total+int(c.frames)
		c.frames = 0
	}
	if cap(l.iov) < total {
		l.iov = make([][]byte, total)
	}
	iov := l.iov[:total]
	for _, d := range batch {
		for _, c := range d.topic.subs {
			iov[c.first+c.frames] = l.frameFor(c, d.frame)
			c.frames++
		}
	}
	for _, c := range touched {
		c.send(iov[c.first : c.first+c.frames])
		c.frames = 0
	}
	l.stats.deliveries.Add(int64(total))
	clear(iov)
	clear(touched)
	l.iov, l.touched = iov[:0], touched[:0]
	l.batch = nil
	for i, d := range batch {
		d.frame.Release()
		batch[i] = delivery{}
	}
	l.inboxMu.Lock()
	if l.spare == nil {
		l.spare = batch[:0]
	}
	l.inboxMu.Unlock()
	if len(l.promoted) > 0 {
		l.promote()
	}
	return nil
}

// send writes frames to c, applying the slow-consumer policy to what the
// kernel does not take at once: the bytes held for c in user space never
// pass MaxOutboundBytes (give or take the one frame the kernel took in
// part, which must be finished to keep the stream whole).
func (c *conn) send(frames [][]byte) {
	if c.state != stateOpen {
		return
	}
	l := c.loop
	cfg := &l.eng.cfg
	queued := c.gc.OutboundBuffered()
	if c.dropped > 0 {
		if queued == 0 {
			// It caught up: what it is owed (slow.go) goes before what follows.
			if !l.catchUp(c) {
				return // the write failed and gnet closed c: its fd may be reused
			}
			queued = c.gc.OutboundBuffered()
		} else {
			frames = l.holdBack(c, frames)
		}
	}
	count, size := len(frames), 0
	for _, f := range frames {
		size += len(f)
	}
	var head []byte
	if queued == 0 {
		head, frames = l.writeDirect(c.gc.Fd(), frames)
	}
	if head != nil {
		_, _ = c.gc.Write(head)
		if c.state != stateOpen {
			return
		}
	}
	room := cfg.MaxOutboundBytes - queued - len(head)
	fit := 0
	for _, f := range frames {
		if room -= len(f); room < 0 {
			break
		}
		fit++
	}
	if fit < len(frames) {
		rest := frames[fit:]
		if !l.shed(c, rest) {
			return
		}
		for _, f := range rest {
			size -= len(f)
		}
		count -= len(rest)
		frames = frames[:fit]
	}
	switch len(frames) {
	case 0:
	case 1:
		_, _ = c.gc.Write(frames[0])
	default:
		_, _ = c.gc.Writev(frames)
	}
	l.stats.framesOut.Add(int64(count))
	l.stats.bytesOut.Add(int64(size))
	c.msgsOut += uint32(count)
	c.bytesOut += uint64(size)
}
