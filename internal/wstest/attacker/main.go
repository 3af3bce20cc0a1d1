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
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
