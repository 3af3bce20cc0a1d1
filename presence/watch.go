package presence

import (
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// watchSet is the set of channels this node wants events of, and the
// channels changed since the watch manager last looked. Watch and Unwatch
// only edit it (a few map operations under its mutex), so they never wait
// for NATS; a channel turned on and off before the manager looked leaves
// nothing behind.
type watchSet struct {
	signal chan struct{}

	mu      sync.Mutex
	wanted  map[string]struct{}
	changed map[string]struct{}
	active  map[string]struct{} // channels with a watcher (kept by the manager)
}

func newWatchSet() *watchSet {
	return &watchSet{
		signal:  make(chan struct{}, 1),
		wanted:  make(map[string]struct{}),
		changed: make(map[string]struct{}),
		active:  make(map[string]struct{}),
	}
}

func (s *watchSet) set(channel string, on bool) {
	s.mu.Lock()
	if on {
		s.wanted[channel] = struct{}{}
	} else {
		delete(s.wanted, channel)
	}
	s.changed[channel] = struct{}{}
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// takeChanged returns and clears the changed channels, each with whether
// it is wanted now.
func (s *watchSet) takeChanged() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.changed))
	for channel := range s.changed {
		_, out[channel] = s.wanted[channel]
	}
	clear(s.changed)
	return out
}

// wants reports whether channel is watched.
func (s *watchSet) wants(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.wanted[channel]
	return ok
}

func (s *watchSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.wanted)
}

// setActive records whether channel has a watcher.
func (s *watchSet) setActive(channel string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.active[channel] = struct{}{}
	} else {
		delete(s.active, channel)
	}
}

// settled reports whether exactly the wanted channels have a watcher.
func (s *watchSet) settled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.changed) > 0 || len(s.active) != len(s.wanted) {
		return false
	}
	for channel := range s.wanted {
		if _, ok := s.active[channel]; !ok {
			return false
		}
	}
	return true
}

// eventBuffer bounds the events received from NATS and waiting for the
// event dispatcher; past it nats.go drops them (counted in Stats.Dropped).
const eventBuffer = 65536

// flushTimeout bounds the round trip that makes sure NATS has the
// subscriptions the watch manager just made.
const flushTimeout = 2 * time.Second

// watchLoop is the watch manager goroutine (from Start to Close): it
// subscribes to the events of each wanted channel and unsubscribes from
// the others as the watch set changes. Every subscription feeds one
// inbox, read by one dispatcher goroutine (dispatchEvents): no goroutine
// per channel, and one order for all of a channel's events.
//
// The events are the members bucket's writes, republished by JetStream
// (the bucket's RePublish) on "<eventPrefix>.<bucket>.<key>" as it stores
// them: each stored write once, in the order stored, to whoever listens
// then. Core NATS subscriptions cost the server nothing per watcher, but
// are at most once: what happens while this node is cut from NATS reaches
// it never (List tells the state after).
func (n *NATS) watchLoop(h func(Event)) {
	defer n.wg.Done()
	inbox := make(chan *nats.Msg, eventBuffer)
	n.wg.Add(1)
	go n.dispatchEvents(inbox, h)
	subs := make(map[string]*eventSub)
	defer func() {
		for _, sub := range subs {
			_ = sub.Unsubscribe()
		}
	}()
	tick := time.NewTicker(retryInterval)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-n.watches.signal:
		case <-tick.C:
			for _, sub := range subs {
				n.stats.dropped.Add(sub.newDrops())
			}
		}
		var subscribed []string
		for channel, want := range n.watches.takeChanged() {
			sub := subs[channel]
			switch {
			case !want && sub != nil:
				n.stats.dropped.Add(sub.newDrops())
				_ = sub.Unsubscribe()
				delete(subs, channel)
				n.watches.setActive(channel, false)
			case want && sub == nil:
				s, err := n.nc.ChanSubscribe(n.eventPrefix+channelFilter(channel), inbox)
				if err != nil { // the connection is closed for good: nothing to retry
					n.stats.errors.Add(1)
					continue
				}
				subs[channel] = &eventSub{Subscription: s}
				subscribed = append(subscribed, channel)
			}
		}
		if len(subscribed) > 0 && n.nc.IsConnected() {
			_ = n.nc.FlushTimeout(flushTimeout) // the server has them before they count as active
		}
		for _, channel := range subscribed {
			n.watches.setActive(channel, true)
		}
	}
}

// eventSub is one watched channel's subscription, with the drops already
// counted.
type eventSub struct {
	*nats.Subscription
	counted int
}

// newDrops returns the events nats.go dropped since the last call (the
// inbox was full).
func (s *eventSub) newDrops() int64 {
	dropped, err := s.Dropped()
	if err != nil || dropped <= s.counted {
		return 0
	}
	d := dropped - s.counted
	s.counted = dropped
	return int64(d)
}

// dispatchEvents is the event dispatcher goroutine: it hands each event
// of a channel still watched to h, in the order received, until Close.
func (n *NATS) dispatchEvents(inbox <-chan *nats.Msg, h func(Event)) {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case msg := <-inbox:
			key := strings.TrimPrefix(msg.Subject, n.eventPrefix)
			channel, _, ok := parseKey(key)
			if !ok || !n.watches.wants(channel) {
				continue
			}
			m, ok := decodeMember(key, msg.Data)
			if !ok {
				n.stats.errors.Add(1)
				continue
			}
			h(Event{Channel: channel, Join: msg.Header.Get(kvOperationHeader) == "", Member: m})
			n.stats.events.Add(1)
		}
	}
}
