package main

// The tuned flavour (the default) is what a competent nbio user writes for
// this workload, with the settings nbio's author uses in his own servers:
//
//   - github.com/lesismal/go-websocket-benchmark,
//     frameworks/nbio_nonblocking/server.go: an nbhttp.Engine in
//     IOModNonBlocking with ReleaseWebsocketPayload, the memory pool sized
//     before the engine is built (mempool.DefaultMemPool = mempool.New(
//     message size + 1 KiB, 1 GiB)), and no read deadline on an upgraded
//     connection (it clears the one the upgrader sets);
//   - the same repository's frameworks/listen.go: the engine's Listen hook
//     opening SO_REUSEPORT listeners;
//   - github.com/lesismal/nbio-examples, websocket_1m/server_nbio/server.go:
//     MaxLoad sized for the connections and ReleaseWebsocketPayload.
//
// So: one poller per P (NPoller), one SO_REUSEPORT listener per P
// (NListener with a reuseport Listen; the kernel spreads the accepts), the
// 2 KiB/1 GiB pool of the author's benchmark (messages here are well under
// 1 KiB), payload buffers released after each OnMessage, and
// Upgrader.KeepaliveTime 0, so an upgraded connection carries no nbio timer
// (the author's servers run without one; the naive flavour arms a
// 10-minute one per connection).
//
// The fan-out is asynchronous and batched, which nbio leaves to the
// application: its websocket.Conn has a send queue only in blocking mode,
// and its author points users who want fewer writes to batching in the
// application (nbio issue 414). publish frames the message once and hands
// it to every fan-out worker (one per P) and returns. Each subscriber
// belongs to one worker, which owns its lists (no locks on them) and is
// the only writer of publications to it, so a subscriber's messages keep
// their order. A worker drains everything queued since it last woke in one
// batch and writes all the frames a subscriber is owed in one Writev on the
// nbio.Conn (the same syscall path WriteMessage ends in, without a second
// copy of the payload per subscriber: nbio v1.6.8 has no prepared-message
// API, so the frame is built once here, as gorilla's PreparedMessage does).
// nbio.Conn serialises writes per call, so these whole frames never
// interleave with the pongs and closes its websocket layer writes.

import (
	"context"
	"encoding/binary"
	"log"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/lesismal/nbio/mempool"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/bench/baselines/internal/common"
)

// subscriber is one /ws connection; everything but out, channels and w is
// owned by its worker's goroutine.
type subscriber struct {
	out      vectorWriter
	channels []string
	w        *worker

	pos     []int    // index in w.subs[channels[i]]
	pending [][]byte // frames owed in the current batch
	joined  bool
	gone    bool
}

type vectorWriter interface {
	Write([]byte) (int, error)
	Writev([][]byte) (int, error)
}

type opKind uint8

const (
	opJoin opKind = iota
	opLeave
	opPublish
)

type op struct {
	kind    opKind
	s       *subscriber
	channel string
	frame   []byte
}

// worker is one fan-out goroutine: its subscribers' lists and an inbox.
type worker struct {
	mu    sync.Mutex
	inbox []op
	spare []op
	wake  chan struct{}

	subs    map[string][]*subscriber
	touched []*subscriber
}

func (w *worker) post(o op) {
	w.mu.Lock()
	w.inbox = append(w.inbox, o)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // already woken; it will see this op in its batch
	}
}

func (w *worker) run() {
	for range w.wake {
		w.mu.Lock()
		batch := w.inbox
		w.inbox, w.spare = w.spare[:0], nil
		w.mu.Unlock()

		for i := range batch {
			switch o := &batch[i]; o.kind {
			case opJoin:
				w.join(o.s)
			case opLeave:
				w.leave(o.s)
			case opPublish:
				for _, s := range w.subs[o.channel] {
					if len(s.pending) == 0 {
						w.touched = append(w.touched, s)
					}
					s.pending = append(s.pending, o.frame)
				}
			}
		}
		for i, s := range w.touched {
			var err error
			if len(s.pending) == 1 {
				_, err = s.out.Write(s.pending[0])
			} else {
				_, err = s.out.Writev(s.pending)
			}
			if err != nil { // closed: nbio reports it to OnClose too; leave is idempotent
				w.leave(s)
			}
			clear(s.pending)
			s.pending = s.pending[:0]
			w.touched[i] = nil
		}
		w.touched = w.touched[:0]

		clear(batch)
		w.mu.Lock()
		w.spare = batch[:0]
		w.mu.Unlock()
	}
}

// join adds s to its channels' lists, unless it closed before its join was
// handled (a close can race the upgrade handler).
func (w *worker) join(s *subscriber) {
	if s.gone || s.joined {
		return
	}
	s.joined = true
	for _, ch := range s.channels {
		s.pos = append(s.pos, len(w.subs[ch]))
		w.subs[ch] = append(w.subs[ch], s)
	}
}

func (w *worker) leave(s *subscriber) {
	if s.gone {
		return
	}
	s.gone = true
	if !s.joined {
		return
	}
	for i, ch := range s.channels {
		list := w.subs[ch]
		last := list[len(list)-1]
		list[s.pos[i]] = last
		for j, lch := range last.channels {
			if lch == ch {
				last.pos[j] = s.pos[i]
			}
		}
		list[len(list)-1] = nil
		if list = list[:len(list)-1]; len(list) == 0 {
			delete(w.subs, ch)
		} else {
			w.subs[ch] = list
		}
	}
	s.pos = nil
}

type tunedHub struct {
	workers []*worker
	next    atomic.Uint32
}

func newTunedHub(n int) *tunedHub {
	h := &tunedHub{}
	for range n {
		w := &worker{wake: make(chan struct{}, 1), subs: make(map[string][]*subscriber)}
		h.workers = append(h.workers, w)
		go w.run()
	}
	return h
}

// publish frames the envelope once, queues it on every worker and returns;
// it reports the number of workers it was queued on.
func (h *tunedHub) publish(channel string, envelope []byte) int {
	frame := textFrame(envelope)
	for _, w := range h.workers {
		w.post(op{kind: opPublish, channel: channel, frame: frame})
	}
	return len(h.workers)
}

// nbioConn is the *nbio.Conn under an upgraded connection (wrapped in the
// *nbhttp.Conn its HTTP request came on).
func nbioConn(c *websocket.Conn) (vectorWriter, bool) {
	nc := c.UnderlayerConn()
	if hc, ok := nc.(*nbhttp.Conn); ok {
		nc = hc.Conn
	}
	vw, ok := nc.(vectorWriter)
	return vw, ok
}

// textFrame is an unmasked, final text frame (a server's).
func textFrame(payload []byte) []byte {
	var b []byte
	switch n := len(payload); {
	case n < 126:
		b = make([]byte, 2, 2+n)
		b[1] = byte(n)
	case n <= 0xffff:
		b = make([]byte, 4, 4+n)
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b = make([]byte, 10, 10+n)
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
	b[0] = 0x80 | byte(websocket.TextMessage)
	return append(b, payload...)
}

// listenReusePort is the engine's Listen hook: every call opens another
// SO_REUSEPORT socket on the same address.
func listenReusePort(network, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), network, addr)
}

func runTuned(f common.Flags) {
	n := runtime.GOMAXPROCS(0)
	// The author's sizing: buffers of the largest expected message plus
	// 1 KiB, pooled up to 1 GiB. Set before the engine takes it as its
	// BodyAllocator.
	mempool.DefaultMemPool = mempool.New(1024+1024, 1024*1024*1024)

	h := newTunedHub(n)
	common.ServeAdmin(f.AdminListen, h.publish)

	sub := websocket.NewUpgrader()
	sub.KeepaliveTime = 0 // no read deadline, no timer per connection
	sub.OnClose(func(c *websocket.Conn, _ error) {
		if s, ok := c.Session().(*subscriber); ok {
			s.w.post(op{kind: opLeave, s: s})
		}
	})
	echo := websocket.NewUpgrader()
	echo.KeepaliveTime = 0
	echo.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		_ = c.WriteMessage(mt, data)
	})

	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := sub.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		out, ok := nbioConn(c)
		if !ok { // cannot happen in IOModNonBlocking
			_ = c.Close()
			return
		}
		s := &subscriber{out: out, channels: common.Channels(r.URL.RawQuery)}
		s.w = h.workers[int(h.next.Add(1))%len(h.workers)]
		c.SetSession(s)
		s.w.post(op{kind: opJoin, s: s})
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		_, _ = echo.Upgrade(w, r, nil)
	})
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   []string{f.Listen},
		Listen:                  listenReusePort,
		NListener:               n,
		NPoller:                 n,
		IOMod:                   nbhttp.IOModNonBlocking,
		Handler:                 mux,
		MaxLoad:                 1_000_000,
		ReleaseWebsocketPayload: true,
	})
	sub.Engine, echo.Engine = engine, engine
	if err := engine.Start(); err != nil {
		log.Fatalf("nbiohub: %v", err)
	}
	log.Printf("nbiohub (tuned): ws on %s (%d listeners, %d pollers, %d fan-out workers), admin on %s", f.Listen, n, n, n, f.AdminListen)
	common.WaitSignal()
	engine.Stop()
}
