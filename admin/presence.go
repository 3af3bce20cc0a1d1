package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/wsgate/wsgate/presence"
	"github.com/wsgate/wsgate/wire"
)

// Presence, behind the API key (who is online is not public):
//
//	GET /api/presence?channel=C[&after=<conn>][&limit=N]  one page of C's members, sorted by connection ID
//	GET /api/presence/count?channel=C                    how many
//
// limit is 1 to presence.MaxLimit (default DefaultPresenceLimit); "next",
// when present, is the after of the following page. 404 no_presence for a
// channel that keeps none, 503 when the store cannot be read.

// DefaultPresenceLimit is a presence page's size when the request names
// none.
const DefaultPresenceLimit = 100

// presenceTimeout bounds a presence read (the bus, for a cluster).
const presenceTimeout = 5 * time.Second

func (s *Server) routePresence() {
	if s.eng.Config().Presence == nil {
		return
	}
	s.mux.HandleFunc("GET /api/presence", s.presenceList)
	s.mux.HandleFunc("GET /api/presence/count", s.presenceCount)
}

// presenceChannel checks the key and the channel, answering a bad request
// itself.
func (s *Server) presenceChannel(w http.ResponseWriter, r *http.Request) (string, bool) {
	if !s.requireKey(w, r) {
		return "", false
	}
	channel := r.URL.Query().Get("channel")
	switch {
	case !wire.ValidChannel(channel):
		writeError(w, http.StatusBadRequest, wire.ErrBadChannel.Code, wire.ErrBadChannel.Message)
		return "", false
	case !s.eng.HasPresence(channel):
		writeError(w, http.StatusNotFound, wire.ErrNoPresence.Code, wire.ErrNoPresence.Message)
		return "", false
	}
	return channel, true
}

func (s *Server) presenceList(w http.ResponseWriter, r *http.Request) {
	channel, ok := s.presenceChannel(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	limit := DefaultPresenceLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > presence.MaxLimit {
			writeError(w, http.StatusBadRequest, wire.CodeBadLimit, "limit must be an integer from 1 to "+strconv.Itoa(presence.MaxLimit))
			return
		}
		limit = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), presenceTimeout)
	defer cancel()
	page, err := s.eng.Config().Presence.List(ctx, channel, q.Get("after"), limit)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "presence_unavailable", err.Error())
		return
	}
	if page.Members == nil {
		page.Members = []presence.Member{}
	}
	writeJSON(w, http.StatusOK, struct {
		Channel string `json:"channel"`
		presence.Page
	}{channel, page})
}

func (s *Server) presenceCount(w http.ResponseWriter, r *http.Request) {
	channel, ok := s.presenceChannel(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), presenceTimeout)
	defer cancel()
	n, err := s.eng.Config().Presence.Count(ctx, channel)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "presence_unavailable", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"channel": channel, "count": n})
}
