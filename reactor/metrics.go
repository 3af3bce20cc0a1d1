package reactor

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wsgate/wsgate/relay"
)

// metrics exposes Stats to Prometheus. It snapshots the counters once per
// scrape; nothing on the message path touches Prometheus types.
type metrics struct {
	eng      *Engine
	registry *prometheus.Registry
	descs    []metricDesc
	closes   *prometheus.Desc
	refused  *prometheus.Desc // sockets reset at accept, by bound
	accept   *prometheus.Desc // accept errors, by errno
	relay    []relayDesc
}

type relayDesc struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*relay.Stats) float64
}

type metricDesc struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*Stats) float64
}

func newMetrics(e *Engine) *metrics {
	m := &metrics{eng: e, registry: prometheus.NewRegistry()}
	add := func(name, help string, kind prometheus.ValueType, v func(*Stats) float64) {
		m.descs = append(m.descs, metricDesc{prometheus.NewDesc("wsgate_"+name, help, nil, nil), kind, v})
	}
	counter, gauge := prometheus.CounterValue, prometheus.GaugeValue
	add("connections", "Open TCP connections, handshaking or upgraded.", gauge, func(s *Stats) float64 { return float64(s.Connections) })
	add("websocket_connections", "Upgraded WebSocket connections.", gauge, func(s *Stats) float64 { return float64(s.Upgraded) })
	add("handshakes_total", "Completed WebSocket upgrades.", counter, func(s *Stats) float64 { return float64(s.Handshakes) })
	add("handshake_rejects_total", "Upgrade requests refused with an HTTP status.", counter, func(s *Stats) float64 { return float64(s.HandshakeRejects) })
	add("handshake_timeouts_total", "Upgrade requests not completed within the handshake timeout.", counter, func(s *Stats) float64 { return float64(s.HandshakeTimeouts) })
	add("pong_timeouts_total", "Connections closed for not answering a ping.", counter, func(s *Stats) float64 { return float64(s.PongTimeouts) })
	add("handshake_unauthorized_total", "Upgrade requests refused with 401 (missing or invalid token).", counter, func(s *Stats) float64 { return float64(s.Unauthorized) })
	add("handshake_forbidden_total", "Upgrade requests refused with 403 (origin or channels not allowed).", counter, func(s *Stats) float64 { return float64(s.Forbidden) })
	add("handshake_rate_limited_total", "Connection attempts refused with 429 by the per-address handshake rate limit.", counter, func(s *Stats) float64 { return float64(s.HandshakeRateLimited) })
	add("rate_limited_total", "Client messages dropped by the per-connection rate limit.", counter, func(s *Stats) float64 { return float64(s.RateLimited) })
	add("forbidden_total", "Subscribe or publish commands refused by the token's channel patterns.", counter, func(s *Stats) float64 { return float64(s.ForbiddenFrames) })
	add("token_expiries_total", "Connections closed because their token expired (4001).", counter, func(s *Stats) float64 { return float64(s.TokenExpiries) })
	add("token_refreshes_total", "Tokens replaced by a refresh frame.", counter, func(s *Stats) float64 { return float64(s.Refreshes) })
	add("messages_in_total", "Data messages received from clients.", counter, func(s *Stats) float64 { return float64(s.MessagesIn) })
	add("bytes_in_total", "Bytes received from upgraded clients.", counter, func(s *Stats) float64 { return float64(s.BytesIn) })
	add("messages_out_total", "Fan-out frames written to clients.", counter, func(s *Stats) float64 { return float64(s.FramesOut) })
	add("bytes_out_total", "Fan-out bytes written to clients.", counter, func(s *Stats) float64 { return float64(s.BytesOut) })
	add("deliveries_total", "Message deliveries attempted (messages times subscribers).", counter, func(s *Stats) float64 { return float64(s.Deliveries) })
	add("drops_total", "Deliveries dropped for slow consumers (slow policy drop).", counter, func(s *Stats) float64 { return float64(s.Drops) })
	add("slow_consumer_closes_total", "Connections closed as slow consumers (slow policy close).", counter, func(s *Stats) float64 { return float64(s.SlowConsumerCloses) })
	add("error_frames_total", "Protocol error frames sent to clients.", counter, func(s *Stats) float64 { return float64(s.ErrorFrames) })
	add("subscriptions", "Channel subscriptions on this node.", gauge, func(s *Stats) float64 { return float64(s.Subscriptions) })
	add("channels", "Channels with at least one subscriber on this node.", gauge, func(s *Stats) float64 { return float64(s.Channels) })
	add("publishes_client_total", "Publications received from client frames.", counter, func(s *Stats) float64 { return float64(s.PublishesClient) })
	add("publishes_api_total", "Publications received through the HTTP API.", counter, func(s *Stats) float64 { return float64(s.PublishesAPI) })
	add("publish_errors_total", "Publications the relay refused.", counter, func(s *Stats) float64 { return float64(s.PublishErrors) })
	add("handshaking", "Sockets in their opening handshake.", gauge, func(s *Stats) float64 { return float64(s.Handshaking) })
	add("channels_refused_total", "Subscriptions refused because the node's channel limit was reached.", counter, func(s *Stats) float64 { return float64(s.ChannelsRefused) })
	add("loop_lag_seconds", "Worst delay, over the event loops, between posting a timer tick and running it.", gauge, func(s *Stats) float64 { return s.LoopLagSeconds })
	addRelay := func(name, help string, kind prometheus.ValueType, v func(*relay.Stats) float64) {
		m.relay = append(m.relay, relayDesc{prometheus.NewDesc("wsgate_relay_"+name, help, nil, nil), kind, v})
	}
	addRelay("connected", "1 while the relay reaches its bus (always 1 for the in-process relay).", gauge, func(s *relay.Stats) float64 {
		if s.Connected {
			return 1
		}
		return 0
	})
	addRelay("messages_in_total", "Messages received from the bus.", counter, func(s *relay.Stats) float64 { return float64(s.MessagesIn) })
	addRelay("messages_out_total", "Messages sent to the bus.", counter, func(s *relay.Stats) float64 { return float64(s.MessagesOut) })
	addRelay("bytes_in_total", "Bytes received from the bus.", counter, func(s *relay.Stats) float64 { return float64(s.BytesIn) })
	addRelay("bytes_out_total", "Bytes sent to the bus.", counter, func(s *relay.Stats) float64 { return float64(s.BytesOut) })
	addRelay("invalid_total", "Bus messages dropped because the payload is not JSON.", counter, func(s *relay.Stats) float64 { return float64(s.Invalid) })
	addRelay("refused_total", "Publications refused: the publish buffer was full (bus slow or unreachable) or the data too large for the bus.", counter, func(s *relay.Stats) float64 { return float64(s.Refused) })
	addRelay("dropped_total", "Bus messages dropped because the node fell behind, one per message.", counter, func(s *relay.Stats) float64 { return float64(s.Dropped) })
	addRelay("lost_total", "Publications accepted and delivered locally but never sent to the bus (still waiting when the node closed, or refused by a smaller max_payload).", counter, func(s *relay.Stats) float64 { return float64(s.Lost) })
	addRelay("buffered_bytes", "Publications waiting for the bus (queued, or held while it is unreachable), at their charged cost: subject + data + 64 bytes each.", gauge, func(s *relay.Stats) float64 { return float64(s.BufferedBytes) })
	addRelay("buffered_messages", "Publications waiting for the bus.", gauge, func(s *relay.Stats) float64 { return float64(s.BufferedMessages) })
	addRelay("interests_pending", "Channels whose interest change is not yet applied on the bus.", gauge, func(s *relay.Stats) float64 { return float64(s.InterestsPending) })
	addRelay("reconnects_total", "Reconnections to the bus.", counter, func(s *relay.Stats) float64 { return float64(s.Reconnects) })
	addRelay("interests", "Channels this node wants from the bus.", gauge, func(s *relay.Stats) float64 { return float64(s.Interests) })
	m.closes = prometheus.NewDesc("wsgate_closes_total", "Close frames by code and by which side sent them.", []string{"code", "by"}, nil)
	m.refused = prometheus.NewDesc("wsgate_sockets_refused_total", "Sockets reset at accept, by the bound they would have passed (sockets, handshakes, handshakes_per_ip).", []string{"limit"}, nil)
	m.accept = prometheus.NewDesc("wsgate_accept_errors_total", "Accept failures, by errno; gnet stops the event loops after one.", []string{"errno"}, nil)

	m.registry.MustRegister(m,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.descs {
		ch <- d.desc
	}
	ch <- m.closes
	ch <- m.refused
	ch <- m.accept
	for _, d := range m.relay {
		ch <- d.desc
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.eng.Stats()
	for _, d := range m.descs {
		ch <- prometheus.MustNewConstMetric(d.desc, d.kind, d.value(&s))
	}
	rs := m.eng.RelayStats()
	for _, d := range m.relay {
		ch <- prometheus.MustNewConstMetric(d.desc, d.kind, d.value(&rs))
	}
	for limit, n := range s.SocketsRefused {
		ch <- prometheus.MustNewConstMetric(m.refused, prometheus.CounterValue, float64(n), limit)
	}
	for errno, n := range s.AcceptErrors {
		ch <- prometheus.MustNewConstMetric(m.accept, prometheus.CounterValue, float64(n), errno)
	}
	for code, n := range s.ClosesSent {
		ch <- prometheus.MustNewConstMetric(m.closes, prometheus.CounterValue, float64(n), code, "server")
	}
	for code, n := range s.ClosesReceived {
		ch <- prometheus.MustNewConstMetric(m.closes, prometheus.CounterValue, float64(n), code, "client")
	}
}

// Gatherer is the node's Prometheus registry: the gateway's metrics plus
// the Go runtime's and the process's.
func (e *Engine) Gatherer() prometheus.Gatherer { return e.metrics.registry }
