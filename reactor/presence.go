package reactor

import (
	"context"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/presence"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
)

// Presence (Config.Presence, package presence): every greeted connection
// subscribed to a channel of Config.PresenceChannels is a member of it,
// joined when it subscribes and left when it unsubscribes or closes,
// whatever the path (l.leave). The store's Join and Leave never block, so
// the loops call them directly. A subscriber that asked
// ("presence": true) is a watcher: its loop keeps it in l.watchers, the
// engine tells the store which channels this node watches, and the
// store's events come back through Execute to each loop with watchers of
// the channel, in the store's order.

// HasPresence reports whether channel keeps presence on this node.
func (e *Engine) HasPresence(channel string) bool { return e.hasPresence(channel) }

// hasPresence reports whether channel keeps presence on this node.
func (e *Engine) hasPresence(channel string) bool {
	return e.cfg.Presence != nil && auth.MatchAny(e.cfg.PresenceChannels, channel)
}

// presenceJoin makes c a member of channel, if it keeps presence. Runs on
// c's loop, once c is greeted.
func (c *conn) presenceJoin(channel string) {
	e := c.loop.eng
	if c.since == 0 || !e.hasPresence(channel) {
		return
	}
	e.cfg.Presence.Join(channel, presence.Member{Conn: c.identify(), User: c.user(), Node: e.cfg.NodeID, Joined: time.Now()})
}

// presenceLeave undoes presenceJoin. Runs on c's loop.
func (c *conn) presenceLeave(channel string) {
	e := c.loop.eng
	if c.since == 0 || !e.hasPresence(channel) {
		return
	}
	e.cfg.Presence.Leave(channel, presence.Member{Conn: c.identify(), Node: e.cfg.NodeID})
}

// watch makes c a watcher of channel's presence events. Runs on c's loop.
func (l *loop) watch(c *conn, channel string) {
	w := l.watchers[channel]
	if w == nil {
		w = make(map[*conn]struct{})
		l.watchers[channel] = w
		l.eng.watches.add(l.eng, channel, l.idx)
	}
	w[c] = struct{}{}
}

// setWatch makes c a watcher of channel or not, as its latest subscribe
// asked. Runs on c's loop.
func (l *loop) setWatch(c *conn, channel string, on bool) {
	if on {
		l.watch(c, channel)
	} else {
		l.unwatch(c, channel)
	}
}

// unwatch undoes watch, if c watched channel. Runs on c's loop.
func (l *loop) unwatch(c *conn, channel string) {
	w := l.watchers[channel]
	if _, ok := w[c]; !ok {
		return
	}
	delete(w, c)
	if len(w) == 0 {
		delete(l.watchers, channel)
		l.eng.watches.remove(l.eng, channel, l.idx)
	}
}

// watches counts, per channel, the loops with watchers, and tells the
// store when the node gains its first or loses its last.
type watches struct {
	mu    sync.Mutex
	loops map[string][]int // channel → indexes of loops with watchers
}

func (w *watches) add(e *Engine, channel string, idx int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loops == nil {
		w.loops = make(map[string][]int)
	}
	if len(w.loops[channel]) == 0 {
		e.cfg.Presence.Watch(channel)
	}
	w.loops[channel] = append(w.loops[channel], idx)
}

func (w *watches) remove(e *Engine, channel string, idx int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.loops[channel]
	for i, x := range list {
		if x == idx {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(w.loops, channel)
		e.cfg.Presence.Unwatch(channel)
		return
	}
	w.loops[channel] = list
}

// of returns the loops with watchers of channel.
func (w *watches) of(channel string) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.loops[channel]...)
}

// closePresence closes the store the engine started: a clean close
// removes this node's members at once.
func (e *Engine) closePresence() {
	if e.cfg.Presence != nil {
		_ = e.cfg.Presence.Close()
	}
}

// presenceEvent hands a store event to every loop with watchers of its
// channel. It runs on the store's goroutine, in the channel's order, and
// gnet runs each loop's tasks in the order they were queued.
func (e *Engine) presenceEvent(ev presence.Event) {
	for _, idx := range e.watches.of(ev.Channel) {
		l := e.loopAt(idx)
		_ = l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			l.presenceFrames(ev)
			return nil
		}))
	}
}

// presenceFrames sends ev to the loop's watchers of its channel.
func (l *loop) presenceFrames(ev presence.Event) {
	for c := range l.watchers[ev.Channel] {
		if c.state != stateOpen {
			continue
		}
		m := ev.Member
		var joined int64 // 0: unknown (a leave the store could not describe)
		if !m.Joined.IsZero() {
			joined = m.Joined.UnixMilli()
		}
		if c.endpoint.proto() {
			c.queue(wireproto.AppendPresence(l.body[:0], ev.Join, ev.Channel, m.Conn, m.User, m.Node, joined))
		} else {
			c.queue(wire.AppendPresence(l.body[:0], ev.Join, ev.Channel, m.Conn, m.User, m.Node, joined))
		}
		c.flush()
	}
}
