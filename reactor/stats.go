package reactor

import (
	"maps"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"
	"golang.org/x/sys/cpu"
)

// publishSource says where a publication entered this node.
type publishSource uint8

const (
	sourceClient publishSource = iota // a client's publish frame
	sourceAPI                         // the admin HTTP API
	numSources
)

// engineStats are node-wide counters of rare events (per connection, not
// per message); per-message counters live in loopStats.
type engineStats struct {
	conns                atomic.Int64 // open TCP connections, any state
	handshakes           atomic.Int64
	rejected             atomic.Int64
	handshakeTimeouts    atomic.Int64
	pongTimeouts         atomic.Int64
	unauthorized         atomic.Int64 // handshakes refused with 401
	forbidden            atomic.Int64 // handshakes refused with 403 (origin, channels)
	handshakeRateLimited atomic.Int64 // handshakes refused with 429
	tokenExpiries        atomic.Int64 // connections closed with 4001
	refreshes            atomic.Int64 // tokens replaced by a refresh frame
	publishes            [numSources]atomic.Int64
	publishErrors        atomic.Int64
	closesSent           closeCounts
	closesReceived       closeCounts
	socketsRefused       [numRefusals]atomic.Int64 // reset at accept, by bound

	acceptMu     sync.Mutex
	acceptErrors map[string]int64 // accept failures gnet reported, by errno name
}

// loopStats are counters kept per loop, bumped only by their loop, so
// loops never contend on them; Engine.Stats sums them. The pads keep them
// off the cache lines of the loop's other fields (the inbox and the tick
// stamp other goroutines write) and of whatever follows the loop in
// memory.
type loopStats struct {
	_                                        cpu.CacheLinePad
	messagesIn, bytesIn, framesOut, bytesOut atomic.Int64
	deliveries, drops, slowCloses            atomic.Int64
	subscriptions, errorFrames               atomic.Int64
	rateLimited, forbidden                   atomic.Int64 // rate_limited and forbidden error frames
	channelsRefused                          atomic.Int64 // subscriptions refused by MaxChannels
	lagNanos                                 atomic.Int64 // delay of the last tick
	_                                        cpu.CacheLinePad
}

func (s *engineStats) closeSent(code ws.StatusCode)     { s.closesSent.add(code) }
func (s *engineStats) closeReceived(code ws.StatusCode) { s.closesReceived.add(code) }

// closeCounts counts close frames by code: 1000–1015 each, the rest as
// "other".
type closeCounts [17]atomic.Int64

func (cc *closeCounts) add(code ws.StatusCode) {
	i := int(code) - 1000
	if i < 0 || i > 15 {
		i = 16
	}
	cc[i].Add(1)
}

func (cc *closeCounts) snapshot() map[string]int64 {
	m := make(map[string]int64)
	for i := range cc {
		if n := cc[i].Load(); n > 0 {
			key := "other"
			if i < 16 {
				key = strconv.Itoa(1000 + i)
			}
			m[key] = n
		}
	}
	return m
}

// Stats is a snapshot of a node's counters and gauges, as /api/stats shows
// them.
type Stats struct {
	Connections          int64            `json:"connections"`            // open TCP connections, any state
	Upgraded             int64            `json:"upgraded"`               // WebSocket connections counted against MaxConns
	Handshakes           int64            `json:"handshakes"`             // completed upgrades since start
	HandshakeRejects     int64            `json:"handshake_rejects"`      // refused with an HTTP status
	HandshakeTimeouts    int64            `json:"handshake_timeouts"`     // slow or stalled upgrade requests
	PongTimeouts         int64            `json:"pong_timeouts"`          // closed for not answering a ping
	Unauthorized         int64            `json:"unauthorized"`           // handshakes refused with 401 (token)
	Forbidden            int64            `json:"forbidden"`              // handshakes refused with 403 (origin, channels)
	HandshakeRateLimited int64            `json:"handshake_rate_limited"` // handshakes refused with 429
	RateLimited          int64            `json:"rate_limited"`           // messages dropped by the per-connection rate limit
	ForbiddenFrames      int64            `json:"forbidden_frames"`       // subscribe/publish refused by the token's patterns
	TokenExpiries        int64            `json:"token_expiries"`         // closed with 4001 token expired
	Refreshes            int64            `json:"refreshes"`              // tokens replaced by a refresh frame
	MessagesIn           int64            `json:"messages_in"`            // data messages from clients
	BytesIn              int64            `json:"bytes_in"`               // bytes from upgraded clients
	FramesOut            int64            `json:"frames_out"`             // fan-out frames written
	BytesOut             int64            `json:"bytes_out"`              // fan-out bytes written
	Deliveries           int64            `json:"deliveries"`             // message × subscriber deliveries attempted
	Drops                int64            `json:"drops"`                  // deliveries dropped under SlowDrop
	SlowConsumerCloses   int64            `json:"slow_consumer_closes"`   // closed under SlowClose
	ErrorFrames          int64            `json:"error_frames"`           // protocol error frames sent
	Subscriptions        int64            `json:"subscriptions"`
	Channels             int64            `json:"channels"` // channels with a subscriber on this node
	PublishesClient      int64            `json:"publishes_client"`
	PublishesAPI         int64            `json:"publishes_api"`
	PublishErrors        int64            `json:"publish_errors"`
	ClosesSent           map[string]int64 `json:"closes_sent"`      // by close code
	ClosesReceived       map[string]int64 `json:"closes_received"`  // by close code
	LoopLagSeconds       float64          `json:"loop_lag_seconds"` // worst delay of a tick on any loop
	Handshaking          int64            `json:"handshaking"`      // sockets in their opening handshake
	SocketsRefused       map[string]int64 `json:"sockets_refused"`  // reset at accept, by the bound: sockets, handshakes, handshakes_per_ip
	AcceptErrors         map[string]int64 `json:"accept_errors"`    // accept failures gnet reported, by errno (each stops the loops)
	ChannelsRefused      int64            `json:"channels_refused"` // subscriptions refused by the node's channel limit
}

// Stats returns the current counters.
func (e *Engine) Stats() Stats {
	s := Stats{
		Connections:          e.stats.conns.Load(),
		Upgraded:             e.upgrade.Load(),
		Handshakes:           e.stats.handshakes.Load(),
		HandshakeRejects:     e.stats.rejected.Load(),
		HandshakeTimeouts:    e.stats.handshakeTimeouts.Load(),
		PongTimeouts:         e.stats.pongTimeouts.Load(),
		Unauthorized:         e.stats.unauthorized.Load(),
		Forbidden:            e.stats.forbidden.Load(),
		HandshakeRateLimited: e.stats.handshakeRateLimited.Load(),
		TokenExpiries:        e.stats.tokenExpiries.Load(),
		Refreshes:            e.stats.refreshes.Load(),
		Channels:             int64(e.hub.channelCount()),
		PublishesClient:      e.stats.publishes[sourceClient].Load(),
		PublishesAPI:         e.stats.publishes[sourceAPI].Load(),
		PublishErrors:        e.stats.publishErrors.Load(),
		ClosesSent:           e.stats.closesSent.snapshot(),
		ClosesReceived:       e.stats.closesReceived.snapshot(),
		Handshaking:          e.handshakes.Load(),
		SocketsRefused:       make(map[string]int64, numRefusals),
	}
	for i := range numRefusals {
		s.SocketsRefused[refusalNames[i]] = e.stats.socketsRefused[i].Load()
	}
	// The errors a descriptor or memory shortage gives, shown at 0 so a
	// rise is visible from the first scrape.
	s.AcceptErrors = map[string]int64{"EMFILE": 0, "ENFILE": 0, "ENOBUFS": 0, "ENOMEM": 0}
	e.stats.acceptMu.Lock()
	maps.Copy(s.AcceptErrors, e.stats.acceptErrors)
	e.stats.acceptMu.Unlock()
	var lag int64
	for _, l := range *e.loops.Load() {
		ls := &l.stats
		s.MessagesIn += ls.messagesIn.Load()
		s.BytesIn += ls.bytesIn.Load()
		s.FramesOut += ls.framesOut.Load()
		s.BytesOut += ls.bytesOut.Load()
		s.Deliveries += ls.deliveries.Load()
		s.Drops += ls.drops.Load()
		s.SlowConsumerCloses += ls.slowCloses.Load()
		s.ErrorFrames += ls.errorFrames.Load()
		s.RateLimited += ls.rateLimited.Load()
		s.ForbiddenFrames += ls.forbidden.Load()
		s.Subscriptions += ls.subscriptions.Load()
		s.ChannelsRefused += ls.channelsRefused.Load()
		lag = max(lag, ls.lagNanos.Load())
	}
	s.LoopLagSeconds = float64(lag) / 1e9
	return s
}
