package relay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Control carries the control API's requests between nodes (package
// control gives them their meaning): a request for one node, named by its
// ID, or for every node. Requests and answers are opaque bytes here.
type Control interface {
	// ServeControl makes h answer this node's requests (the ones for node
	// and the ones for all). It is called once, before any Ask. h runs on
	// the relay's goroutines, at most MaxControlInFlight at once; a request
	// past that is answered with busy (h is not called).
	ServeControl(node string, h func(req []byte) []byte, busy []byte) error
	// Ask sends req to node and returns its answer, waiting up to ctx.
	// ErrNoNode: no node of that name is there to answer.
	Ask(ctx context.Context, node string, req []byte) ([]byte, error)
	// AskAll sends req to every node, this one included, and gathers the
	// answers by node until every node seen alive has answered or ctx
	// ends; missing are the live nodes that did not answer in time.
	AskAll(ctx context.Context, req []byte) (answers map[string][]byte, missing []string, err error)
}

// ErrNoNode is Ask's answer for a node that is not there.
var ErrNoNode = errors.New("relay: no such node")

// MaxControlInFlight bounds the control requests a node serves at once;
// each may wait for an event loop up to its deadline.
const MaxControlInFlight = 256

// controlServer runs a node's handler with bounded concurrency.
type controlServer struct {
	node string
	h    func([]byte) []byte
	busy []byte
	slot chan struct{}
}

func newControlServer(node string, h func([]byte) []byte, busy []byte) *controlServer {
	return &controlServer{node: node, h: h, busy: busy, slot: make(chan struct{}, MaxControlInFlight)}
}

// serve answers req through reply, on a goroutine of its own, or with busy
// at once when MaxControlInFlight requests are being served.
func (s *controlServer) serve(req []byte, reply func([]byte)) {
	select {
	case s.slot <- struct{}{}:
	default:
		reply(s.busy)
		return
	}
	go func() {
		defer func() { <-s.slot }()
		reply(s.h(req))
	}()
}

// call runs the handler for a request of this node's own, waiting up to
// ctx, with the same bound.
func (s *controlServer) call(ctx context.Context, req []byte) ([]byte, error) {
	done := make(chan []byte, 1)
	s.serve(req, func(b []byte) { done <- b })
	select {
	case b := <-done:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// The in-process relay: a single node answers only for itself.

func (l *Local) ServeControl(node string, h func([]byte) []byte, busy []byte) error {
	l.ctl.Store(newControlServer(node, h, busy))
	return nil
}

func (l *Local) Ask(ctx context.Context, node string, req []byte) ([]byte, error) {
	s := l.ctl.Load()
	if s == nil || node != s.node {
		return nil, ErrNoNode
	}
	return s.call(ctx, req)
}

func (l *Local) AskAll(ctx context.Context, req []byte) (map[string][]byte, []string, error) {
	s := l.ctl.Load()
	if s == nil {
		return nil, nil, ErrNoNode
	}
	b, err := s.call(ctx, req)
	if err != nil {
		return map[string][]byte{}, []string{s.node}, nil
	}
	return map[string][]byte{s.node: b}, nil, nil
}

// Over NATS: node N answers on "<ControlPrefix>.node.N" and on
// "<ControlPrefix>.all", and announces itself on "<ControlPrefix>.alive"
// every ControlHeartbeat; a node unheard of for 3 heartbeats is dead, and
// AskAll stops waiting for it. The relay's connection does not hear its
// own messages (NoEcho), so a node answers its own requests in process.

// nodeHeader names the answering node on an AskAll reply.
const nodeHeader = "Wsgate-Node"

func (r *NATS) ServeControl(node string, h func([]byte) []byte, busy []byte) error {
	s := newControlServer(node, h, busy)
	r.ctl.Store(s)
	prefix := r.cfg.ControlPrefix
	answer := func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		s.serve(m.Data, func(b []byte) {
			out := nats.NewMsg(m.Reply)
			out.Header.Set(nodeHeader, node)
			out.Data = b
			_ = r.nc.PublishMsg(out)
		})
	}
	for _, subj := range []string{prefix + ".node." + node, prefix + ".all"} {
		if _, err := r.nc.Subscribe(subj, answer); err != nil {
			return fmt.Errorf("relay: subscribe to %s: %w", subj, err)
		}
	}
	if _, err := r.nc.Subscribe(prefix+".alive", func(m *nats.Msg) { r.alive.seen(string(m.Data)) }); err != nil {
		return fmt.Errorf("relay: subscribe to %s.alive: %w", prefix, err)
	}
	go r.heartbeat(node)
	return nil
}

// heartbeat announces the node until the relay closes.
func (r *NATS) heartbeat(node string) {
	t := time.NewTicker(r.cfg.ControlHeartbeat)
	defer t.Stop()
	for {
		_ = r.nc.Publish(r.cfg.ControlPrefix+".alive", []byte(node))
		select {
		case <-t.C:
		case <-r.closing:
			return
		}
	}
}

func (r *NATS) Ask(ctx context.Context, node string, req []byte) ([]byte, error) {
	s := r.ctl.Load()
	if s != nil && node == s.node {
		return s.call(ctx, req)
	}
	m, err := r.nc.RequestWithContext(ctx, r.cfg.ControlPrefix+".node."+node, req)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, ErrNoNode
	}
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

func (r *NATS) AskAll(ctx context.Context, req []byte) (map[string][]byte, []string, error) {
	s := r.ctl.Load()
	if s == nil {
		return nil, nil, ErrNoNode
	}
	inbox := r.nc.NewRespInbox()
	sub, err := r.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := r.nc.PublishRequest(r.cfg.ControlPrefix+".all", inbox, req); err != nil {
		return nil, nil, err
	}
	answers := make(map[string][]byte)
	own := make(chan []byte, 1)
	s.serve(req, func(b []byte) { own <- b })
	waiting := r.alive.live(s.node)
	for len(waiting) > 0 || own != nil {
		if own != nil {
			select {
			case b := <-own:
				answers[s.node], own = b, nil
				continue
			default:
			}
		}
		wait, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		m, err := sub.NextMsgWithContext(wait)
		cancel()
		switch {
		case err == nil:
			node := m.Header.Get(nodeHeader)
			answers[node] = m.Data
			delete(waiting, node)
		case ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded):
			return answers, nil, err // the connection closed under it
		case ctx.Err() != nil:
			missing := make([]string, 0, len(waiting)+1)
			for n := range waiting {
				missing = append(missing, n)
			}
			if own != nil {
				missing = append(missing, s.node)
			}
			slices.Sort(missing)
			return answers, missing, nil
		}
	}
	return answers, nil, nil
}

// maxNodes bounds the nodes a node keeps track of.
const maxNodes = 10000

// liveNodes is the set of nodes heard from recently (their heartbeats).
type liveNodes struct {
	mu     sync.Mutex
	every  time.Duration
	last   map[string]time.Time
	pruned time.Time // the last pruneLocked
}

func (a *liveNodes) seen(node string) {
	if node == "" || len(node) > 64 {
		return
	}
	a.mu.Lock()
	if a.last == nil {
		a.last = make(map[string]time.Time)
	}
	if _, known := a.last[node]; !known && len(a.last) >= maxNodes {
		if time.Since(a.pruned) > a.every { // at most once a beat: a flood must not make each name cost a scan
			a.pruneLocked()
		}
		if len(a.last) >= maxNodes {
			a.mu.Unlock()
			return // a flood of made-up names on the bus, still alive
		}
	}
	a.last[node] = time.Now()
	a.mu.Unlock()
}

// live returns the nodes heard from within 3 heartbeats, but self.
func (a *liveNodes) live(self string) map[string]struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pruneLocked()
	out := make(map[string]struct{})
	for n := range a.last {
		if n != self {
			out[n] = struct{}{}
		}
	}
	return out
}

// pruneLocked forgets the nodes unheard of for three beats; a.mu is held.
func (a *liveNodes) pruneLocked() {
	a.pruned = time.Now()
	for n, t := range a.last {
		if time.Since(t) > 3*a.every {
			delete(a.last, n)
		}
	}
}
