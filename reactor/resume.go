package reactor

import (
	"encoding/json"
	"slices"

	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
)

// Subscriptions to a channel with history.
//
// A subscriber of such a channel first gets an ack with the channel's
// position (offset, epoch), then, when it resumed from an offset the
// history still covers, every retained publication after it, then the live
// feed, with no gap and no duplicate at the seam. Until then it is a
// resume: a member of the topic in its own subscriptions (pos
// resumingPos) and in topic.resumers, not in topic.subs, so fan-out
// passes it by.
//
// Replay reads pages from the relay's history on the history workers (a
// read may wait for the bus) and writes them from the loop. The live feed
// keeps coming meanwhile. For each live publication the loop compares
// its Prev with the resume's cursor (the last offset written to the
// client): a publication that directly follows the cursor is written and
// the resume joins topic.subs after the batch; one the cursor has passed
// is a duplicate and skipped; one beyond a gap is left to the replay,
// which reads again. A node keeps no copy of history per connection: at
// most one page per resume is in flight, and the next is read only when
// the client's outbound bytes are under half of MaxOutboundBytes.

// resumingPos marks a subscription whose connection is in topic.resumers.
const resumingPos = -1

// resume is one subscription on its way to the live feed. Touched only by
// its loop.
type resume struct {
	c     *conn
	t     *topic
	id    json.RawMessage // the subscribe's id, repeated by the ack
	since *relay.Position // what the client asked to resume from; nil: from now

	acked   bool   // the first page came: the client has its ack
	epoch   string // the epoch of the ack
	cursor  uint64 // the last offset written to the client
	reading bool   // a page is being read
	stale   bool   // the live feed went past a gap while reading: read again
	waiting bool   // in loop.waiting: the client's outbound is too full to read on
	gone    bool   // unsubscribed or closed: drop what comes back
}

// replayPage is how many publications a replay reads at a time.
const replayPage = 256

// subscribeHistory makes c a resume of channel: it reads the position (and
// what c missed since since) on a history worker; the ack comes with it.
// It reports false with the error to answer when c cannot subscribe.
func (l *loop) subscribeHistory(c *conn, channel string, id json.RawMessage, since *wire.Since) *wire.Error {
	t := l.topics[channel]
	if t != nil && c.subs.find(t) != nil {
		// Subscribing again resumes again, from since; the connection
		// stays a member of the channel meanwhile.
		l.detach(c, t)
		t = l.topics[channel]
	}
	if t == nil {
		t = l.newTopic(channel)
		if !l.eng.hub.addTopic(l.idx, t) {
			l.stats.channelsRefused.Add(1)
			return wire.ErrTooManyChannels
		}
		l.topics[t.name] = t
	}
	r := &resume{c: c, t: t, id: append(json.RawMessage(nil), id...)}
	if since != nil {
		r.since = &relay.Position{Offset: since.Offset, Epoch: since.Epoch}
	}
	c.subs.add(subscription{topic: t, pos: resumingPos})
	t.resumers = append(t.resumers, r)
	l.stats.subscriptions.Add(1)
	if !l.read(r) {
		l.leave(c, t)
		return wire.ErrHistoryUnavailable
	}
	return nil
}

// read asks a history worker for r's next page. It reports false when the
// workers' queue is full.
func (l *loop) read(r *resume) bool {
	job := historyJob{loop: l, channel: r.t.name, limit: replayPage, maxBytes: l.eng.cfg.MaxOutboundBytes / 4}
	switch {
	case !r.acked:
		job.since = r.since
		if r.since == nil {
			job.limit = 0 // the position alone
		}
	default:
		job.since = &relay.Position{Offset: r.cursor, Epoch: r.epoch}
	}
	job.done = func(p relay.Page, err error) { l.applyPage(r, p, err) }
	if !l.eng.history.submit(job) {
		return false
	}
	r.reading = true
	return true
}

// applyPage writes a page read for r. Runs on r's loop.
func (l *loop) applyPage(r *resume, p relay.Page, err error) {
	r.reading = false
	c := r.c
	if r.gone || c.state != stateOpen {
		return
	}
	if err != nil {
		l.eng.history.failures.Add(1)
		l.eng.cfg.Logger.Debug("history read failed", "channel", r.t.name, "err", err)
		if !r.acked {
			c.replyError(r.id, wire.ErrHistoryUnavailable)
		} else {
			c.queueUnsubscribed(r.t.name, wire.UnsubscribedHistoryUnavailable)
		}
		l.leave(c, r.t)
		c.hookEvent("unsubscribe", r.t.name)
		c.flush()
		return
	}
	if !r.acked {
		r.acked, r.epoch, r.cursor = true, p.Position.Epoch, p.Position.Offset
		var recovered *bool
		if r.since != nil {
			recovered = &p.Recovered
			if p.Recovered {
				r.cursor = r.since.Offset
				l.eng.history.recovered.Add(1)
			} else {
				l.eng.history.unrecovered.Add(1)
			}
		}
		c.queuePosition(r.id, r.t.name, p.Position.Offset, p.Position.Epoch, recovered)
		if r.since == nil || !p.Recovered {
			p.Entries, p.More = nil, false
		}
	} else if !p.Recovered || p.Position.Epoch != r.epoch {
		// The history was lost while replaying (reset, or what was left to
		// replay dropped): say so with a new ack, recovered false, and go
		// on live from the channel's position now.
		r.epoch, r.cursor = p.Position.Epoch, p.Position.Offset
		lost := false
		l.eng.history.unrecovered.Add(1)
		c.queuePosition(nil, r.t.name, p.Position.Offset, p.Position.Epoch, &lost)
		p.Entries, p.More = nil, false
	}
	for _, e := range p.Entries {
		if e.Offset <= r.cursor {
			continue
		}
		c.queueReplayed(r.t.name, e.Offset, e.Prev, e.Data)
		r.cursor = e.Offset
		l.stats.replayed.Add(1)
	}
	c.flush()
	if c.state != stateOpen {
		return
	}
	if p.More || r.stale || r.t.lastLive > r.cursor {
		r.stale = false
		l.readOn(r)
	}
}

// readOn reads r's next page now, or once its client's outbound has room.
func (l *loop) readOn(r *resume) {
	if r.c.gc.OutboundBuffered() > l.eng.cfg.MaxOutboundBytes/2 {
		if !r.waiting {
			r.waiting = true
			l.waiting = append(l.waiting, r)
			l.wantTick()
		}
		return
	}
	if !l.read(r) {
		r.stale = true // the workers are saturated: try again at the next tick
		if !r.waiting {
			r.waiting = true
			l.waiting = append(l.waiting, r)
			l.wantTick()
		}
	}
}

// wakeWaiting gives the resumes waiting for room another chance. Runs on
// the loop's tick.
func (l *loop) wakeWaiting() {
	if len(l.waiting) == 0 {
		return
	}
	waiting := l.waiting
	l.waiting = nil
	for _, r := range waiting {
		r.waiting = false
		if !r.gone && r.c.state == stateOpen && !r.reading {
			l.readOn(r)
		}
	}
	clear(waiting)
}

// feedResumers offers a live publication to t's resumes, before the batch
// is fanned out: a resume it directly follows gets it now and joins the
// topic after the batch (l.promoted). Runs on the loop, in drainInbox.
func (l *loop) feedResumers(d *delivery) {
	t := d.topic
	// A write may close a client, which leaves t: walk a copy.
	for _, r := range slices.Clone(t.resumers) {
		switch {
		case r.gone || r.c.state != stateOpen:
		case !r.acked || d.seq.Offset <= r.cursor:
			// Before the ack the position is not known yet; the page
			// brings it and reads again if live went past it.
		case d.seq.Prev <= r.cursor:
			r.c.send([][]byte{l.frameFor(r.c, d.frame)})
			r.cursor = d.seq.Offset
			if !slices.Contains(l.promoted, r) {
				l.promoted = append(l.promoted, r)
			}
		case r.reading:
			r.stale = true
		default:
			l.readOn(r)
		}
	}
}

// promote moves the resumes that met the live feed into their topics.
func (l *loop) promote() {
	for _, r := range l.promoted {
		if r.gone || r.c.state != stateOpen {
			continue
		}
		t := r.t
		t.dropResumer(r)
		sub := r.c.subs.find(t)
		sub.pos = len(t.subs)
		t.subs = append(t.subs, r.c)
	}
	clear(l.promoted)
	l.promoted = l.promoted[:0]
}

// dropResumer removes r from t.resumers and marks it gone.
func (t *topic) dropResumer(r *resume) {
	if r == nil {
		return
	}
	r.gone = true
	if i := slices.Index(t.resumers, r); i >= 0 {
		t.resumers = slices.Delete(t.resumers, i, i+1)
	}
}

// resumerOf returns c's resume of t.
func (t *topic) resumerOf(c *conn) *resume {
	for _, r := range t.resumers {
		if r.c == c {
			return r
		}
	}
	return nil
}
