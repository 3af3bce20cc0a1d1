package reactor

import (
	"slices"

	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

// Slow consumers. When a delivery would take a connection's unsent bytes
// past MaxOutboundBytes, each publication that does not fit gets its
// channel's policy (topic.policy: its namespace's, or Config.SlowPolicy):
//
//   - close: the connection is closed with 1008 "slow consumer";
//   - drop: the publication is dropped and counted per channel; once the
//     connection has caught up it gets one "dropped" notice per channel
//     naming it, how many, and, with history, the last offset before the
//     gap, before anything else;
//   - conflate: only the channel's latest such publication is kept (a
//     reference to the frame every subscriber shares, not a copy) and sent
//     once the connection has room, after the notices.
//
// What a slow connection owes is kept off the connection, in the loop's
// slow map, so a connection that keeps up costs nothing for it. It holds
// at most one note and one frame per channel the connection is subscribed
// to (leaving a channel forgets its entries), so it is bounded by
// MaxSubscriptions.
type slowState struct {
	notes  []dropNote
	latest []conflated
}

// dropNote is what a connection lost on one channel.
type dropNote struct {
	channel string
	count   uint64
	offset  uint64 // the last offset before the first loss; 0 without history
}

// conflated is a channel's latest publication waiting for room.
type conflated struct {
	topic *topic
	frame *wsproto.Prepared // one reference held here
}

// shed applies the channels' policies to frames, the tail of a delivery
// to c that does not fit. It reports false when c was closed. Runs in
// drainInbox, whose batch (l.batch) the frames come from.
func (l *loop) shed(c *conn, frames [][]byte) bool {
	for _, f := range frames {
		d := l.deliveryOf(c, f)
		policy := l.eng.cfg.SlowPolicy
		if d != nil {
			policy = d.topic.policy
		}
		switch policy {
		case SlowDrop, SlowConflate:
			if d == nil {
				break
			}
			s := l.slowOf(c)
			if policy == SlowDrop {
				s.note(d)
				c.dropped++
				l.stats.drops.Add(1)
			} else {
				s.keep(d)
				c.dropped++
				l.stats.conflated.Add(1)
			}
			continue
		}
		l.stats.slowCloses.Add(1)
		c.closeWith(wire.ClosePolicyViolation, wire.ReasonSlowConsumer)
		return false
	}
	return true
}

// holdBack keeps a channel's order under conflate while c is behind: a
// new publication of a channel that has one set aside replaces it rather
// than overtake it. It returns the frames to send now (frames, filtered in
// place).
func (l *loop) holdBack(c *conn, frames [][]byte) [][]byte {
	s := l.slow[c]
	if s == nil || len(s.latest) == 0 {
		return frames
	}
	out := frames[:0]
	for _, f := range frames {
		if d := l.deliveryOf(c, f); d != nil && s.holds(d.topic) {
			s.keep(d)
			l.stats.conflated.Add(1)
			continue
		}
		out = append(out, f)
	}
	return out
}

func (s *slowState) holds(t *topic) bool {
	for _, k := range s.latest {
		if k.topic == t {
			return true
		}
	}
	return false
}

// deliveryOf finds the delivery of the batch being fanned out whose frame
// f, as c gets it, is (frames are shared, so the data pointer names it).
func (l *loop) deliveryOf(c *conn, f []byte) *delivery {
	for i := range l.batch {
		if b := l.frameFor(c, l.batch[i].frame); len(b) > 0 && len(f) > 0 && &b[0] == &f[0] {
			return &l.batch[i]
		}
	}
	return nil
}

func (l *loop) slowOf(c *conn) *slowState {
	s := l.slow[c]
	if s == nil {
		s = &slowState{}
		l.slow[c] = s
		l.wantTick() // catchUpIdle looks at it every tick
	}
	return s
}

func (s *slowState) note(d *delivery) {
	for i := range s.notes {
		if n := &s.notes[i]; n.channel == d.topic.name {
			n.count++
			return
		}
	}
	s.notes = append(s.notes, dropNote{channel: d.topic.name, count: 1, offset: d.seq.Prev})
}

func (s *slowState) keep(d *delivery) {
	d.frame.Retain(1)
	for i := range s.latest {
		if k := &s.latest[i]; k.topic == d.topic {
			k.frame.Release()
			k.frame = d.frame
			return
		}
	}
	s.latest = append(s.latest, conflated{topic: d.topic, frame: d.frame})
}

// catchUp writes what c is owed once it has room: the drop notices, then
// the conflated publications. It reports false when c was closed.
func (l *loop) catchUp(c *conn) bool {
	s := l.slow[c]
	if s == nil {
		return c.state == stateOpen
	}
	delete(l.slow, c)
	for _, n := range s.notes {
		c.queueDropped(n.channel, n.count, n.offset)
	}
	c.dropped = 0
	for _, k := range s.latest {
		f := l.frameFor(c, k.frame)
		l.out = append(l.out, f...)
		l.stats.framesOut.Add(1)
		l.stats.bytesOut.Add(int64(len(f)))
		k.frame.Release()
	}
	c.flush()
	return c.state == stateOpen
}

// forgetTopic drops what c is owed on t, when c leaves t.
func (l *loop) forgetTopic(c *conn, t *topic) {
	s := l.slow[c]
	if s == nil {
		return
	}
	s.notes = slices.DeleteFunc(s.notes, func(n dropNote) bool { return n.channel == t.name })
	s.latest = slices.DeleteFunc(s.latest, func(k conflated) bool {
		if k.topic == t {
			k.frame.Release()
			return true
		}
		return false
	})
	if len(s.notes) == 0 && len(s.latest) == 0 {
		delete(l.slow, c)
		c.dropped = 0
	}
}

// forgetSlow releases what a closing connection was owed.
func (l *loop) forgetSlow(c *conn) {
	s := l.slow[c]
	if s == nil {
		return
	}
	delete(l.slow, c)
	for _, k := range s.latest {
		k.frame.Release()
	}
}

// catchUpIdle sends their due to the slow connections that have drained
// without new traffic to carry it (a conflated channel that went quiet).
// Runs on the loop's tick.
func (l *loop) catchUpIdle() {
	for c := range l.slow {
		if c.state == stateOpen && c.gc.OutboundBuffered() == 0 {
			l.catchUp(c)
		}
	}
}
