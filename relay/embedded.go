package relay

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedNATS is a NATS server running inside a wsgate node, so a small
// cluster (two or three nodes) needs nothing else installed: one node runs
// it with --nats-listen and the others point --nats at it. It is a single
// server with no persistence; when that node stops, cross-node delivery
// stops until it is back (each node keeps delivering locally). Past three
// nodes, or when any node must be restartable without a cross-node gap, run
// a real NATS cluster.
type EmbeddedNATS struct {
	srv *server.Server
}

// StartEmbeddedNATS starts a NATS server listening on addr ("host:port";
// port 0 picks a free one) and waits until it accepts clients. A non-empty
// monitorAddr also serves NATS's HTTP monitoring (/varz, /connz, /subsz).
func StartEmbeddedNATS(addr, monitorAddr string) (*EmbeddedNATS, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("relay: embedded NATS address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("relay: embedded NATS port %q: %w", portStr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		Host:                  host,
		Port:                  port,
		NoSigs:                true,
		NoLog:                 true,
		MaxPayload:            server.MAX_PAYLOAD_SIZE,
		WriteDeadline:         10 * time.Second,
		MaxPending:            64 << 20,
		ServerName:            "wsgate-embedded",
		DisableShortFirstPing: true,
	}
	if monitorAddr != "" {
		mhost, mport, err := net.SplitHostPort(monitorAddr)
		if err != nil {
			return nil, fmt.Errorf("relay: embedded NATS monitor address %q: %w", monitorAddr, err)
		}
		if opts.HTTPPort, err = strconv.Atoi(mport); err != nil {
			return nil, fmt.Errorf("relay: embedded NATS monitor port %q: %w", mport, err)
		}
		opts.HTTPHost = mhost
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("relay: embedded NATS: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("relay: embedded NATS on %s did not start", addr)
	}
	return &EmbeddedNATS{srv: srv}, nil
}

// ClientURL is the URL nodes connect to.
func (e *EmbeddedNATS) ClientURL() string { return e.srv.ClientURL() }

// Shutdown stops the server.
func (e *EmbeddedNATS) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
