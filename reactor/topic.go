package reactor

import "strings"

// topic is one channel's subscribers on one loop. Touched only by its loop.
type topic struct {
	name string
	subs []*conn // unordered; a connection's position is kept in its subscription

	// Channels with history (resume.go).
	resumers []*resume // subscriptions replaying history, not yet in subs
	lastLive uint64    // offset of the latest live publication this loop fanned out

	policy SlowPolicy // for its subscribers that fall behind (slow.go)
}

func (l *loop) newTopic(channel string) *topic {
	t := &topic{name: strings.Clone(channel)} // channel may alias a request
	t.policy = l.eng.cfg.SlowPolicy
	if f := l.eng.cfg.SlowPolicyFor; f != nil {
		if p := f(t.name); p != "" {
			t.policy = p
		}
	}
	return t
}

// subscription is a connection's membership in a topic.
type subscription struct {
	topic *topic
	pos   int // index of the connection in topic.subs, or resumingPos
}

// subscriptions are a connection's topics. The first lives inline and the
// rest behind one pointer, so the common connection with one channel costs
// 24 bytes and no extra allocation.
type subscriptions struct {
	first subscription
	more  *[]subscription
}

func (s *subscriptions) rest() []subscription {
	if s.more == nil {
		return nil
	}
	return *s.more
}

func (s *subscriptions) len() int {
	if s.first.topic == nil {
		return 0
	}
	return 1 + len(s.rest())
}

// find returns the subscription to t, or nil.
func (s *subscriptions) find(t *topic) *subscription {
	if s.first.topic == t && t != nil {
		return &s.first
	}
	rest := s.rest()
	for i := range rest {
		if rest[i].topic == t {
			return &rest[i]
		}
	}
	return nil
}

func (s *subscriptions) add(sub subscription) {
	if s.first.topic == nil {
		s.first = sub
		return
	}
	if s.more == nil {
		s.more = new([]subscription)
	}
	*s.more = append(*s.more, sub)
}

// remove forgets the subscription to t, keeping first filled while any
// remain.
func (s *subscriptions) remove(t *topic) {
	rest := s.rest()
	switch {
	case s.first.topic == t && len(rest) == 0:
		s.first = subscription{}
		return
	case s.first.topic == t:
		s.first = rest[len(rest)-1]
	default:
		for i := range rest {
			if rest[i].topic == t {
				rest[i] = rest[len(rest)-1]
				break
			}
		}
	}
	rest[len(rest)-1] = subscription{}
	if rest = rest[:len(rest)-1]; len(rest) == 0 {
		s.more = nil
	} else {
		*s.more = rest
	}
}

// each calls fn for every topic, in no particular order; fn must not change s.
func (s *subscriptions) each(fn func(*topic)) {
	if s.first.topic == nil {
		return
	}
	fn(s.first.topic)
	for _, sub := range s.rest() {
		fn(sub.topic)
	}
}

// subscribe adds c to channel on c's loop. It reports false when c already
// was a subscriber, and errTooManyChannels when the channel would pass the
// node's MaxChannels.
func (l *loop) subscribe(c *conn, channel string) (bool, error) {
	t := l.topics[channel]
	if t == nil {
		t = l.newTopic(channel)
		if !l.eng.hub.addTopic(l.idx, t) {
			l.stats.channelsRefused.Add(1)
			return false, errTooManyChannels
		}
		l.topics[t.name] = t
	} else if c.subs.find(t) != nil {
		return false, nil
	}
	c.subs.add(subscription{topic: t, pos: len(t.subs)})
	t.subs = append(t.subs, c)
	l.stats.subscriptions.Add(1)
	return true, nil
}

// unsubscribe removes c from channel; it reports false when c was not
// subscribed.
func (l *loop) unsubscribe(c *conn, channel string) bool {
	t := l.topics[channel]
	if t == nil || c.subs.find(t) == nil {
		return false
	}
	l.leave(c, t)
	return true
}

// leave removes c from t, moving the topic's last subscriber into c's place,
// and drops the topic when it empties.
func (l *loop) leave(c *conn, t *topic) {
	c.presenceLeave(t.name)
	l.unwatch(c, t.name)
	l.detach(c, t)
}

// detach is leave without the presence bookkeeping: for a subscription
// made again at once (a resume from another since).
func (l *loop) detach(c *conn, t *topic) {
	if c.dropped > 0 {
		l.forgetTopic(c, t) // nothing is owed on a channel it left
	}
	sub := c.subs.find(t)
	if sub.pos == resumingPos {
		t.dropResumer(t.resumerOf(c))
		c.subs.remove(t)
		l.stats.subscriptions.Add(-1)
		l.dropIfEmpty(t)
		return
	}
	last := len(t.subs) - 1
	if moved := t.subs[last]; moved != c {
		t.subs[sub.pos] = moved
		moved.subs.find(t).pos = sub.pos
	}
	t.subs[last] = nil
	t.subs = t.subs[:last]
	c.subs.remove(t)
	l.stats.subscriptions.Add(-1)
	l.dropIfEmpty(t)
}

// dropIfEmpty forgets t once it has neither subscribers nor resumes.
func (l *loop) dropIfEmpty(t *topic) {
	if len(t.subs) == 0 && len(t.resumers) == 0 {
		delete(l.topics, t.name)
		l.eng.hub.dropTopic(l.idx, t)
	}
}

// leaveAll removes c from every topic, when it closes.
func (l *loop) leaveAll(c *conn) {
	for c.subs.first.topic != nil {
		l.leave(c, c.subs.first.topic)
	}
}
