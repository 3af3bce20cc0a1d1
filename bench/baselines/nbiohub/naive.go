package main

// The naive flavour (--flavour naive) is nbiohub as it was first written,
// kept so the difference the tuning makes stays measurable: what someone
// who read nbio's README but none of its author's benchmark servers writes.
//
//   - one listener, nbio's defaults for buffers and the memory pool, no
//     ReleaseWebsocketPayload;
//   - a 10-minute read deadline per connection (Upgrader.KeepaliveTime),
//     one nbio timer each;
//   - a publication is written inside the publish HTTP handler, under the
//     hub's read lock, with one WriteMessage per subscriber: the
//     websocket.Conn's mutex, a frame allocated from the pool and the
//     payload copied into it, then the nbio.Conn's mutex and one write
//     syscall, subscriber after subscriber, before the publisher gets its
//     answer.

import (
	"log"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/wsgate/wsgate/bench/baselines/internal/common"
)

type naiveHub struct {
	mu   sync.RWMutex
	subs map[string]map[*websocket.Conn]struct{}
}

func (h *naiveHub) join(c *websocket.Conn, channels []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range channels {
		if h.subs[ch] == nil {
			h.subs[ch] = make(map[*websocket.Conn]struct{})
		}
		h.subs[ch][c] = struct{}{}
	}
}

func (h *naiveHub) leave(c *websocket.Conn, channels []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range channels {
		delete(h.subs[ch], c)
		if len(h.subs[ch]) == 0 {
			delete(h.subs, ch)
		}
	}
}

func (h *naiveHub) publish(channel string, envelope []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for c := range h.subs[channel] {
		if c.WriteMessage(websocket.TextMessage, envelope) == nil {
			n++
		}
	}
	return n
}

func runNaive(f common.Flags) {
	h := &naiveHub{subs: make(map[string]map[*websocket.Conn]struct{})}
	common.ServeAdmin(f.AdminListen, h.publish)

	sub := websocket.NewUpgrader()
	sub.KeepaliveTime = 10 * time.Minute
	sub.OnClose(func(c *websocket.Conn, _ error) {
		if chans, ok := c.Session().([]string); ok {
			h.leave(c, chans)
		}
	})
	echo := websocket.NewUpgrader()
	echo.KeepaliveTime = 10 * time.Minute
	echo.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		_ = c.WriteMessage(mt, data)
	})

	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := sub.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		chans := common.Channels(r.URL.RawQuery)
		c.SetSession(chans)
		h.join(c, chans)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		_, _ = echo.Upgrade(w, r, nil)
	})
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{f.Listen},
		Handler: mux,
		MaxLoad: 1_000_000,
		NPoller: runtime.GOMAXPROCS(0),
	})
	if err := engine.Start(); err != nil {
		log.Fatalf("nbiohub: %v", err)
	}
	log.Printf("nbiohub (naive): ws on %s, admin on %s", f.Listen, f.AdminListen)
	common.WaitSignal()
	engine.Stop()
}
