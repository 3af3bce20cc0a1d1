package presence

import "sync"

// localMember is a member joined through this node, with the mark of the
// last reconciliation that found it in the bucket.
type localMember struct {
	Member
	mark uint64
}

// localSet is the truth about this node's members: Join and Leave change
// it at once, and the bucket follows through the write queue. When writes
// were lost (a full queue, a failed write, this node declared dead), the
// writer reconciles the bucket with it. Its mutex is held for a few map
// operations, never across I/O.
type localSet struct {
	mu       sync.Mutex
	channels map[string]map[string]localMember // channel → conn → member
	n        int
	epoch    uint64 // of the last reconciliation
}

func newLocalSet() *localSet {
	return &localSet{channels: make(map[string]map[string]localMember)}
}

// join adds m to channel and queues its write, under one lock so that the
// writes of one member are queued in the order of its changes. It reports
// whether m was new, and whether its write was queued.
func (s *localSet) join(channel string, m Member, q *queue) (added, queued bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.channels[channel]
	if set == nil {
		set = make(map[string]localMember)
		s.channels[channel] = set
	}
	if _, ok := set[m.Conn]; ok {
		return false, false
	}
	set[m.Conn] = localMember{Member: m}
	s.n++
	return true, q.push(Event{Channel: channel, Join: true, Member: m})
}

// leave removes conn from channel and queues its write (with the member
// as it joined, for the leave marker).
func (s *localSet) leave(channel, conn string, q *queue) (left, queued bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.channels[channel]
	lm, ok := set[conn]
	if !ok {
		return false, false
	}
	delete(set, conn)
	if len(set) == 0 {
		delete(s.channels, channel)
	}
	s.n--
	return true, q.push(Event{Channel: channel, Join: false, Member: lm.Member})
}

// len is the number of members.
func (s *localSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// newEpoch starts a reconciliation: marks of earlier ones no longer count.
func (s *localSet) newEpoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	return s.epoch
}

// mark records that the bucket holds conn in channel, and reports whether
// this node still has it.
func (s *localSet) mark(channel, conn string, epoch uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	lm, ok := s.channels[channel][conn]
	if ok {
		lm.mark = epoch
		s.channels[channel][conn] = lm
	}
	return ok
}

// channelNames lists the channels with members.
func (s *localSet) channelNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.channels))
	for ch := range s.channels {
		names = append(names, ch)
	}
	return names
}

// unmarked appends to buf[:0] the members of channel not marked in epoch
// (all of them when all is set).
func (s *localSet) unmarked(channel string, epoch uint64, all bool, buf []Member) []Member {
	buf = buf[:0]
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, lm := range s.channels[channel] {
		if all || lm.mark != epoch {
			buf = append(buf, lm.Member)
		}
	}
	return buf
}
