//go:build linux

package reactor

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// prepareListen returns the address the loops bind. Every loop binds it
// itself, with SO_REUSEPORT (unless SingleListener): unless sharing is asked
// for, it makes sure no one listens there already, and for port 0 (each
// loop would get a port of its own) it picks one and holds it until release.
func (e *Engine) prepareListen() (listen string, release func(), err error) {
	listen, release = e.cfg.Listen, func() {}
	if e.cfg.SingleListener {
		return listen, release, nil
	}
	if !e.cfg.ReusePort {
		if err := checkFree(listen); err != nil {
			return "", nil, err
		}
	}
	held, addr, err := holdPort(listen)
	if err != nil || held < 0 {
		return listen, release, err
	}
	return addr, func() { unix.Close(held) }, nil
}

// checkFree fails if another socket listens on listen's address and port
// (the loops' SO_REUSEPORT sockets would otherwise join it silently). The
// probe listens with SO_REUSEADDR only, like any Go server, so a
// predecessor's connections in TIME_WAIT do not count.
func checkFree(listen string) error {
	ln, err := net.Listen(listenNetwork(listen), listen)
	if err != nil {
		return err
	}
	return ln.Close()
}

// listenNetwork is the socket family gnet makes for listen
// (pkg/socket.GetTCPSockAddr): IPv4 for an IPv4 address, IPv6 only for an
// IPv6 one, dual-stack for none.
func listenNetwork(listen string) string {
	tcp, err := net.ResolveTCPAddr("tcp", listen)
	if err != nil {
		return "tcp"
	}
	return tcpNetwork(tcp)
}

func tcpNetwork(tcp *net.TCPAddr) string {
	switch {
	case tcp.IP == nil:
		return "tcp"
	case tcp.IP.To4() != nil:
		return "tcp4"
	}
	return "tcp6"
}

// holdPort resolves a listen address whose port is 0 to a free port and
// returns a socket bound to it with SO_REUSEPORT, so that the loops' own
// SO_REUSEPORT sockets can bind the same port while nobody else (of another
// user) can. The socket never listens, so it takes no connections. For a
// fixed port it returns -1 and the address unchanged.
func holdPort(listen string) (fd int, addr string, err error) {
	tcp, err := net.ResolveTCPAddr("tcp", listen)
	if err != nil {
		return -1, "", err
	}
	if tcp.Port != 0 {
		return -1, listen, nil
	}
	// The same socket gnet will make (see listenNetwork).
	family, v6only := unix.AF_INET6, 0
	var sa unix.Sockaddr
	switch tcpNetwork(tcp) {
	case "tcp4":
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Addr: [4]byte(tcp.IP.To4())}
	case "tcp6":
		sa6 := &unix.SockaddrInet6{Addr: [16]byte(tcp.IP.To16())}
		if tcp.Zone != "" { // a link-local address names its interface
			ifi, err := net.InterfaceByName(tcp.Zone)
			if err != nil {
				return -1, "", err
			}
			sa6.ZoneId = uint32(ifi.Index)
		}
		v6only, sa = 1, sa6
	default:
		sa = &unix.SockaddrInet6{}
	}
	fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, "", os.NewSyscallError("socket", err)
	}
	if family == unix.AF_INET6 {
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only)
	}
	if err == nil {
		err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}
	if err == nil {
		err = unix.Bind(fd, sa)
	}
	if err == nil {
		sa, err = unix.Getsockname(fd)
	}
	if err != nil {
		unix.Close(fd)
		return -1, "", os.NewSyscallError("bind", err)
	}
	port := 0
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		port = sa.Port
	case *unix.SockaddrInet6:
		port = sa.Port
	}
	host, _, _ := net.SplitHostPort(listen)
	return fd, net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// listenerAddr reads the bound address from a duplicate of gnet's listener.
func listenerAddr(g gnet.Engine) (net.Addr, error) {
	fd, err := g.Dup()
	if err != nil {
		return nil, fmt.Errorf("reactor: dup listener: %w", err)
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("reactor: getsockname: %w", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}, nil
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}, nil
	}
	return nil, fmt.Errorf("reactor: unexpected listener address %T", sa)
}

// listenBacklog is the accept queue gnet gives its listeners: the kernel's
// net.core.somaxconn, which caps any listen(2) backlog (gnet's
// pkg/socket.maxListenerBacklog), at most 65535 (a uint16 in the kernel).
func listenBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return unix.SOMAXCONN
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return unix.SOMAXCONN
	}
	return min(n, 1<<16-1)
}
