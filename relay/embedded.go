package relay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultEmbeddedMaxConns is EmbeddedConfig.MaxConns's default: room for a
// small cluster's nodes and a few tools, and the number of file descriptors
// a node reserves for the embedded server.
const DefaultEmbeddedMaxConns = 256

// EmbeddedConfig configures the embedded NATS server. Authentication (a
// token, a user and password, or client certificates) and TLS are those
// of the cluster's nodes, which connect to it with the same settings.
type EmbeddedConfig struct {
	// Listen is the client address, "host:port" (port 0 picks a free one).
	// A host other than a loopback address needs authentication: Token,
	// User and Password, or TLSCA.
	Listen string
	// Monitor, if set, serves NATS's HTTP monitoring (/varz, /connz,
	// /subsz) on "host:port". With no host (":8222") it binds 127.0.0.1:
	// monitoring has no authentication and lists every connection and
	// subscription.
	Monitor string
	// Token is required of every client (CONNECT auth_token). Exclusive
	// with User.
	Token string
	// User and Password are required of every client.
	User, Password string
	// TLSCert and TLSKey are the server's certificate and key: clients
	// must connect with TLS.
	TLSCert, TLSKey string
	// TLSCA, with TLSCert, makes the server require a client certificate
	// signed by this CA: that alone authenticates a client.
	TLSCA string
	// MaxConns caps client connections; more are refused by the server.
	// Default DefaultEmbeddedMaxConns.
	MaxConns int
	// JetStream runs JetStream (channel history) with its file store in
	// StoreDir, which it requires.
	JetStream bool
	StoreDir  string
}

// ErrEmbeddedOpen is returned by StartEmbeddedNATS for a listen address
// reachable beyond this host with no authentication: anyone reaching it
// could read every channel (SUB wsgate.ch.>) and publish into any of them,
// bypassing the gateway's permissions.
var ErrEmbeddedOpen = errors.New("relay: embedded NATS listens beyond loopback without authentication")

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

// StartEmbeddedNATS starts a NATS server as cfg says and waits until it
// accepts clients. cfg is checked by Validate, every problem at once.
func StartEmbeddedNATS(cfg EmbeddedConfig) (*EmbeddedNATS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	opts, err := cfg.serverOptions()
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("relay: embedded NATS: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("relay: embedded NATS on %s did not start", cfg.Listen)
	}
	return &EmbeddedNATS{srv: srv}, nil
}

// Validate reports every problem with cfg at once: addresses, the
// credentials and TLS files that go together, and a listen address
// reachable beyond this host without authentication (ErrEmbeddedOpen).
func (cfg EmbeddedConfig) Validate() error {
	var errs []error
	host, _, err := splitPort(cfg.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("relay: embedded NATS address %q: %w", cfg.Listen, err))
	}
	if cfg.Monitor != "" {
		if _, _, err := splitPort(cfg.Monitor); err != nil {
			errs = append(errs, fmt.Errorf("relay: embedded NATS monitor address %q: %w", cfg.Monitor, err))
		}
	}
	if cfg.JetStream && cfg.StoreDir == "" {
		errs = append(errs, errors.New("relay: embedded NATS: JetStream needs a store directory"))
	}
	if cfg.Token != "" && cfg.User != "" {
		errs = append(errs, errors.New("relay: embedded NATS: a token or a user, not both"))
	}
	if (cfg.User == "") != (cfg.Password == "") {
		errs = append(errs, errors.New("relay: embedded NATS: a user needs a password, and a password a user"))
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		errs = append(errs, errors.New("relay: embedded NATS: TLS needs both a certificate and its key"))
	}
	if cfg.TLSCA != "" && cfg.TLSCert == "" {
		errs = append(errs, errors.New("relay: embedded NATS: verifying client certificates needs a server certificate and key"))
	}
	if cfg.MaxConns < 0 {
		errs = append(errs, fmt.Errorf("relay: embedded NATS: max conns must not be negative, got %d", cfg.MaxConns))
	}
	authenticated := cfg.Token != "" || cfg.User != "" || cfg.TLSCA != ""
	if err == nil && !authenticated && !isLoopback(host) {
		errs = append(errs, fmt.Errorf("%w (%s)", ErrEmbeddedOpen, cfg.Listen))
	}
	return errors.Join(errs...)
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg EmbeddedConfig) withDefaults() EmbeddedConfig {
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultEmbeddedMaxConns
	}
	return cfg
}

// serverOptions turns a valid cfg, defaults applied, into nats-server's
// options.
func (cfg EmbeddedConfig) serverOptions() (*server.Options, error) {
	host, port, _ := splitPort(cfg.Listen) // checked by Validate
	opts := &server.Options{
		Host:                  host,
		Port:                  port,
		NoSigs:                true,
		NoLog:                 true,
		MaxConn:               cfg.MaxConns,
		MaxPayload:            server.MAX_PAYLOAD_SIZE,
		WriteDeadline:         10 * time.Second,
		MaxPending:            64 << 20,
		ServerName:            "wsgate-embedded",
		DisableShortFirstPing: true,
		Authorization:         cfg.Token,
		Username:              cfg.User,
		Password:              cfg.Password,
		JetStream:             cfg.JetStream,
		StoreDir:              cfg.StoreDir,
	}
	if cfg.TLSCert != "" {
		tc := &server.TLSConfigOpts{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CaFile: cfg.TLSCA, Verify: cfg.TLSCA != ""}
		var err error
		if opts.TLSConfig, err = server.GenTLSConfig(tc); err != nil {
			return nil, fmt.Errorf("relay: embedded NATS TLS: %w", err)
		}
		opts.TLS, opts.TLSVerify = true, tc.Verify
		opts.TLSTimeout = 2 // seconds, nats-server's default
	}
	if cfg.Monitor != "" {
		mhost, mport, _ := splitPort(cfg.Monitor) // checked by Validate
		if mhost == "" {
			mhost = "127.0.0.1"
		}
		opts.HTTPHost, opts.HTTPPort = mhost, mport
	}
	return opts, nil
}

// splitPort splits "host:port"; port 0 becomes nats-server's "any free
// port" (-1).
func splitPort(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", portStr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// isLoopback reports whether host can only be reached from this machine:
// "localhost" or a loopback IP. An empty host or a wildcard listens on
// every interface; any other name is taken as reachable.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ClientURL is the URL nodes connect to ("tls://" when it requires TLS).
func (e *EmbeddedNATS) ClientURL() string { return e.srv.ClientURL() }

// MonitorAddr is where monitoring listens, or "" when it is off.
func (e *EmbeddedNATS) MonitorAddr() string {
	if a := e.srv.MonitorAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Shutdown stops the server.
func (e *EmbeddedNATS) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
