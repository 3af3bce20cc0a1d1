package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/wsgate/wsgate/control"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/wire"
)

// The backend's control API (package control carries it across the
// cluster), all behind the API key:
//
//	GET    /api/connections/{id}              the connection: node, user, channels, since, traffic
//	POST   /api/connections/{id}/send         {"data":<JSON>}: {"type":"push","data":…} to it alone
//	DELETE /api/connections/{id}              {"code":4000,"reason":"…"} (body optional: 1000, ""): close it
//	POST   /api/connections/{id}/subscribe    {"channel":"c"}: subscribe it, no permission check
//	POST   /api/connections/{id}/unsubscribe  {"channel":"c"}: unsubscribe it, with a notice
//	POST   /api/users/{user}/send|disconnect|subscribe|unsubscribe: the same for each of the user's connections
//
// 404 for an unknown connection or a user without one, 504 naming the
// nodes that did not answer in time, 400 for a bad body, 413 past
// MaxControlBody, 503 past MaxControlInFlight requests at once.

// MaxControlBody caps a control request's body; the node's --max-data-size
// bounds a push's data inside it.
const MaxControlBody = 1 << 20

// MaxControlInFlight bounds the control requests this admin listener
// serves at once: each may wait for other nodes.
const MaxControlInFlight = 64

// controlBody is the JSON body of every control route; each reads its part.
type controlBody struct {
	Data    json.RawMessage `json:"data"`
	Code    *int            `json:"code"`
	Reason  string          `json:"reason"`
	Channel string          `json:"channel"`
}

func (s *Server) routeControl() {
	if s.ctl == nil {
		return
	}
	s.control = make(chan struct{}, MaxControlInFlight)
	for pattern, kind := range map[string]reactor.ConnOpKind{
		"GET /api/connections/{id}":              reactor.OpInfo,
		"POST /api/connections/{id}/send":        reactor.OpSend,
		"DELETE /api/connections/{id}":           reactor.OpClose,
		"POST /api/connections/{id}/subscribe":   reactor.OpSubscribe,
		"POST /api/connections/{id}/unsubscribe": reactor.OpUnsubscribe,
		"POST /api/users/{user}/send":            reactor.OpSend,
		"POST /api/users/{user}/disconnect":      reactor.OpClose,
		"POST /api/users/{user}/subscribe":       reactor.OpSubscribe,
		"POST /api/users/{user}/unsubscribe":     reactor.OpUnsubscribe,
	} {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.controlRoute(w, r, kind) })
	}
}

func (s *Server) controlRoute(w http.ResponseWriter, r *http.Request, kind reactor.ConnOpKind) {
	if !s.requireKey(w, r) {
		return
	}
	select {
	case s.control <- struct{}{}:
		defer func() { <-s.control }()
	default:
		writeError(w, http.StatusServiceUnavailable, "busy", fmt.Sprintf("more than %d control requests at once", MaxControlInFlight))
		return
	}
	op, ok := readOp(w, r, kind)
	if !ok {
		return
	}
	if user := r.PathValue("user"); user != "" {
		res, err := s.ctl.User(r.Context(), user, op)
		if err != nil {
			writeControlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
		return
	}
	info, err := s.ctl.Conn(r.Context(), r.PathValue("id"), op)
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// readOp reads the operation's body (none for OpInfo; optional for
// OpClose), answering a bad one itself.
func readOp(w http.ResponseWriter, r *http.Request, kind reactor.ConnOpKind) (reactor.ConnOp, bool) {
	op := reactor.ConnOp{Kind: kind}
	if kind == reactor.OpInfo {
		return op, true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxControlBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, fmt.Sprintf("body exceeds %d bytes", MaxControlBody))
			return op, false
		}
		writeError(w, http.StatusBadRequest, wire.CodeBadRequest, "cannot read body")
		return op, false
	}
	var b controlBody
	if len(body) > 0 || kind != reactor.OpClose {
		if err := json.Unmarshal(body, &b); err != nil {
			writeError(w, http.StatusBadRequest, wire.CodeBadJSON, "body is not a JSON object")
			return op, false
		}
	}
	op.Data, op.Reason, op.Channel = b.Data, b.Reason, b.Channel
	op.Code = 1000
	if b.Code != nil {
		op.Code = *b.Code
	}
	return op, true
}

func writeControlError(w http.ResponseWriter, err error) {
	var e *control.Error
	if errors.As(err, &e) {
		writeError(w, e.Status, e.Code, e.Message)
		return
	}
	writeError(w, http.StatusInternalServerError, "internal", err.Error())
}
