package reactor

import (
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

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
	hookDenied           atomic.Int64 // handshakes the connect hook refused
	hookFailures         atomic.Int64 // hook calls that failed (the fail-open/closed outcome applied)
	publishes            [numSources]atomic.Int64
	publishErrors        atomic.Int64
	closesSent           closeCounts
	closesReceived       closeCounts
	socketsRefused       [numRefusals]atomic.Int64 // reset at accept, by bound
	proxyHeaderErrors    atomic.Int64              // trusted peers closed for a missing or bad PROXY header
	lastProxyError       atomic.Pointer[string]    // why the last of them was refused, for the ticker's report

	acceptMu     sync.Mutex
	acceptErrors map[string]int64 // accept failures gnet reported, by errno name
	lastAccept   error            // the last of them
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
	replayed                                 atomic.Int64 // history publications written by resumes
	conflated                                atomic.Int64 // publications set aside under SlowConflate
	compressions                             atomic.Int64 // frames compressed for permessage-deflate connections
	protoEncodes                             atomic.Int64 // publications framed in Protobuf for wsgate.v1.proto connections
	subscriptions, errorFrames               atomic.Int64
	rateLimited, forbidden                   atomic.Int64 // rate_limited and forbidden error frames
	channelsRefused                          atomic.Int64 // subscriptions refused by MaxChannels
	partialBytes, partialCloses              atomic.Int64 // loop.partialBytes, for other goroutines; its 1013 closes
	lagNanos                                 atomic.Int64 // delay of the last tick
	ticks                                    atomic.Int64 // ticks run: only those with a timer due, and lag probes
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

// Stats is a snapshot of a node's counters and gauges, and the one place
// each is named: its json tag is its key in /api/stats, its metric and
// help tags its Prometheus series in /metrics (the admin package reads
// them; its tests fail on a field without them). A map field is one
// labelled series per key. The counters behind it are engineStats and
// loopStats; Engine.Stats fills it.
type Stats struct {
	Connections          int64            `json:"connections" metric:"wsgate_connections,gauge" help:"Open TCP connections, handshaking or upgraded."`
	Upgraded             int64            `json:"upgraded" metric:"wsgate_websocket_connections,gauge" help:"Upgraded WebSocket connections."` // counted against MaxConns
	Handshakes           int64            `json:"handshakes" metric:"wsgate_handshakes_total,counter" help:"Completed WebSocket upgrades."`
	HandshakeRejects     int64            `json:"handshake_rejects" metric:"wsgate_handshake_rejects_total,counter" help:"Upgrade requests refused with an HTTP status."`
	HandshakeTimeouts    int64            `json:"handshake_timeouts" metric:"wsgate_handshake_timeouts_total,counter" help:"Upgrade requests not completed within the handshake timeout."`
	PongTimeouts         int64            `json:"pong_timeouts" metric:"wsgate_pong_timeouts_total,counter" help:"Connections closed for not answering a ping."`
	Unauthorized         int64            `json:"unauthorized" metric:"wsgate_handshake_unauthorized_total,counter" help:"Upgrade requests refused with 401 (missing or invalid token)."`
	Forbidden            int64            `json:"forbidden" metric:"wsgate_handshake_forbidden_total,counter" help:"Upgrade requests refused with 403 (origin or channels not allowed)."`
	HandshakeRateLimited int64            `json:"handshake_rate_limited" metric:"wsgate_handshake_rate_limited_total,counter" help:"Connection attempts refused with 429 by the per-address handshake rate limit."`
	RateLimited          int64            `json:"rate_limited" metric:"wsgate_rate_limited_total,counter" help:"Client messages dropped by the per-connection rate limit."`
	ForbiddenFrames      int64            `json:"forbidden_frames" metric:"wsgate_forbidden_total,counter" help:"Subscribe or publish commands refused by the token's channel patterns."`
	TokenExpiries        int64            `json:"token_expiries" metric:"wsgate_token_expiries_total,counter" help:"Connections closed because their token expired (4001)."`
	Refreshes            int64            `json:"refreshes" metric:"wsgate_token_refreshes_total,counter" help:"Tokens replaced by a refresh frame."`
	HookDenied           int64            `json:"hook_denied" metric:"wsgate_hook_denied_total,counter" help:"Handshakes the connect hook refused."`
	HookFailures         int64            `json:"hook_failures" metric:"wsgate_hook_failures_total,counter" help:"Connect, publish and message hook calls that failed or timed out."`
	MessagesIn           int64            `json:"messages_in" metric:"wsgate_messages_in_total,counter" help:"Data messages received from clients."`
	BytesIn              int64            `json:"bytes_in" metric:"wsgate_bytes_in_total,counter" help:"Bytes received from upgraded clients."`
	FramesOut            int64            `json:"frames_out" metric:"wsgate_messages_out_total,counter" help:"Fan-out frames written to clients."`
	BytesOut             int64            `json:"bytes_out" metric:"wsgate_bytes_out_total,counter" help:"Fan-out bytes written to clients."`
	Deliveries           int64            `json:"deliveries" metric:"wsgate_deliveries_total,counter" help:"Message deliveries attempted (messages times subscribers)."`
	Drops                int64            `json:"drops" metric:"wsgate_drops_total,counter" help:"Deliveries dropped for slow consumers (slow policy drop)."`
	Conflated            int64            `json:"conflated" metric:"wsgate_conflated_total,counter" help:"Deliveries set aside for slow consumers under slow policy conflate (each replaced by a newer one of its channel, or sent late)."`
	Compressions         int64            `json:"compressions" metric:"wsgate_compressions_total,counter" help:"Frames compressed for permessage-deflate connections: once per publication however many deflate subscribers get it, and once per /echo answer."`
	ProtobufEncodes      int64            `json:"protobuf_encodes" metric:"wsgate_protobuf_encodes_total,counter" help:"Publications framed in Protobuf for wsgate.v1.proto connections: once per publication however many Protobuf subscribers get it."`
	SlowConsumerCloses   int64            `json:"slow_consumer_closes" metric:"wsgate_slow_consumer_closes_total,counter" help:"Connections closed as slow consumers (slow policy close)."`
	ErrorFrames          int64            `json:"error_frames" metric:"wsgate_error_frames_total,counter" help:"Protocol error frames sent to clients."`
	Subscriptions        int64            `json:"subscriptions" metric:"wsgate_subscriptions,gauge" help:"Channel subscriptions on this node."`
	Channels             int64            `json:"channels" metric:"wsgate_channels,gauge" help:"Channels with at least one subscriber on this node."`
	PublishesClient      int64            `json:"publishes_client" metric:"wsgate_publishes_client_total,counter" help:"Publications received from client frames."`
	PublishesAPI         int64            `json:"publishes_api" metric:"wsgate_publishes_api_total,counter" help:"Publications received through the HTTP API."`
	PublishErrors        int64            `json:"publish_errors" metric:"wsgate_publish_errors_total,counter" help:"Publications the relay refused."`
	ClosesSent           map[string]int64 `json:"closes_sent" metric:"wsgate_closes_total,counter,code,by=server" help:"Close frames by code and by which side sent them."`
	ClosesReceived       map[string]int64 `json:"closes_received" metric:"wsgate_closes_total,counter,code,by=client" help:"Close frames by code and by which side sent them."`
	LoopLagSeconds       float64          `json:"loop_lag_seconds" metric:"wsgate_loop_lag_seconds,gauge" help:"Worst delay, over the event loops, between posting a tick (for a due timer, or a probe when this is read and the last tick is over a second old) and running it; a tick still waiting counts as late as it is so far."`
	Handshaking          int64            `json:"handshaking" metric:"wsgate_handshaking,gauge" help:"Sockets in their opening handshake, or refused in it and not yet closed."`
	SocketsRefused       map[string]int64 `json:"sockets_refused" metric:"wsgate_sockets_refused_total,counter,limit" help:"Sockets reset at accept, by the bound they would have passed (sockets, handshakes, handshakes_per_ip, untrusted_proxy)."`
	ProxyHeaderErrors    int64            `json:"proxy_header_errors" metric:"wsgate_proxy_header_errors_total,counter" help:"Connections from trusted proxies closed for a missing or malformed PROXY protocol header."`
	AcceptErrors         map[string]int64 `json:"accept_errors" metric:"wsgate_accept_errors_total,counter,errno" help:"Accept failures, by errno; gnet stops the event loops after one."`
	ChannelsRefused      int64            `json:"channels_refused" metric:"wsgate_channels_refused_total,counter" help:"Subscriptions refused because the node's channel limit was reached."`
	PartialBytes         int64            `json:"partial_bytes" metric:"wsgate_partial_message_bytes,gauge" help:"Memory held for messages and frames received in part, bounded by --max-partial-bytes."`
	PartialCloses        int64            `json:"partial_closes" metric:"wsgate_partial_closes_total,counter" help:"Connections closed 1013 because their message in part would pass --max-partial-bytes."`
	HistoryReads         int64            `json:"history_reads" metric:"wsgate_history_reads_total,counter" help:"Reads of channel history (subscribe positions, resume pages, history frames)."`
	HistoryReadFailures  int64            `json:"history_read_failures" metric:"wsgate_history_read_failures_total,counter" help:"Reads of channel history that failed (the client got history_unavailable)."`
	HistoryReadsRefused  int64            `json:"history_reads_refused" metric:"wsgate_history_reads_refused_total,counter" help:"Reads of channel history refused because the read queue was full."`
	Resumes              map[string]int64 `json:"resumes" metric:"wsgate_resumes_total,counter,recovered" help:"Subscriptions that asked to resume, by whether the history still covered them."`
	Replayed             int64            `json:"replayed" metric:"wsgate_replayed_total,counter" help:"Retained publications written to resuming subscribers."`
}

// Stats returns a snapshot of the node's counters: engineStats as they
// are, loopStats summed over the loops. Safe on any goroutine; the maps
// are new on each call and the caller's to keep.
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
		HookDenied:           e.stats.hookDenied.Load(),
		HookFailures:         e.stats.hookFailures.Load(),
		Channels:             int64(e.hub.channelCount()),
		PublishesClient:      e.stats.publishes[sourceClient].Load(),
		PublishesAPI:         e.stats.publishes[sourceAPI].Load(),
		PublishErrors:        e.stats.publishErrors.Load(),
		ClosesSent:           e.stats.closesSent.snapshot(),
		ClosesReceived:       e.stats.closesReceived.snapshot(),
		Handshaking:          e.handshakes.Load(),
		SocketsRefused:       make(map[string]int64, numRefusals),
		ProxyHeaderErrors:    e.stats.proxyHeaderErrors.Load(),
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
	now := time.Now()
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
		s.PartialBytes += ls.partialBytes.Load()
		s.PartialCloses += ls.partialCloses.Load()
		s.Replayed += ls.replayed.Load()
		s.Conflated += ls.conflated.Load()
		s.Compressions += ls.compressions.Load()
		s.ProtobufEncodes += ls.protoEncodes.Load()
		lag = max(lag, l.lag(now))
	}
	s.LoopLagSeconds = float64(lag) / 1e9
	if h := e.history; h != nil {
		s.HistoryReads, s.HistoryReadFailures, s.HistoryReadsRefused = h.reads.Load(), h.failures.Load(), h.refused.Load()
	}
	s.Resumes = map[string]int64{"true": 0, "false": 0}
	if h := e.history; h != nil {
		s.Resumes["true"], s.Resumes["false"] = h.recovered.Load(), h.unrecovered.Load()
	}
	return s
}
