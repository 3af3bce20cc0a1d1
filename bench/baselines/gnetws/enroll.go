package main

import (
	"context"
	"errors"
	"log"
	"net"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// The enroll and client modes (--accept enroll|client) are not baselines:
// they answer whether a gnet server could accept for itself and survive the
// accept errors gnet v2.9.7 treats as fatal (ENFILE, ENOMEM, ENOBUFS;
// reactor/doc.go, "Sockets count from accept"). Go listeners, one per loop
// with SO_REUSEPORT like gnet's own and, like gnet's, no keep-alive, accept
// with net/http's back-off on those errors and hand each connection to gnet
// in one of the two ways gnet v2.9.7 takes a socket it did not accept, each
// a dup of the socket: Engine.Register (enroll; a hop through gnet's
// goroutine pool, gnet itself listening on a port nobody dials) or
// Client.Enroll (client; a gnet Client is an engine with no listener, so
// it has no accept to fail, and it registers without the pool's hop).
// bench/accept-ab.sh compares the CPU per handshake of each with gnet's.

// acceptors starts loops acceptors on addr that hand what they accept to
// adopt once OnBoot has run.
func (s *server) acceptors(addr string, loops int, adopt func(net.Conn) error) {
	lc := net.ListenConfig{KeepAlive: -1, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		_ = rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
		return err
	}}
	for range loops {
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			log.Fatal(err)
		}
		go s.acceptLoop(ln, adopt)
	}
}

func (s *server) acceptLoop(ln net.Listener, adopt func(net.Conn) error) {
	<-s.booted
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
				errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				log.Printf("gnetws: accept: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			log.Fatal(err)
		}
		backoff = 0
		if err := adopt(c); err != nil {
			log.Printf("gnetws: adopting a connection: %v", err)
			_ = c.Close()
		}
	}
}

// enroll hands c to the engine OnBoot gave s.
func (s *server) enroll(c net.Conn) error {
	_, err := s.eng.Register(gnet.NewNetConnContext(context.Background(), c))
	return err
}

// serveClient runs the client mode: a gnet Client with opts holds every
// connection, and never returns.
func (s *server) serveClient(addr string, loops int, opts []gnet.Option) {
	cli, err := gnet.NewClient(s, opts...)
	if err != nil {
		log.Fatal(err)
	}
	if err := cli.Start(); err != nil { // runs OnBoot
		log.Fatal(err)
	}
	s.acceptors(addr, loops, func(c net.Conn) error {
		_, err := cli.Enroll(c)
		return err
	})
	select {}
}

func (s *server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	close(s.booted)
	return gnet.None
}
