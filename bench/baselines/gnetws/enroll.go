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

// The enroll mode (--accept enroll) is not a baseline: it answers whether a
// gnet server could accept for itself and survive the accept errors gnet
// v2.9.7 treats as fatal (ENFILE, ENOMEM, ENOBUFS; reactor/doc.go, "Sockets
// count from accept"). Go listeners, one per loop with SO_REUSEPORT like
// gnet's own, accept with net/http's back-off on those errors and hand each
// connection to gnet through Engine.Register, the only way gnet v2.9.7 takes
// a socket it did not accept (a dup, and a hop through its goroutine pool).
// gnet itself listens on a port of its own that nobody dials. bench/accept-ab.sh
// compares the CPU per handshake of both modes.

// enrollAcceptors starts loops acceptors on addr that hand what they accept
// to the engine OnBoot gives s.
func (s *server) enrollAcceptors(addr string, loops int) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		_ = rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
		return err
	}}
	for range loops {
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			log.Fatal(err)
		}
		go s.acceptLoop(ln)
	}
}

func (s *server) acceptLoop(ln net.Listener) {
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
		if _, err := s.eng.Register(gnet.NewNetConnContext(context.Background(), c)); err != nil {
			log.Printf("gnetws: register: %v", err)
			_ = c.Close()
		}
	}
}

func (s *server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	close(s.booted)
	return gnet.None
}
