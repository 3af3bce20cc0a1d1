// Command attacker is a test process for wsgate's soak test: it misbehaves
// against one or more nodes in one of several ways, reconnecting whenever
// the server throws it out, until -duration passes, then prints one JSON
// line saying what the server answered. Every request loop is bounded by
// -duration and targets only the given URLs (loopback in the tests).
//
// Modes:
//
//	slowloris  sends an upgrade request one byte every -interval, never finishing
//	malformed  broken HTTP requests, unmasked, reserved-opcode, bad-UTF-8 and
//	           garbage frames, invalid JSON commands
//	oversize   header blocks over 8 KiB, frames declaring 100 MB, data over
//	           the publish limit
//	flood      publishes as fast as it can (on -channel, and on channels its
//	           token does not allow), reading what comes back
//	noread     subscribes to -channel and never reads
//	churn      connects (subscribed to -channel), then drops the connection at
//	           once or after a few milliseconds, over and over
//	fdflood    opens -sockets idle TCP connections per worker that never send
//	           a byte, holding each until the server resets or times it out,
//	           then opens another
//	ackspam    sends subscribe frames whose ack would repeat a long id (every
//	           other worker: a 2.5 KB id; the rest: the longest valid id),
//	           as fast as the socket takes them, and never reads
//	channels   subscribes each connection to new, never-used channels until
//	           the server refuses (too_many_channels or too_many_subscriptions),
//	           then reconnects and goes on
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/wsproto"
)

type urls []string

func (u *urls) String() string     { return strings.Join(*u, ",") }
func (u *urls) Set(v string) error { *u = append(*u, v); return nil }

// report counts what the attacker saw; printed as JSON at the end.
type report struct {
	Mode     string           `json:"mode"`
	Attempts atomic.Int64     `json:"-"`
	Statuses map[string]int64 `json:"statuses"` // HTTP status of refused handshakes, "101" for upgrades
	Closes   map[string]int64 `json:"closes"`   // close codes received, "eof" for a bare TCP close
	Errors   map[string]int64 `json:"errors"`   // error frame codes received
	mu       sync.Mutex
}

func (r *report) add(m map[string]int64, key string) {
	r.mu.Lock()
	m[key]++
	r.mu.Unlock()
}

var (
	targets  urls
	mode     = flag.String("mode", "", "slowloris|malformed|oversize|flood|noread|churn|fdflood|ackspam|channels")
	sockets  = flag.Int("sockets", 100, "fdflood: idle sockets each worker holds")
	conns    = flag.Int("conns", 4, "concurrent connections")
	duration = flag.Duration("duration", 10*time.Second, "stop after this long")
	source   = flag.String("source", "", "local IP to connect from (e.g. 127.0.0.2)")
	token    = flag.String("token", "", "JWT sent as ?token=")
	channel  = flag.String("channel", "junk", "channel to publish to or subscribe to")
	interval = flag.Duration("interval", 500*time.Millisecond, "slowloris: pause between bytes")
)

func main() {
	flag.Var(&targets, "url", "ws://host:port of a node; repeat for several")
	flag.Parse()
	if len(targets) == 0 || *mode == "" {
		fmt.Fprintln(os.Stderr, "attacker: -url and -mode are required")
		os.Exit(2)
	}
	attack, ok := map[string]func(*worker){
		"slowloris": (*worker).slowloris, "malformed": (*worker).malformed, "oversize": (*worker).oversize,
		"flood": (*worker).flood, "noread": (*worker).noread, "churn": (*worker).churn,
		"fdflood": (*worker).fdflood, "ackspam": (*worker).ackspam, "channels": (*worker).channels,
	}[*mode]
	if !ok {
		fmt.Fprintf(os.Stderr, "attacker: unknown mode %q\n", *mode)
		os.Exit(2)
	}
	rep := &report{Mode: *mode, Statuses: map[string]int64{}, Closes: map[string]int64{}, Errors: map[string]int64{}}
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for i := range *conns {
		w := &worker{rep: rep, id: i, host: hostOf(targets[i%len(targets)]), deadline: deadline, rng: rand.New(rand.NewPCG(uint64(i), 42))}
		wg.Go(func() {
			for time.Now().Before(deadline) {
				rep.Attempts.Add(1)
				attack(w)
			}
		})
	}
	wg.Wait()
	out, _ := json.Marshal(struct {
		*report
		Attempts int64 `json:"attempts"`
	}{rep, rep.Attempts.Load()})
	fmt.Println(string(out))
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		fmt.Fprintln(os.Stderr, "attacker:", err)
		os.Exit(2)
	}
	return u.Host
}

// worker is one connection's loop.
type worker struct {
	rep      *report
	id       int
	host     string
	deadline time.Time
	rng      *rand.Rand
}

func (w *worker) dial() (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if *source != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(*source)}
	}
	nc, err := d.Dial("tcp", w.host)
	if err != nil {
		time.Sleep(50 * time.Millisecond) // back off: the listener is saturated or gone
		return nil, err
	}
	_ = nc.SetDeadline(w.deadline.Add(2 * time.Second))
	return nc, nil
}

// wsDial upgrades with the attacker's token on path (query may follow).
func (w *worker) wsDial(path string) (*wstest.Conn, bool) {
	u := "ws://" + w.host + path
	if *token != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + "token=" + *token
	}
	c, err := wstest.DialOptions(u, 5*time.Second, wstest.Options{LocalAddr: *source})
	var he *wstest.HandshakeError
	switch {
	case errors.As(err, &he):
		w.rep.add(w.rep.Statuses, fmt.Sprint(he.Status))
		time.Sleep(20 * time.Millisecond)
		return nil, false
	case err != nil:
		w.rep.add(w.rep.Statuses, "dial-error")
		time.Sleep(50 * time.Millisecond)
		return nil, false
	}
	w.rep.add(w.rep.Statuses, "101")
	_ = c.SetReadDeadline(w.deadline.Add(2 * time.Second))
	return c, true
}

// drain reads until the server closes c, counting error codes and the
// close code.
func (w *worker) drain(c *wstest.Conn) {
	defer c.Close()
	for {
		_, p, err := c.ReadMessage()
		var ce *wstest.CloseError
		switch {
		case errors.As(err, &ce):
			w.rep.add(w.rep.Closes, fmt.Sprint(int(ce.Code)))
			return
		case err != nil:
			w.rep.add(w.rep.Closes, "eof")
			return
		}
		var m struct {
			Type, Code string
		}
		if json.Unmarshal(p, &m) == nil && m.Type == "error" {
			w.rep.add(w.rep.Errors, m.Code)
		}
	}
}

// readStatus reads an HTTP status line from a raw connection.
func (w *worker) readStatus(nc net.Conn) {
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		w.rep.add(w.rep.Closes, "eof")
		return
	}
	var status int
	if _, err := fmt.Sscanf(line, "HTTP/1.1 %d", &status); err == nil {
		w.rep.add(w.rep.Statuses, fmt.Sprint(status))
	}
}

// upgradeRequest is wsproto's client handshake for path from host "x",
// with extra header lines (each without CRLF).
func upgradeRequest(path string, extra ...string) string {
	key := wsproto.NewKey()
	return string(wsproto.AppendRequest(nil, "x", []byte(path), key[:], extra...))
}

func (w *worker) slowloris() {
	nc, err := w.dial()
	if err != nil {
		return
	}
	defer nc.Close()
	req := upgradeRequest("/ws")
	req = req[:len(req)-2] // never the blank line
	for i := 0; i < len(req) && time.Now().Before(w.deadline); i++ {
		if _, err := nc.Write([]byte{req[i]}); err != nil {
			break // the server gave up on us
		}
		time.Sleep(*interval)
	}
	w.readStatus(nc) // 408 once the handshake timeout passes
}

func (w *worker) malformed() {
	if w.rng.IntN(4) == 0 { // a broken HTTP request
		nc, err := w.dial()
		if err != nil {
			return
		}
		defer nc.Close()
		bad := []string{
			"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n",
			"POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			"GET /ws HTTP/1.1\r\nHost x\r\n\r\n",
			"\x00\x01\x02garbage\r\n\r\n",
			strings.Replace(upgradeRequest("/ws"), "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", 1),
		}
		_, _ = io.WriteString(nc, bad[w.rng.IntN(len(bad))])
		w.readStatus(nc)
		return
	}
	c, ok := w.wsDial("/ws")
	if !ok {
		return
	}
	raw := c.NetConn()
	mask := ws.NewMask()
	var frame []byte
	switch w.rng.IntN(6) {
	case 0: // unmasked client frame (RFC 6455 §5.1: close 1002)
		frame = wsproto.AppendFrame(nil, ws.OpText, true, []byte(`{"type":"subscribe"}`))
	case 1: // reserved opcode
		frame = wsproto.AppendMaskedFrame(nil, ws.OpCode(0x3), true, mask, []byte("x"))
	case 2: // text that is not UTF-8 (1007)
		frame = wsproto.AppendMaskedFrame(nil, ws.OpText, true, mask, []byte{0xff, 0xfe, 0xfd})
	case 3: // random bytes
		frame = make([]byte, 64)
		for i := range frame {
			frame[i] = byte(w.rng.Uint32())
		}
	case 4: // fragmented ping
		frame = wsproto.AppendMaskedFrame(nil, ws.OpPing, false, mask, []byte("x"))
	default: // a run of invalid JSON commands: error frames, then 1008
		for range 20 {
			frame = wsproto.AppendMaskedFrame(frame, ws.OpText, true, ws.NewMask(), []byte(`{"type":`))
		}
	}
	_, _ = raw.Write(frame)
	w.drain(c)
}

func (w *worker) oversize() {
	switch w.rng.IntN(3) {
	case 0: // header block over the limit: 431
		nc, err := w.dial()
		if err != nil {
			return
		}
		defer nc.Close()
		_, _ = io.WriteString(nc, upgradeRequest("/ws", "X-Pad: "+strings.Repeat("a", 16<<10)))
		w.readStatus(nc)
	case 1: // a frame declaring 100 MB: 1009 before any payload is buffered
		c, ok := w.wsDial("/ws")
		if !ok {
			return
		}
		hdr := []byte{0x81, 0x80 | 127, 0, 0, 0, 0, 0x05, 0xf5, 0xe1, 0x00, 1, 2, 3, 4}
		_, _ = c.NetConn().Write(hdr)
		w.drain(c)
	default: // publish data over --max-data-size: too_large, repeated: 1008
		c, ok := w.wsDial("/ws")
		if !ok {
			return
		}
		big := []byte(`{"type":"publish","channel":"` + *channel + `","data":"` + strings.Repeat("z", 70<<10) + `"}`)
		go func() {
			for range 20 {
				if writeText(c, big) != nil {
					return
				}
			}
		}()
		w.drain(c)
	}
}

func (w *worker) flood() {
	c, ok := w.wsDial("/ws")
	if !ok {
		return
	}
	pad := strings.Repeat("f", 4000)
	go func() {
		for i := 0; time.Now().Before(w.deadline); i++ {
			ch := *channel
			if i%10 == 9 {
				ch = "stream" // not allowed by the attacker's token: forbidden
			}
			if writeText(c, []byte(`{"type":"publish","channel":"`+ch+`","data":"`+pad+`"}`)) != nil {
				return
			}
		}
		c.Close()
	}()
	w.drain(c)
}

// writeText writes one masked text frame straight to c's socket, from a
// buffer of its own, so a writer goroutine does not share c's buffer with
// the reader (which answers pings). Each frame goes out in one Write.
func writeText(c *wstest.Conn, p []byte) error {
	_, err := c.NetConn().Write(wsproto.AppendMaskedFrame(nil, ws.OpText, true, ws.NewMask(), p))
	return err
}

func (w *worker) noread() {
	nc, err := w.dial()
	if err != nil {
		return
	}
	defer nc.Close()
	_ = nc.(*net.TCPConn).SetReadBuffer(4096)
	path := "/ws?channels=" + *channel
	if *token != "" {
		path += "&token=" + *token
	}
	if _, err := io.WriteString(nc, upgradeRequest(path)); err != nil {
		return
	}
	// Never read: wait until the server gives up (slow consumer) and
	// closes, which the next write notices, or the deadline.
	for time.Now().Before(w.deadline) {
		time.Sleep(200 * time.Millisecond)
		frame := wsproto.AppendMaskedFrame(nil, ws.OpPong, true, ws.NewMask(), nil)
		if _, err := nc.Write(frame); err != nil {
			w.rep.add(w.rep.Closes, "closed-by-server")
			return
		}
	}
}

func (w *worker) churn() {
	c, ok := w.wsDial("/ws?channels=" + *channel)
	if !ok {
		return
	}
	if w.rng.IntN(2) == 0 {
		time.Sleep(time.Duration(w.rng.IntN(20)) * time.Millisecond)
	}
	c.Close()
}

// fdflood holds -sockets idle connections; whenever the server resets or
// times one out, it opens another in its place, until the deadline.
func (w *worker) fdflood() {
	var wg sync.WaitGroup
	for range *sockets {
		nc, err := w.dial()
		if err != nil {
			w.rep.add(w.rep.Closes, "dial-error")
			continue
		}
		wg.Go(func() {
			var b [512]byte
			_, err := nc.Read(b[:]) // a reset, a 408 and close, or the deadline
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
			case err != nil:
				w.rep.add(w.rep.Closes, "reset")
			default:
				w.rep.add(w.rep.Closes, "answered")
			}
			nc.Close()
		})
	}
	wg.Wait()
}

// ackspam subscribes over and over with an id the ack would repeat, as
// fast as the socket takes the frames, and never reads. Even workers use
// a 2.5 KB id (refused: bad_request, which does not repeat it); odd ones
// the longest valid id (64 bytes), whose acks pile up at the server.
func (w *worker) ackspam() {
	nc, err := w.dial()
	if err != nil {
		return
	}
	defer nc.Close()
	_ = nc.(*net.TCPConn).SetReadBuffer(4096)
	path := "/ws"
	if *token != "" {
		path += "?token=" + *token
	}
	if _, err := io.WriteString(nc, upgradeRequest(path)); err != nil {
		return
	}
	id := strings.Repeat("y", 64)
	if w.id%2 == 0 {
		id = strings.Repeat("x", 2500)
	}
	frame := wsproto.AppendMaskedFrame(nil, ws.OpText, true, ws.NewMask(),
		[]byte(`{"type":"subscribe","channel":"`+*channel+`","id":"`+id+`"}`))
	for time.Now().Before(w.deadline) {
		if _, err := nc.Write(frame); err != nil {
			w.rep.add(w.rep.Closes, "closed-by-server")
			return
		}
	}
}

// channels subscribes to fresh channels until the server refuses one.
func (w *worker) channels() {
	c, ok := w.wsDial("/ws")
	if !ok {
		return
	}
	defer c.Close()
	for n := 0; time.Now().Before(w.deadline); n++ {
		name := fmt.Sprintf("%s.%d.%d.%d", *channel, w.id, w.rng.Uint32(), n)
		if err := writeText(c, []byte(`{"type":"subscribe","channel":"`+name+`","id":1}`)); err != nil {
			w.rep.add(w.rep.Closes, "eof")
			return
		}
		_, p, err := c.ReadMessage()
		if err != nil {
			w.rep.add(w.rep.Closes, "eof")
			return
		}
		var m struct{ Type, Code string }
		if json.Unmarshal(p, &m) == nil && m.Type == "error" {
			w.rep.add(w.rep.Errors, m.Code)
			return // full: reconnect (a new connection starts with no subscription)
		}
	}
}
