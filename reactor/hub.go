package reactor

import (
	"sync"

	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"

	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wsproto"
)

// hub is the node-wide channel registry and the relay's way in. It records,
// per channel, which loops have subscribers and their topics there, so a
// publication is framed once and handed to each interested loop once.
//
// Lock order: hub.mu, then loop.inboxMu. hub.mu is held briefly on the
// subscribe path (on a loop) and read-locked on the publish path; no I/O
// happens under it: relay.Interest only queues the change (the relay
// contract).
type hub struct {
	relay       relay.Relay
	loops       int // number of event loops, the length of every channelInfo.topics
	maxChannels int

	mu       sync.RWMutex
	channels map[string]*channelInfo
}

// channelInfo is one channel's subscribers on this node.
type channelInfo struct {
	topics []*topic // indexed by loop; nil where the loop has no subscriber
	active int      // loops with a topic
}

func newHub(r relay.Relay, loops, maxChannels int) *hub {
	return &hub{relay: r, loops: loops, maxChannels: maxChannels, channels: make(map[string]*channelInfo)}
}

// addTopic records that loop idx now has subscribers of t's channel,
// telling the relay when the node gains its first. It reports false,
// recording nothing, when the channel would be one more than maxChannels.
// Runs on loop idx.
func (h *hub) addTopic(idx int, t *topic) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ci := h.channels[t.name]
	if ci == nil {
		if len(h.channels) >= h.maxChannels {
			return false
		}
		ci = &channelInfo{topics: make([]*topic, h.loops)}
		h.channels[t.name] = ci
		h.relay.Interest(t.name, true)
	}
	ci.topics[idx] = t
	ci.active++
	return true
}

// dropTopic undoes addTopic when the loop's last subscriber leaves.
func (h *hub) dropTopic(idx int, t *topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ci := h.channels[t.name]
	if ci == nil || ci.topics[idx] != t {
		return
	}
	ci.topics[idx] = nil
	if ci.active--; ci.active == 0 {
		delete(h.channels, t.name)
		h.relay.Interest(t.name, false)
	}
}

// channelCount is the number of channels with a local subscriber.
func (h *hub) channelCount() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.channels)
}

// Deliver implements relay.Handler: it frames the publication once and
// queues it on every loop that has subscribers of channel. Any goroutine.
func (e *Engine) Deliver(channel string, seq relay.Seq, data []byte) {
	h := e.hub
	h.mu.RLock()
	ci := h.channels[channel]
	if ci == nil {
		h.mu.RUnlock()
		return
	}
	frame := prepareMessage(channel, seq, data)
	for idx, t := range ci.topics {
		if t != nil {
			frame.Retain(1)
			e.loopAt(idx).enqueue(delivery{topic: t, frame: frame, seq: seq})
		}
	}
	h.mu.RUnlock()
	frame.Release()
}

// prepareMessage frames a publication (wire.AppendMessage) once for every
// subscriber. The body is built in a pooled buffer, which Prepare copies
// into the pooled buffer of the frame.
func prepareMessage(channel string, seq relay.Seq, data []byte) *wsproto.Prepared {
	buf := bytebufferpool.Get()
	if seq.Offset != 0 {
		buf.B = wire.AppendMessageAt(buf.B, channel, seq.Offset, seq.Prev, data)
	} else {
		buf.B = wire.AppendMessage(buf.B, channel, data)
	}
	p := wsproto.Prepare(ws.OpText, buf.B)
	bytebufferpool.Put(buf)
	return p
}
