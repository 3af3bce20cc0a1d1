// Command gnetws is the floor baseline: bare gnet/v2 with gobwas/ws for
// the upgrade and frame headers, and no protocol state beyond the
// subscriber lists. No timers, pings, limits or JSON commands: what wsgate
// adds on top of this is what its numbers pay for.
//
// A publication is framed once and queued to every loop that has
// subscribers (one Execute per batch); the loop writes all frames queued for
// one connection in one writev.
//
// The engine is configured as gnet's author intends a multi-core Linux
// server to run: WithMulticore and one event loop per P
// (WithNumEventLoop(GOMAXPROCS)), and WithReusePort(true), with which gnet
// (engine_unix.go, runEventLoops) binds one SO_REUSEPORT listener per event
// loop and every loop accepts its own connections, instead of one main
// reactor accepting for all loops; gnet's createListeners (gnet.go) explains
// that Linux balances incoming connections across such listeners, and turns
// the option off only where the kernel does not (Darwin, older BSDs). wsgate
// accepts the same way, a listener per loop. WithLockOSThread, which gnet's
// echo benchmark server (github.com/gnet-io/gnet-benchmarks,
// echo-gnet-server/main.go) adds, is left off: with client and server
// sharing two cores, pinning loops to threads measures the scheduler rather
// than the design.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log"
	"runtime"
	"sync"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/bench/baselines/internal/common"
)

// conn is one connection's state, touched only by its loop.
type conn struct {
	gc       gnet.Conn
	loop     *loop
	upgraded bool
	echo     bool
	channels []string
	pos      []int    // index in loop.subs[channels[i]]
	pending  [][]byte // frames queued in the current batch
}

// loop is one gnet loop's subscriber lists and inbox.
type loop struct {
	el      gnet.EventLoop
	subs    map[string][]*conn
	reader  bytes.Reader
	out     []byte
	touched []*conn

	mu     sync.Mutex
	inbox  []publication
	posted bool
	drain  gnet.Runnable
}

type publication struct {
	channel string
	frame   []byte
}

type server struct {
	gnet.BuiltinEventEngine
	mu    sync.Mutex
	loops map[gnet.EventLoop]*loop

	eng    gnet.Engine   // for the enroll and client modes (enroll.go)
	booted chan struct{} // closed by OnBoot
}

func (s *server) loopFor(el gnet.EventLoop) *loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.loops[el]
	if l == nil {
		l = &loop{el: el, subs: make(map[string][]*conn)}
		l.drain = gnet.RunnableFunc(func(context.Context) error { l.drainInbox(); return nil })
		s.loops[el] = l
	}
	return l
}

func (s *server) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	gc.SetContext(&conn{gc: gc, loop: s.loopFor(gc.EventLoop())})
	return nil, gnet.None
}

func (s *server) OnClose(gc gnet.Conn, _ error) gnet.Action {
	if c, ok := gc.Context().(*conn); ok {
		c.loop.unsubscribe(c)
	}
	return gnet.None
}

func (s *server) OnTraffic(gc gnet.Conn) gnet.Action {
	c := gc.Context().(*conn)
	if !c.upgraded {
		return c.upgrade()
	}
	return c.readFrames()
}

// upgrade hands gobwas exactly the request bytes, up to the blank line.
func (c *conn) upgrade() gnet.Action {
	buf, _ := c.gc.Peek(-1)
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(buf) > 8<<10 {
			return gnet.Close
		}
		return gnet.None
	}
	var out bytes.Buffer
	u := ws.Upgrader{OnRequest: func(uri []byte) error {
		path, query, _ := bytes.Cut(uri, []byte("?"))
		switch string(path) {
		case "/echo":
			c.echo = true
		case "/ws":
			c.channels = common.Channels(string(query))
		default:
			return ws.RejectConnectionError(ws.RejectionStatus(404))
		}
		return nil
	}}
	_, err := u.Upgrade(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(buf[:end+4]), &out})
	_, _ = c.gc.Discard(end + 4)
	_, _ = c.gc.Write(out.Bytes())
	if err != nil {
		return gnet.Close
	}
	c.upgraded = true
	c.loop.subscribe(c)
	return c.readFrames()
}

// readFrames handles every complete frame in the inbound buffer.
func (c *conn) readFrames() gnet.Action {
	l := c.loop
	for {
		buf, _ := c.gc.Peek(-1)
		if len(buf) < 2 {
			return gnet.None
		}
		l.reader.Reset(buf)
		h, err := ws.ReadHeader(&l.reader)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return gnet.None
		}
		if err != nil {
			return gnet.Close
		}
		hdr := len(buf) - l.reader.Len()
		if int64(len(buf)-hdr) < h.Length {
			return gnet.None
		}
		payload := buf[hdr : hdr+int(h.Length)]
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		l.out = l.out[:0]
		switch {
		case h.OpCode == ws.OpClose:
			l.out = appendFrame(l.out, ws.OpClose, payload[:min(len(payload), 2)])
			_, _ = c.gc.Write(l.out)
			return gnet.Close
		case h.OpCode == ws.OpPing:
			l.out = appendFrame(l.out, ws.OpPong, payload)
		case c.echo && h.OpCode.IsData():
			l.out = appendFrame(l.out, h.OpCode, payload)
		}
		if len(l.out) > 0 {
			_, _ = c.gc.Write(l.out)
		}
		_, _ = c.gc.Discard(hdr + int(h.Length))
	}
}

func appendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	var hb bytes.Buffer
	_ = ws.WriteHeader(&hb, ws.Header{Fin: true, OpCode: op, Length: int64(len(payload))})
	dst = append(dst, hb.Bytes()...)
	return append(dst, payload...)
}

func (l *loop) subscribe(c *conn) {
	for _, ch := range c.channels {
		c.pos = append(c.pos, len(l.subs[ch]))
		l.subs[ch] = append(l.subs[ch], c)
	}
}

func (l *loop) unsubscribe(c *conn) {
	for i, ch := range c.channels {
		list := l.subs[ch]
		last := list[len(list)-1]
		list[c.pos[i]] = last
		for j, lch := range last.channels {
			if lch == ch {
				last.pos[j] = c.pos[i]
			}
		}
		list[len(list)-1] = nil
		if list = list[:len(list)-1]; len(list) == 0 {
			delete(l.subs, ch)
		} else {
			l.subs[ch] = list
		}
	}
	c.channels, c.pos = nil, nil
}

// publish queues the frame on every loop; the first message of a batch
// wakes the loop.
func (s *server) publish(channel string, envelope []byte) int {
	frame := appendFrame(nil, ws.OpText, envelope)
	s.mu.Lock()
	loops := make([]*loop, 0, len(s.loops))
	for _, l := range s.loops {
		loops = append(loops, l)
	}
	s.mu.Unlock()
	for _, l := range loops {
		l.mu.Lock()
		l.inbox = append(l.inbox, publication{channel, frame})
		wake := !l.posted
		l.posted = true
		l.mu.Unlock()
		if wake {
			_ = l.el.Execute(context.Background(), l.drain)
		}
	}
	return len(loops)
}

// drainInbox writes a batch: every frame for one connection in one writev.
func (l *loop) drainInbox() {
	l.mu.Lock()
	batch := l.inbox
	l.inbox, l.posted = nil, false
	l.mu.Unlock()
	for _, p := range batch {
		for _, c := range l.subs[p.channel] {
			if len(c.pending) == 0 {
				l.touched = append(l.touched, c)
			}
			c.pending = append(c.pending, p.frame)
		}
	}
	for i, c := range l.touched {
		if len(c.pending) == 1 {
			_, _ = c.gc.Write(c.pending[0])
		} else {
			_, _ = c.gc.Writev(c.pending)
		}
		clear(c.pending)
		c.pending = c.pending[:0]
		l.touched[i] = nil
	}
	l.touched = l.touched[:0]
}

func main() {
	var accept string
	f := common.ParseFlags("gnetws", func(fs *flag.FlagSet) {
		fs.StringVar(&accept, "accept", "gnet", "who accepts: gnet (the baseline), or Go listeners handing connections to gnet's Engine.Register (enroll) or to a gnet Client (client); see enroll.go")
	})
	s := &server{loops: make(map[gnet.EventLoop]*loop), booted: make(chan struct{})}
	common.ServeAdmin(f.AdminListen, s.publish)
	log.Printf("gnetws: ws on %s, admin on %s, accept %s", f.Listen, f.AdminListen, accept)
	opts := []gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(runtime.GOMAXPROCS(0)),
		gnet.WithReusePort(true), // a listener per loop, balanced by the kernel
		gnet.WithReuseAddr(true), // bind past the previous server's TIME_WAIT sockets, as any restartable server does
	}
	listen := f.Listen
	switch accept {
	case "gnet":
	case "enroll":
		s.acceptors(f.Listen, runtime.GOMAXPROCS(0), s.enroll)
		listen = "127.0.0.1:0"
		// Register picks a loop by the balancing algorithm; gnet's doc asks
		// for one other than RoundRobin when it is called from outside.
		opts = append(opts, gnet.WithLoadBalancing(gnet.LeastConnections))
	case "client":
		s.serveClient(f.Listen, runtime.GOMAXPROCS(0), opts)
	default:
		log.Fatalf("gnetws: --accept %q: want gnet, enroll or client", accept)
	}
	log.Fatal(gnet.Run(s, "tcp://"+listen, opts...))
}
