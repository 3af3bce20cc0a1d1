package reactor

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// By default every loop accepts on its own socket, all bound to the one
// port Addr reports (port 0 included): connections reach every loop.
func TestEveryLoopAcceptsOnTheSamePort(t *testing.T) {
	e := gateway(t, Config{Loops: 2})
	for i := range 40 {
		c := dialWS(t, e, "/echo")
		if err := c.WriteText([]byte("hello")); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if _, got, err := c.ReadMessage(); err != nil || string(got) != "hello" {
			t.Fatalf("connection %d: echo %q, %v", i, got, err)
		}
	}
	if took := loopsWithMessages(e); took != 2 {
		t.Errorf("%d of 2 loops took connections: a loop's listener is not on %s", took, e.Addr())
	}
}

// loopsWithMessages counts the loops that have read a message (a loop joins
// e.loops when it opens its first connection).
func loopsWithMessages(e *Engine) int {
	n := 0
	for _, l := range *e.loops.Load() {
		if l.stats.messagesIn.Load() > 0 {
			n++
		}
	}
	return n
}

// With ReusePort two engines (as two processes would) share one address,
// and the kernel hands connections to both.
func TestReusePortSharesOneAddress(t *testing.T) {
	first := gateway(t, Config{Loops: 1, ReusePort: true})
	e2, err := New(Config{Listen: first.Addr().String(), Loops: 1, ReusePort: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(); err != nil {
		t.Fatalf("second engine on %s: %v", first.Addr(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e2.Shutdown(ctx)
	})
	var conns []*wstest.Conn
	for range 40 {
		c, err := wstest.Dial("ws://"+first.Addr().String()+"/echo", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	testkit.Eventually(t, waitTimeout, "40 connections", func() bool { return first.Stats().Upgraded+e2.Stats().Upgraded == 40 })
	if first.Stats().Upgraded == 0 || e2.Stats().Upgraded == 0 {
		t.Fatalf("connections %d and %d: the kernel should spread 40 over both", first.Stats().Upgraded, e2.Stats().Upgraded)
	}
	for _, c := range conns {
		c.Close()
	}
}

// A single listener keeps the port to itself (even from an engine that
// would share it), and its loops still share the connections it accepts.
func TestSingleListenerKeepsThePort(t *testing.T) {
	e := gateway(t, Config{Loops: 2, SingleListener: true})
	e2, err := New(Config{Listen: e.Addr().String(), Loops: 1, ReusePort: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e2.Shutdown(ctx)
		t.Fatalf("a second engine bound %s, held by a single listener", e.Addr())
	}
	for range 4 {
		c := dialWS(t, e, "/echo")
		if err := c.WriteText([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	if took := loopsWithMessages(e); took != 2 {
		t.Errorf("%d of 2 loops took connections", took)
	}
}

func TestHoldPort(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", "[::1]:0", ":0"} {
		fd, addr, err := holdPort(listen)
		if err != nil {
			t.Errorf("holdPort(%q): %v", listen, err)
			continue
		}
		host, port, _ := net.SplitHostPort(addr)
		wantHost, _, _ := net.SplitHostPort(listen)
		if fd < 0 || port == "0" || host != wantHost {
			t.Errorf("holdPort(%q) = %d, %q", listen, fd, addr)
		}
		unix.Close(fd)
	}
	if fd, addr, err := holdPort("127.0.0.1:8123"); fd != -1 || addr != "127.0.0.1:8123" || err != nil {
		t.Errorf("holdPort with a fixed port = %d, %q, %v; want it unchanged", fd, addr, err)
	}
	if _, _, err := holdPort("127.0.0.1:99999"); err == nil {
		t.Error("holdPort accepted port 99999")
	}
}

// A node restarted on its predecessor's port starts, although the
// predecessor's closed connections wait in TIME_WAIT on that port.
func TestRestartBindsPastTimeWait(t *testing.T) {
	e := gateway(t, Config{Loops: 2})
	addr := e.Addr().String()
	for range 8 {
		c := dialWS(t, e, "/echo")
		if err := c.WriteText([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadMessage(); err != nil {
			t.Fatal(err)
		}
		// The server closes the TCP connection first (RFC 6455, 7.1.1),
		// so the TIME_WAIT is on its side of the port.
		if err := c.CloseHandshake(); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	testkit.Eventually(t, waitTimeout, "the old node's connections in TIME_WAIT", func() bool { return timeWaits(t, port) > 0 })
	e2, err := New(Config{Listen: addr, Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(); err != nil {
		t.Fatalf("restart on %s with %d connections in TIME_WAIT: %v", addr, timeWaits(t, port), err)
	}
	_ = e2.Shutdown(ctx)
}

// timeWaits counts IPv4 sockets in TIME_WAIT whose local port is port.
// /proc/net/tcp is there on every Linux: its absence fails the test, it is
// not a reason to skip one (wsgate is Linux only).
func timeWaits(t *testing.T, port string) int {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatalf("reading /proc/net/tcp: %v", err)
	}
	p, _ := strconv.Atoi(port)
	local := fmt.Sprintf(":%04X ", p)
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasSuffix(f[1]+" ", local) && f[3] == "06" {
			n++
		}
	}
	return n
}

// The check that nobody listens already probes the family gnet binds: an
// IPv6-only listener on the port does not stop a node on 0.0.0.0.
func TestCheckFreeProbesTheSameFamily(t *testing.T) {
	ln6, port := listenIPv6Only(t)
	defer ln6.Close()
	e, err := New(Config{Listen: "0.0.0.0:" + port, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatalf("a node on 0.0.0.0:%s beside an IPv6-only listener: %v", port, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.Shutdown(ctx)
	for listen, want := range map[string]string{"0.0.0.0:1": "tcp4", "[::]:1": "tcp6", ":1": "tcp", "[::ffff:127.0.0.1]:1": "tcp4"} {
		if got := listenNetwork(listen); got != want {
			t.Errorf("listenNetwork(%q) = %q, want %q", listen, got, want)
		}
	}
}

// listenIPv6Only listens on [::]:P, IPv6 only (Go does so for a wildcard
// tcp6 address), for a port P that is free in both families. P comes from
// below the kernel's ephemeral range (32768 up, by default), where the
// other tests' connections cannot take its IPv4 side in the meantime.
func listenIPv6Only(t *testing.T) (net.Listener, string) {
	t.Helper()
	start := 20000 + os.Getpid()%10000
	for i := range 2000 {
		port := strconv.Itoa(20000 + (start-20000+i)%12000)
		both, err := net.Listen("tcp", ":"+port) // dual-stack: free in both families
		if err != nil {
			continue
		}
		both.Close()
		if ln6, err := net.Listen("tcp6", "[::]:"+port); err == nil {
			return ln6, port
		}
	}
	t.Fatal("no port free in both families below 32000")
	return nil, ""
}
