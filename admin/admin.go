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
// /metrics and /api/stats read the same snapshots, reactor.Stats and
// relay.Stats: each field's tags name its JSON key and its Prometheus
// series (metrics.go), so a counter is named in one place. The limits
// are reactor.Config.Bounds.
//
// Errors are JSON {"error":"<code>","message":"<text>"} with a 4xx/5xx status.
//
// With Config.APIKey set, POST /api/publish requires the header
// "X-API-Key: <key>" (else 401 {"error":"unauthorized"}); the key is
// compared in constant time. The read-only endpoints stay open so probes
// and scrapers need no secret: keep the listener private all the same.
package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wsgate/wsgate/control"
	"github.com/wsgate/wsgate/hook"
	"github.com/wsgate/wsgate/presence"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wire"
)

// MaxPublishBody caps a publish request body (its "data" plus envelope).
const MaxPublishBody = 1 << 20

// DefaultMaxConns is the default cap on admin connections open at once
// (probes, scrapes, publishers with keep-alive pools); more wait in the
// kernel's backlog rather than take descriptors WebSocket clients need.
const DefaultMaxConns = 64

// Config configures the admin API. The zero value is valid: no key.
type Config struct {
	// NodeID prefixes the message ids the publish endpoint hands out.
	NodeID string
	// APIKey, when not empty, is required in the X-API-Key header of
	// POST /api/publish and of the control API.
	APIKey string
	// Control, when set, serves the control API (connections.go).
	Control *control.Plane
}

// Server is the admin API of one node.
type Server struct {
	eng    *reactor.Engine
	nodeID string
	keySum atomic.Pointer[[sha256.Size]byte] // SHA-256 of the API key, nil without one
	seq    atomic.Uint64
	mux    *http.ServeMux

	ctl     *control.Plane
	control chan struct{} // control requests in flight, at most MaxControlInFlight
}

// New returns the admin API for eng.
func New(eng *reactor.Engine, cfg Config) *Server {
	s := &Server{eng: eng, nodeID: cfg.NodeID, mux: http.NewServeMux(), ctl: cfg.Control}
	s.SetAPIKey(cfg.APIKey)
	s.mux.HandleFunc("POST /api/publish", s.publish)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(newRegistry(eng), promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /api/stats", s.stats)
	s.mux.HandleFunc("GET /api/history", s.history)
	s.routeControl()
	s.routePresence()
	return s
}

// SetAPIKey replaces the key POST /api/publish requires ("" for none), as
// a reload on SIGHUP does. Safe while requests are served.
func (s *Server) SetAPIKey(key string) {
	if key == "" {
		s.keySum.Store(nil)
		return
	}
	sum := sha256.Sum256([]byte(key))
	s.keySum.Store(&sum)
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
	Channel        string          `json:"channel"`
	Data           json.RawMessage `json:"data"`
	IdempotencyKey *string         `json:"idempotency_key"`
}

// publishTimeout bounds a publish's wait for the bus (JetStream's
// acknowledgement on a channel with history).
const publishTimeout = 5 * time.Second

// authorized reports whether r carries the API key (always, without one).
// Both sides are hashed first, so the comparison takes the same time
// whatever the key's length and whatever prefix matches.
func (s *Server) authorized(r *http.Request) bool {
	want := s.keySum.Load()
	if want == nil {
		return true
	}
	got := sha256.Sum256([]byte(r.Header.Get("X-API-Key")))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// requireKey answers 401 to a request without the API key and reports
// whether it may go on.
func (s *Server) requireKey(w http.ResponseWriter, r *http.Request) bool {
	if s.authorized(r) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `APIKey header="X-API-Key"`)
	writeError(w, http.StatusUnauthorized, wire.CodeUnauthorized, "missing or wrong X-API-Key header")
	return false
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	if !s.requireKey(w, r) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPublishBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, fmt.Sprintf("body exceeds %d bytes", MaxPublishBody))
			return
		}
		writeError(w, http.StatusBadRequest, wire.CodeBadRequest, "cannot read body")
		return
	}
	var req publishRequest
	if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '{' {
		writeError(w, http.StatusBadRequest, wire.CodeBadJSON, "body is not a JSON object")
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, wire.CodeBadJSON, "body is not a JSON object: "+err.Error())
		return
	}
	if !wire.ValidChannel(req.Channel) {
		writeError(w, http.StatusBadRequest, wire.ErrBadChannel.Code, wire.ErrBadChannel.Message)
		return
	}
	if len(req.Data) == 0 {
		writeError(w, http.StatusBadRequest, wire.CodeBadRequest, `"data" is required`)
		return
	}
	key := ""
	if req.IdempotencyKey != nil {
		key = *req.IdempotencyKey
		if !wire.ValidKey(key) {
			writeError(w, http.StatusBadRequest, wire.ErrBadKey.Code, wire.ErrBadKey.Message)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), publishTimeout)
	defer cancel()
	pos, err := s.eng.Store(ctx, req.Channel, req.Data, key)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, wire.CodePublishFailed, err.Error())
		return
	}
	resp := publishResponse{ID: s.nodeID + "-" + strconv.FormatUint(s.seq.Add(1), 10)}
	if pos.Epoch != "" {
		resp.Offset, resp.Epoch = &pos.Offset, pos.Epoch
	}
	writeJSON(w, http.StatusOK, resp)
}

// publishResponse is a publish's answer: offset and epoch for a channel
// with history.
type publishResponse struct {
	ID     string  `json:"id"`
	Offset *uint64 `json:"offset,omitempty"`
	Epoch  string  `json:"epoch,omitempty"`
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

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	var hooks *hook.Stats
	if h := s.eng.Config().Hooks; h != nil {
		st := h.Stats()
		hooks = &st
	}
	var pres *presence.Stats
	if p := s.eng.Config().Presence; p != nil {
		st := p.Stats()
		pres = &st
	}
	writeJSON(w, http.StatusOK, struct {
		Node     string          `json:"node"`
		Stats    reactor.Stats   `json:"stats"`
		Relay    relay.Stats     `json:"relay"`
		Hooks    *hook.Stats     `json:"hooks,omitempty"`
		Presence *presence.Stats `json:"presence,omitempty"`
		Limits   reactor.Bounds  `json:"limits"`
	}{s.nodeID, s.eng.Stats(), s.eng.RelayStats(), hooks, pres, s.eng.Config().Bounds()})
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"error": code, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// historyResponse is GET /api/history's answer.
type historyResponse struct {
	Channel      string         `json:"channel"`
	Offset       uint64         `json:"offset"`
	Epoch        string         `json:"epoch"`
	Recovered    bool           `json:"recovered"`
	More         bool           `json:"more"`
	Publications []historyEntry `json:"publications"`
}

type historyEntry struct {
	Offset uint64          `json:"offset"`
	Prev   uint64          `json:"prev"`
	Data   json.RawMessage `json:"data"`
}

// history serves GET /api/history?channel=C[&limit=N][&since_offset=O&epoch=E]:
// the channel's retained publications after since (from the oldest
// without it), at most limit (default wire.DefaultHistoryLimit, at most
// wire.MaxHistoryLimit) and about MaxHistoryBytes. History is channel
// content, so it needs the API key like publishing.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	if !s.requireKey(w, r) {
		return
	}
	q := r.URL.Query()
	channel := q.Get("channel")
	if !wire.ValidChannel(channel) {
		writeError(w, http.StatusBadRequest, wire.ErrBadChannel.Code, wire.ErrBadChannel.Message)
		return
	}
	if !s.eng.Retains(channel) {
		writeError(w, http.StatusNotFound, wire.ErrNoHistory.Code, wire.ErrNoHistory.Message)
		return
	}
	limit := wire.DefaultHistoryLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			n, err = wire.MaxHistoryLimit, nil // digits, too many: bounded like any large limit
		}
		if err != nil || n == 0 {
			writeError(w, http.StatusBadRequest, wire.ErrBadLimit.Code, wire.ErrBadLimit.Message)
			return
		}
		limit = int(min(n, wire.MaxHistoryLimit))
	}
	var since *relay.Position
	if v := q.Get("since_offset"); v != "" || q.Has("epoch") {
		off, err := strconv.ParseUint(v, 10, 64)
		epoch := q.Get("epoch")
		if err != nil || !wire.ValidEpoch(epoch) {
			writeError(w, http.StatusBadRequest, wire.ErrBadSince.Code, "since_offset must be an unsigned integer and epoch a valid epoch")
			return
		}
		since = &relay.Position{Offset: off, Epoch: epoch}
	}
	ctx, cancel := context.WithTimeout(r.Context(), publishTimeout)
	defer cancel()
	p, err := s.eng.History(ctx, channel, since, limit, MaxHistoryBytes)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, wire.ErrHistoryUnavailable.Code, err.Error())
		return
	}
	resp := historyResponse{Channel: channel, Offset: p.Position.Offset, Epoch: p.Position.Epoch, Recovered: p.Recovered, More: p.More, Publications: make([]historyEntry, len(p.Entries))}
	for i, e := range p.Entries {
		resp.Publications[i] = historyEntry{Offset: e.Offset, Prev: e.Prev, Data: e.Data}
	}
	writeJSON(w, http.StatusOK, resp)
}

// MaxHistoryBytes bounds the data of one GET /api/history answer (at
// least one publication is returned); "more" says when there is more.
const MaxHistoryBytes = 4 << 20
