package reactor

// topic is one channel's subscribers on one loop. Touched only by its loop.
type topic struct {
	name string
	subs []*conn // unordered; a connection's position is kept in its subscription
}

// subscription is a connection's membership in a topic.
type subscription struct {
	topic *topic
	pos   int // index of the connection in topic.subs
}

// subscriptions are a connection's topics. The first lives inline, so the
// common connection with one channel costs no extra allocation.
type subscriptions struct {
	first subscription
	more  []subscription
}

func (s *subscriptions) len() int {
	if s.first.topic == nil {
		return 0
	}
	return 1 + len(s.more)
}

// find returns the subscription to t, or nil.
func (s *subscriptions) find(t *topic) *subscription {
	if s.first.topic == t && t != nil {
		return &s.first
	}
	for i := range s.more {
		if s.more[i].topic == t {
			return &s.more[i]
		}
	}
	return nil
}

func (s *subscriptions) add(sub subscription) {
	if s.first.topic == nil {
		s.first = sub
		return
	}
	s.more = append(s.more, sub)
}

// remove forgets the subscription to t, keeping first filled while any
// remain.
func (s *subscriptions) remove(t *topic) {
	if s.first.topic == t {
		if len(s.more) == 0 {
			s.first = subscription{}
			return
		}
		s.first = s.more[len(s.more)-1]
	} else {
		for i := range s.more {
			if s.more[i].topic == t {
				s.more[i] = s.more[len(s.more)-1]
				break
			}
		}
	}
	s.more[len(s.more)-1] = subscription{}
	s.more = s.more[:len(s.more)-1]
	if len(s.more) == 0 {
		s.more = nil
	}
}

// subscribe adds c to channel on c's loop. It reports false when c already
// was a subscriber.
func (l *loop) subscribe(c *conn, channel string) bool {
	t := l.topics[channel]
	if t == nil {
		t = &topic{name: channel}
		l.topics[channel] = t
		l.eng.hub.addTopic(l.idx, t)
	} else if c.subs.find(t) != nil {
		return false
	}
	c.subs.add(subscription{topic: t, pos: len(t.subs)})
	t.subs = append(t.subs, c)
	l.stats.subscriptions.Add(1)
	return true
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
	sub := c.subs.find(t)
	last := len(t.subs) - 1
	if moved := t.subs[last]; moved != c {
		t.subs[sub.pos] = moved
		moved.subs.find(t).pos = sub.pos
	}
	t.subs[last] = nil
	t.subs = t.subs[:last]
	c.subs.remove(t)
	l.stats.subscriptions.Add(-1)
	if len(t.subs) == 0 {
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
