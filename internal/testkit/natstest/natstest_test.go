package natstest_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/natstest"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// info dials addr and reads the server's first line, NATS's INFO.
func info(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read INFO from %s: %v", addr, err)
	}
	return line
}

// TestStartRestartAt: a server on a port of the kernel's answers at once;
// after an outage a new one comes back at a reserved address, and the
// leak check finds nothing left of either.
func TestStartRestartAt(t *testing.T) {
	srv := natstest.Start(t)
	if line := info(t, strings.TrimPrefix(srv.ClientURL(), "nats://")); !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("first line %q, want INFO", line)
	}
	addr := testkit.ReserveAddr(t)
	first := natstest.Start(t, natstest.At(addr))
	if got := srv.Addr().String(); got == addr {
		t.Fatalf("the :-1 server took the reserved %s", addr)
	}
	port := natstest.Port(t, first)
	first.Shutdown()
	first.WaitForShutdown()
	second := natstest.Start(t, natstest.At(addr))
	if got := natstest.Port(t, second); got != port {
		t.Errorf("restarted on port %d, want %d", got, port)
	}
	if line := info(t, addr); !strings.HasPrefix(line, "INFO ") {
		t.Errorf("restarted server's first line %q", line)
	}
}
