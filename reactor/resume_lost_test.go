package reactor

import (
	"context"
	"sync"
	"testing"

	"github.com/wsgate/wsgate/relay"
)

// scriptedHistory is a relay whose history reads answer the pages a test
// scripts, in order.
type scriptedHistory struct {
	*relay.Local
	mu    sync.Mutex
	pages []relay.Page
}

func (s *scriptedHistory) Retains(string) bool { return true }

func (s *scriptedHistory) Read(context.Context, string, *relay.Position, int, int) (relay.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pages[0]
	if len(s.pages) > 1 {
		s.pages = s.pages[1:]
	}
	return p, nil
}

// TestHistoryLostMidReplayIsTold: when the history a replay is reading is
// lost (a new epoch, or what was left dropped), the client gets an ack
// without id saying recovered false, with the new position.
func TestHistoryLostMidReplayIsTold(t *testing.T) {
	entries := []relay.Entry{
		{Seq: relay.Seq{Offset: 6, Prev: 5}, Data: []byte("6")},
		{Seq: relay.Seq{Offset: 7, Prev: 6}, Data: []byte("7")},
	}
	h := &scriptedHistory{Local: relay.NewLocal(), pages: []relay.Page{
		{Position: relay.Position{Offset: 10, Epoch: "e1"}, Recovered: true, Entries: entries, More: true},
		{Position: relay.Position{Offset: 3, Epoch: "e2"}},
	}}
	e := gateway(t, Config{Relay: h})
	c := dialWS(t, e, "/ws")
	ack := subscribeAt(t, c, "lost", &position{5, "e1"})
	if ack["recovered"] != true || ack["offset"] != float64(10) {
		t.Fatalf("first ack %v", ack)
	}
	if got, _ := readMessages(t, c, "lost", 2, 5); len(got) != 2 || got[1] != "7" {
		t.Fatalf("replayed %v", got)
	}
	m := readJSON(t, c)
	if m["type"] != "ack" || m["id"] != nil || m["recovered"] != false || m["offset"] != float64(3) || m["epoch"] != "e2" {
		t.Fatalf("after the loss: %v, want an ack without id, recovered false, offset 3, epoch e2", m)
	}
}
