// Package natstest is NATS for tests, apart from testkit so that packages
// that must never reach NATS (wsproto, bench) can use the rest of the kit.
//
//   - Start(t, opts...) runs a real nats-server in the test's process
//     (nats-server's server package, the one wsgate embeds), the way
//     nats-server's own tests do: on a port the kernel picks, quiet,
//     without signal handlers, ready before it is returned, shut down when
//     the test ends. At(addr) puts it on a testkit.ReserveAddr address, for
//     a server that comes up late or comes back after an outage; Port
//     reads its port.
//   - StartStalled(t, addr) is a fake server behind a dropped network: it
//     completes the handshake and never reads again. SmallSendBuffer is the
//     dialer that makes a client's writes block on it early.
package natstest

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds the wait for a started server to accept clients.
const readyTimeout = 10 * time.Second

// Start runs a nats-server on 127.0.0.1 port -1 (any free port: dial
// ClientURL) until the test ends, after applying opts to its options. It
// fails the test if the server does not accept clients within 10 s. The
// cleanup shuts it down and waits; a test may shut it down earlier (an
// outage) and Start another, At the same address.
func Start(t testing.TB, opts ...func(*server.Options)) *server.Server {
	t.Helper()
	o := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true}
	for _, f := range opts {
		f(o)
	}
	srv, err := server.NewServer(o)
	if err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		t.Fatalf("nats-server on %s:%d did not start within %s", o.Host, o.Port, readyTimeout)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// At makes Start listen on addr ("host:port"): the address of a server
// that went down, or one from testkit.ReserveAddr that clients were told
// before the server started.
func At(addr string) func(*server.Options) {
	return func(o *server.Options) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			panic("natstest.At(" + strconv.Quote(addr) + "): " + err.Error())
		}
		o.Host = host
		o.Port, err = strconv.Atoi(port)
		if err != nil {
			panic("natstest.At(" + strconv.Quote(addr) + "): " + err.Error())
		}
	}
}

// Port is the port the server listens on for clients.
func Port(t testing.TB, srv *server.Server) int {
	t.Helper()
	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("nats-server address %v is not TCP", srv.Addr())
	}
	return addr.Port
}
