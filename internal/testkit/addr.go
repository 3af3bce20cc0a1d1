package testkit

import (
	"fmt"
	"net"
	"syscall"
	"testing"
)

// Listen returns a TCP listener on 127.0.0.1:0, closed when the test ends.
// The kernel picks the port: read it from Addr.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.1:0: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// ReserveAddr returns "127.0.0.1:port" for a port the kernel picked and
// that stays reserved until the test ends: a socket with SO_REUSEADDR is
// bound to it and never listens. Meanwhile connections to it are refused
// (as to a server that is down), no other bind to :0 and no outgoing
// connection gets the port, and a server with SO_REUSEADDR (every Go
// listener, nats-server, wsgate's) can listen on it, stop, and listen on it
// again: Linux lets SO_REUSEADDR sockets share a port as long as at most one
// of them listens.
//
// Use it only where :0 cannot serve: a server that must be named before it
// runs (clients started while it is down) or that restarts on its address.
func ReserveAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("reserve a port: socket: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		t.Fatalf("reserve a port: SO_REUSEADDR: %v", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("reserve a port: bind 127.0.0.1:0: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("reserve a port: getsockname: %v", err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}
