package e2e

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// stalledNATS is a fake NATS server behind a dropped network: it completes
// the handshake (INFO, then CONNECT and PING answered with PONG), so a node
// counts itself connected, and then never reads from the connection again.
// Its receive buffer is small, so a node that keeps publishing fills it and
// its own send buffer and then blocks in write, as on a real stall. (The
// relay's tests have the same fake; test packages cannot share code here.)
type stalledNATS struct {
	ln         net.Listener
	handshakes atomic.Int64 // connections that reached PONG

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

// startStalledNATS listens on addr until the test ends or Close.
func startStalledNATS(t testing.TB, addr string) *stalledNATS {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("fake NATS: %v", err)
	}
	s := &stalledNATS{ln: ln}
	s.wg.Go(s.accept)
	t.Cleanup(s.Close)
	return s
}

func (s *stalledNATS) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Go(func() { s.handshake(c) })
	}
}

const fakeInfo = `INFO {"server_id":"FAKE","server_name":"stalled","version":"2.10.0","proto":1,"host":"127.0.0.1","port":4222,"headers":true,"max_payload":1048576}` + "\r\n"

// handshake answers the client's first PING and then stops reading.
func (s *stalledNATS) handshake(c net.Conn) {
	if _, err := c.Write([]byte(fakeInfo)); err != nil {
		return
	}
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if strings.TrimSpace(line) == "PING" {
			if _, err := c.Write([]byte("PONG\r\n")); err == nil {
				s.handshakes.Add(1)
			}
			return
		}
	}
}

// Close stops listening and closes every connection, as a network that
// comes back and resets them would.
func (s *stalledNATS) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := s.conns
	s.mu.Unlock()
	s.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	s.wg.Wait()
}
