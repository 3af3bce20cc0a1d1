package relay

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// sendBatch is how many publications the bus goroutine takes from the
	// queue at a time (one lock round trip per batch).
	sendBatch = 128
	// retryWait is how long the bus goroutine waits before trying again
	// after nats.go refused a publication for a passing reason (it is
	// reconnecting and the relay has not heard yet).
	retryWait = 50 * time.Millisecond
	// minFlushWait is the least time Close gives NATS to confirm the last
	// publications, even when CloseGrace ran out while sending them.
	minFlushWait = 200 * time.Millisecond
	// streamRetry is how often the bus goroutine tries again to set up
	// the history stream while it cannot (history publications wait).
	streamRetry = time.Second
)

// runBus is the bus goroutine, the only one that calls nats.go on behalf of
// Publish and Interest. nats.go may block it (a write to a stalled socket
// waits up to WriteTimeout with the connection lock held); meanwhile
// Publish and Interest keep recording work in the queue and the interest
// set, within their bounds.
func (r *NATS) runBus() {
	defer close(r.busDone)
	subs := make(map[string]*nats.Subscription) // owned by this goroutine
	batch := make([]publication, 0, sendBatch)
	var changes []string
	var epoch int64
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-r.closing:
			r.finish(batch)
			return
		default:
		}
		if e := r.epoch.Load(); e != epoch {
			epoch = e
			r.connected()
		}
		changes = r.applyInterests(subs, changes)
		more, wait := r.send(batch, false)
		if more {
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-r.wake:
		case <-timer.C:
		case <-r.closing:
		}
		timer.Stop()
	}
}

// connected runs once per (re)connection: it learns the server's
// max_payload (Publish refuses larger data from then on) and logs where
// the node is connected.
func (r *NATS) connected() {
	r.maxPayload.Store(r.nc.MaxPayload())
	r.cfg.Logger.Info("NATS connected: interests in force", "url", r.nc.ConnectedUrlRedacted())
	if r.hist != nil {
		// Check the stream at every connection: the server may have come
		// back without its store, or the stream may have been deleted.
		r.hist.ready.Store(false)
		r.setupStream()
	}
}

// applyInterests subscribes to or unsubscribes from the subjects of the
// channels whose wish differs from what the bus has, oldest first, and
// tells the interest set what it now has (a channel whose wish changed
// meanwhile, or whose subscribe failed, is pending again).
func (r *NATS) applyInterests(subs map[string]*nats.Subscription, buf []string) []string {
	buf = r.interests.take(buf)
	for _, channel := range buf {
		on := r.interests.wanted(channel)
		sub, have := subs[channel]
		switch {
		case on && !have:
			sub, err := r.nc.ChanSubscribe(r.Subject(channel), r.inbox)
			if err != nil {
				if !errors.Is(err, nats.ErrConnectionClosed) {
					r.cfg.Logger.Error("NATS subscribe", "channel", channel, "err", err)
				}
				break
			}
			subs[channel] = sub
			r.drops.add(sub)
		case !on && have:
			r.drops.remove(sub)
			_ = sub.Unsubscribe()
			delete(subs, channel)
		}
		_, have = subs[channel]
		r.interests.setApplied(channel, have)
	}
	clear(buf)
	return buf[:0]
}

// send hands a batch of queued publications to nats.go. It reports whether
// there may be more to send at once, or else how long to wait before
// trying again (0: until woken). Only while closing does it skip
// ReplayDelay.
func (r *NATS) send(batch []publication, closing bool) (more bool, wait time.Duration) {
	if r.status.Load() != stateConnected {
		return false, 0 // the callback that reports the connection wakes us
	}
	if until := r.holdUntil.Load(); until != 0 && !closing {
		if d := time.Until(time.Unix(0, until)); d > 0 {
			return false, d
		}
		r.holdUntil.CompareAndSwap(until, 0)
	}
	if r.hist != nil && !r.hist.ready.Load() {
		r.setupStream()
		if !r.hist.ready.Load() {
			return false, streamRetry
		}
	}
	batch = r.queue.front(batch)
	if len(batch) == 0 {
		return false, 0
	}
	done, lost := 0, 0
	var err error
	for i := range batch {
		p := &batch[i]
		if err = r.publishOne(p); err == nil {
			r.messagesOut.Add(1)
			r.bytesOut.Add(int64(len(p.data)))
		} else if permanent(err) {
			lost++
		} else {
			break // passing: keep it at the front and try again
		}
		done++
	}
	clear(batch)
	r.queue.drop(done)
	if lost > 0 {
		r.lost.Add(int64(lost))
		r.cfg.Logger.Warn("NATS refused publications the node had accepted: lost", "count", lost, "err", err)
	}
	if done < len(batch) {
		return false, retryWait
	}
	return true, 0
}

// publishOne hands p to nats.go (core NATS copies it into its write
// buffer before returning): to JetStream, which acknowledges it later
// (asyncLost counts the failures), when it is a history publication.
func (r *NATS) publishOne(p *publication) error {
	if !r.isStored(p.subject) {
		return r.nc.Publish(p.subject, p.data)
	}
	// JetStream keeps the message until it is acknowledged: a copy, since
	// p's memory is the queue's.
	m := &nats.Msg{Subject: strings.Clone(p.subject), Data: bytes.Clone(p.data)}
	var opts []jetstream.PublishOpt
	if p.msgID != "" {
		opts = append(opts, jetstream.WithMsgID(strings.Clone(p.msgID)))
	}
	_, err := r.hist.js.PublishMsgAsync(m, opts...)
	return err
}

// asyncLost counts a history publication JetStream did not acknowledge
// (it refused it, or the acknowledgement timed out: the publication may
// or may not be stored). nats.go calls it on its own goroutine.
func (r *NATS) asyncLost(_ jetstream.JetStream, m *nats.Msg, err error) {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		// The stream is gone (deleted, or a server back without its
		// store): the bus goroutine sets it up again before sending more.
		r.hist.ready.Store(false)
		r.signal()
	}
	r.lost.Add(1)
	r.messagesOut.Add(-1)
	r.bytesOut.Add(-int64(len(m.Data)))
	if r.lossLog.Swap(true) {
		return
	}
	r.cfg.Logger.Warn("JetStream did not acknowledge a history publication: counted as lost", "subject", m.Subject, "err", err)
	time.AfterFunc(10*time.Second, func() { r.lossLog.Store(false) })
}

// permanent reports whether nats.go refused a publication for good: trying
// again would fail the same way and hold up everything behind it.
func permanent(err error) bool {
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject)
}

// finish is the bus goroutine's last job, on Close: send what is still
// queued while NATS is reachable and the grace lasts, have NATS confirm
// it, and count and log what could not be sent.
func (r *NATS) finish(batch []publication) {
	for {
		msgs, _ := r.queue.size()
		left := time.Until(r.closeDeadline)
		if msgs == 0 || left <= 0 {
			break
		}
		more, wait := r.send(batch, true)
		if more {
			continue
		}
		if wait == 0 || wait > left {
			wait = left
		}
		select {
		case <-r.wake:
		case <-time.After(wait):
		}
	}
	// The relay's state may lag nats.go's by a callback; asking nats.go
	// here (the bus goroutine may wait for it) avoids waiting the whole
	// grace for a PONG from a server that is gone.
	if r.messagesOut.Load() > 0 && r.nc.IsConnected() {
		wait := max(time.Until(r.closeDeadline), minFlushWait)
		if err := r.nc.FlushTimeout(wait); err != nil {
			r.cfg.Logger.Warn("NATS did not confirm the last publications before close: some may be lost", "err", err)
		}
	}
	if r.hist != nil && r.hist.js.PublishAsyncPending() > 0 {
		select {
		case <-r.hist.js.PublishAsyncComplete():
		case <-time.After(max(time.Until(r.closeDeadline), minFlushWait)):
			r.cfg.Logger.Warn("JetStream did not acknowledge the last history publications before close: some may be lost", "pending", r.hist.js.PublishAsyncPending())
		}
	}
	if msgs, bytes := r.queue.size(); msgs > 0 {
		r.lost.Add(int64(msgs))
		r.queue.drop(msgs)
		r.cfg.Logger.Warn("NATS: publications not sent before close: lost", "count", msgs, "bytes", bytes, "grace", r.cfg.CloseGrace)
	}
}
