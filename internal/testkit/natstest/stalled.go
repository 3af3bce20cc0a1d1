package natstest

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

// Stalled is a fake NATS server behind a dropped network: it completes the
// handshake (INFO, then CONNECT and PING answered with PONG), so a client
// counts itself connected, and then never reads from the connection again.
// Its receive buffer is small, so a client that keeps writing fills it and
// its own send buffer within a few dozen KiB and then blocks in write,
// which is what a real stall does after a few MiB. When the network comes
// back, Close and Start a real server At the same address.
type Stalled struct {
	ln         net.Listener
	handshakes atomic.Int64 // connections that reached PONG

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

// SmallBuffer is the socket buffer size the fake and SmallSendBuffer's
// sockets ask for (the kernel doubles it and applies a floor of a few KiB).
const SmallBuffer = 4096

// setBuffer returns a Control function that sets the socket option opt
// (SO_RCVBUF or SO_SNDBUF) to SmallBuffer before bind or connect.
func setBuffer(opt int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, SmallBuffer)
		}); err != nil {
			return err
		}
		return serr
	}
}

// SmallSendBuffer is a dialer (for nats.SetCustomDialer) whose sockets
// have a small send buffer, so that a stalled server blocks the client's
// writes early.
func SmallSendBuffer() *net.Dialer { return &net.Dialer{Control: setBuffer(syscall.SO_SNDBUF)} }

// StartStalled listens on addr ("127.0.0.1:0", or a testkit.ReserveAddr
// address a real server takes over later) until the test ends or Close.
func StartStalled(t testing.TB, addr string) *Stalled {
	t.Helper()
	lc := net.ListenConfig{Control: setBuffer(syscall.SO_RCVBUF)}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("fake NATS: %v", err)
	}
	s := &Stalled{ln: ln}
	s.wg.Go(s.accept)
	t.Cleanup(s.Close)
	return s
}

// URL is the nats:// URL to dial.
func (s *Stalled) URL() string { return "nats://" + s.ln.Addr().String() }

// Addr is the "host:port" the fake listens on.
func (s *Stalled) Addr() string { return s.ln.Addr().String() }

// Handshakes counts the connections that completed the handshake.
func (s *Stalled) Handshakes() int64 { return s.handshakes.Load() }

func (s *Stalled) accept() {
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

// fakeInfo is what a nats-server 2.x says first; max_payload is its
// default.
const fakeInfo = `INFO {"server_id":"FAKE","server_name":"stalled","version":"2.10.0","proto":1,"host":"127.0.0.1","port":4222,"headers":true,"max_payload":1048576}` + "\r\n"

// handshake answers the client's first PING and then stops reading: the
// connection stays open, its buffers fill, nothing more is answered.
func (s *Stalled) handshake(c net.Conn) {
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
// comes back and resets them would: the client sees them fail and
// reconnects. It waits for the fake's goroutines.
func (s *Stalled) Close() {
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
