// Package admin is wsgate's operator-facing HTTP API, served on its own
// listener (127.0.0.1:8081 by default: it is not meant to be public).
//
//	POST /api/publish  {"channel":"news","data":<JSON>} → {"id":"<node>-<seq>"}
//	GET  /healthz      200 while the process runs
//	GET  /readyz       200 while accepting connections (body says "degraded" when
//	                   the relay is down: local delivery only); 503 while draining
//	GET  /metrics      Prometheus text format
//	GET  /api/stats    the node's counters and configured limits as JSON
//
// Errors are JSON {"error":"<code>","message":"<text>"} with a 4xx/5xx status.
package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

// MaxPublishBody caps a publish request body (its "data" plus envelope).
const MaxPublishBody = 1 << 20

// Server is the admin API of one node.
type Server struct {
	eng    *reactor.Engine
	nodeID string
	seq    atomic.Uint64
	mux    *http.ServeMux
}

// New returns the admin API for eng. nodeID prefixes the message ids it
// hands out.
func New(eng *reactor.Engine, nodeID string) *Server {
	s := &Server{eng: eng, nodeID: nodeID, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /api/publish", s.publish)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(eng.Gatherer(), promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /api/stats", s.stats)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// NewHTTPServer wraps h in an http.Server with timeouts, so a slow admin
// client cannot hold connections open forever.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

type publishRequest struct {
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPublishBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body exceeds %d bytes", MaxPublishBody))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "cannot read body")
		return
	}
	var req publishRequest
	if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '{' {
		writeError(w, http.StatusBadRequest, "bad_json", "body is not a JSON object")
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", "body is not a JSON object: "+err.Error())
		return
	}
	if !relay.ValidChannel(req.Channel) {
		writeError(w, http.StatusBadRequest, "bad_channel", "channel names are 1-255 bytes of letters, digits and _-:@ in dot-separated levels")
		return
	}
	if len(req.Data) == 0 {
		writeError(w, http.StatusBadRequest, "bad_request", `"data" is required`)
		return
	}
	if err := s.eng.Publish(req.Channel, req.Data); err != nil {
		writeError(w, http.StatusServiceUnavailable, "publish_failed", err.Error())
		return
	}
	id := s.nodeID + "-" + strconv.FormatUint(s.seq.Add(1), 10)
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

func (s *Server) ready(w http.ResponseWriter, _ *http.Request) {
	if err := s.eng.Ready(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
		return
	}
	if err := s.eng.RelayStatus(); err != nil {
		writeJSON(w, http.StatusOK, map[string]string{"status": "degraded", "relay": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// limits are the configured bounds shown beside the counters.
type limits struct {
	MaxConns         int     `json:"max_conns"`
	MaxConnsPerIP    int     `json:"max_conns_per_ip"`
	MaxHeaderBytes   int     `json:"max_header_bytes"`
	MaxFrameSize     int64   `json:"max_frame_size"`
	MaxMessageSize   int64   `json:"max_message_size"`
	MaxDataSize      int     `json:"max_data_size"`
	MaxSubscriptions int     `json:"max_subscriptions"`
	MaxOutboundBytes int     `json:"max_outbound_bytes"`
	SlowPolicy       string  `json:"slow_policy"`
	HandshakeTimeout float64 `json:"handshake_timeout_seconds"`
	PingInterval     float64 `json:"ping_interval_seconds"`
	PongTimeout      float64 `json:"pong_timeout_seconds"`
	IdleTimeout      float64 `json:"idle_timeout_seconds"`
	CloseTimeout     float64 `json:"close_timeout_seconds"`
	DrainWindow      float64 `json:"drain_window_seconds"`
	Loops            int     `json:"loops"`
}

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	c := s.eng.Config()
	writeJSON(w, http.StatusOK, struct {
		Node   string        `json:"node"`
		Stats  reactor.Stats `json:"stats"`
		Relay  relay.Stats   `json:"relay"`
		Limits limits        `json:"limits"`
	}{s.nodeID, s.eng.Stats(), s.eng.RelayStats(), limits{
		MaxConns: c.MaxConns, MaxConnsPerIP: c.MaxConnsPerIP,
		MaxHeaderBytes: c.Limits.MaxHeaderBytes, MaxFrameSize: c.Limits.MaxFrameSize,
		MaxMessageSize: c.Limits.MaxMessageSize, MaxDataSize: c.MaxDataSize,
		MaxSubscriptions: c.MaxSubscriptions, MaxOutboundBytes: c.MaxOutboundBytes,
		SlowPolicy: string(c.SlowPolicy), HandshakeTimeout: c.HandshakeTimeout.Seconds(),
		PingInterval: c.PingInterval.Seconds(), PongTimeout: c.PongTimeout.Seconds(),
		IdleTimeout: c.IdleTimeout.Seconds(), CloseTimeout: c.CloseTimeout.Seconds(),
		DrainWindow: c.DrainWindow.Seconds(), Loops: c.Loops,
	}})
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"error": code, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
