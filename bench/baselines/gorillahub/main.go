// Command gorillahub is the gorilla/websocket baseline, written the way
// gorilla's own documentation and chat example
// (github.com/gorilla/websocket: examples/chat/client.go and hub.go, and the
// "Buffers" section of doc.go) tell a user to write a fan-out server:
//
//   - the hub pattern: a read goroutine (the HTTP handler's) and a write
//     goroutine per connection, a buffered send channel between the hub and
//     each writer, pings from the writer and a pong deadline on the reader;
//   - a broadcast is framed once, as a websocket.PreparedMessage, and the
//     same frame is queued to every subscriber (gorilla's answer to "send
//     the same message to many connections");
//   - Upgrader.WriteBufferPool is set, so an idle connection holds no write
//     buffer: doc.go says a pool "is most useful when the application has a
//     modest volume of writes across a large number of connections", which
//     is this workload (WritePreparedMessage writes the prepared frame
//     directly and needs no buffer at all; echo borrows one per message);
//   - ReadBufferSize is sized to the largest message a client sends here
//     (pongs, closes and the 64-byte echo payloads; doc.go: "limit the buffer
//     sizes to the maximum expected message size"). The read buffer is held
//     for the connection's life, because gorilla has no read-buffer pool.
package main

import (
	"log"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/bench/baselines/internal/common"
)

const (
	sendQueue  = 256              // messages buffered per connection; a full queue closes it
	pingPeriod = 25 * time.Second // as wsgate
	pongWait   = 60 * time.Second
	writeWait  = 10 * time.Second
)

// upgrader holds no write buffer per idle connection (WriteBufferPool) and a
// small read buffer: clients here send pongs, closes and short echo
// messages. A pooled write buffer costs nothing while idle, so it is sized
// for whole echo messages rather than squeezed.
var upgrader = websocket.Upgrader{
	ReadBufferSize:  512,
	WriteBufferSize: 4096,
	WriteBufferPool: &sync.Pool{},
	CheckOrigin:     func(*http.Request) bool { return true },
}

type client struct {
	conn     *websocket.Conn
	send     chan *websocket.PreparedMessage
	channels []string
	once     sync.Once
}

func (c *client) close() { c.once.Do(func() { _ = c.conn.Close() }) }

// hub maps channels to their subscribers.
type hub struct {
	mu   sync.RWMutex
	subs map[string]map[*client]struct{}
}

func (h *hub) join(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range c.channels {
		if h.subs[ch] == nil {
			h.subs[ch] = make(map[*client]struct{})
		}
		h.subs[ch][c] = struct{}{}
	}
}

func (h *hub) leave(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range c.channels {
		delete(h.subs[ch], c)
		if len(h.subs[ch]) == 0 {
			delete(h.subs, ch)
		}
	}
}

// publish frames the message once and queues it for every subscriber; a
// subscriber whose queue is full is closed (a slow consumer).
func (h *hub) publish(channel string, envelope []byte) int {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, envelope)
	if err != nil {
		return 0
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for c := range h.subs[channel] {
		select {
		case c.send <- pm:
			n++
		default:
			go c.close()
		}
	}
	return n
}

// serveWS starts the connection's two goroutines and returns, as the chat
// example's serveWs does: the handler goroutine (with net/http's deep serve
// stack and its buffers) exits instead of becoming the reader.
func (h *hub) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &client{conn: conn, send: make(chan *websocket.PreparedMessage, sendQueue), channels: common.Channels(r.URL.RawQuery)}
	h.join(c)
	done := make(chan struct{})
	go c.writePump(done)
	go func() {
		c.readPump()
		h.leave(c)
		close(done)
		c.close()
	}()
}

// readPump reads (and ignores) the client's frames so control frames are
// handled, until the connection fails.
func (c *client) readPump() {
	c.conn.SetReadLimit(64 << 10)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			return
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	}
}

func (c *client) writePump(done <-chan struct{}) {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	for {
		select {
		case <-done:
			return
		case pm := <-c.send:
			_ = c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WritePreparedMessage(pm); err != nil {
				c.close()
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.close()
				return
			}
		}
	}
}

func serveEcho(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	for {
		mt, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if err := conn.WriteMessage(mt, msg); err != nil {
			return
		}
	}
}

func main() {
	f := common.ParseFlags("gorillahub")
	h := &hub{subs: make(map[string]map[*client]struct{})}
	common.ServeAdmin(f.AdminListen, h.publish)
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", h.serveWS)
	mux.HandleFunc("/echo", serveEcho)
	srv := &http.Server{Addr: f.Listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { log.Fatal(srv.ListenAndServe()) }()
	log.Printf("gorillahub: ws on %s, admin on %s", f.Listen, f.AdminListen)
	common.WaitSignal()
}
