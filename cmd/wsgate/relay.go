package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/relay"
)

// natsOptions are the NATS settings: the relay's own Config plus the
// embedded server and the client's credentials.
type natsOptions struct {
	relay.NATSConfig
	listen, monitor string // embedded server
	jetStream       bool   // the embedded server runs JetStream for presence, history or not
	maxConns        int    // embedded server; 0: relay.DefaultEmbeddedMaxConns
	creds, token    string
	user, password  string
	ca, cert, key   string // TLS files
}

func (o *natsOptions) addFlags(fs *flag.FlagSet) {
	listVar(fs, &o.URLs, "nats", "join a cluster through NATS at `URL[,URL...]`, the flag repeatable (without it and --nats-listen: single node, in-process relay)").accumulate = true
	fs.BoolVar(&o.Required, "nats-required", false, "refuse to start while NATS is unreachable (default: start, deliver locally, report degraded and join NATS when it appears)")
	fs.StringVar(&o.listen, "nats-listen", "", "embed a NATS server on `address` (host:port) for a small cluster; other nodes use --nats nats://address. Beyond loopback it needs --nats-token, --nats-user/--nats-password or --nats-tls-ca")
	fs.StringVar(&o.monitor, "nats-monitor", "", "serve the embedded NATS server's HTTP monitoring (/varz, /connz, /subsz; no authentication) on `address`; \":8222\" binds 127.0.0.1")
	fs.Var(orDefault(&o.maxConns, relay.DefaultEmbeddedMaxConns), "nats-max-conns", "the embedded NATS server accepts at most `n` client connections (the node reserves as many file descriptors)")
	fs.StringVar(&o.Prefix, "nats-prefix", relay.DefaultSubjectPrefix, "NATS subject `prefix`: channel C travels on PREFIX.C")
	sizeVar(fs, &o.PublishBuffer, "nats-publish-buffer", relay.DefaultPublishBuffer, "`size` of the publications waiting for NATS, queued or held while it is unreachable, each charged its subject, data and "+strconv.Itoa(relay.PublicationOverhead)+" bytes (over: publish_failed)")
	fs.Var(orDefault(&o.PublishBufferMsgs, relay.DefaultPublishBufferMsgs), "nats-publish-buffer-msgs", "at most `n` publications waiting for NATS, queued or held while it is unreachable (over: publish_failed)")
	fs.DurationVar(&o.ReplayDelay, "nats-replay-delay", relay.DefaultReplayDelay, "after reconnecting to NATS, wait this long before re-sending publications held during the outage")
	fs.Var(orDefault(&o.CloseGrace, relay.DefaultCloseGrace), "nats-close-grace", "on shutdown, `duration` to send the publications still waiting for NATS (the rest are logged and counted as lost)")
	fs.Var(orDefault(&o.WriteTimeout, relay.DefaultWriteTimeout), "nats-write-timeout", "a write to NATS blocked for `duration` marks the connection dead (reconnect)")
	fs.Var(orDefault(&o.PingInterval, relay.DefaultPingInterval), "nats-ping-interval", "ping NATS every `duration`; two unanswered pings mark the connection dead")
	fs.StringVar(&o.creds, "nats-creds", "", "NATS credentials `file` (JWT + nkey); not with --nats-listen")
	fs.StringVar(&o.token, "nats-token", "", "NATS authentication token (also required by the --nats-listen server)")
	fs.StringVar(&o.user, "nats-user", "", "NATS user name, with --nats-password (also required by the --nats-listen server)")
	fs.StringVar(&o.password, "nats-password", "", "NATS password")
	fs.StringVar(&o.ca, "nats-tls-ca", "", "CA `file` to verify NATS servers over TLS; with --nats-listen, the embedded server also requires client certificates it signed")
	fs.StringVar(&o.cert, "nats-tls-cert", "", "certificate `file` for NATS TLS (with --nats-tls-key): the client's for mutual TLS, and the --nats-listen server's")
	fs.StringVar(&o.key, "nats-tls-key", "", "key `file` for --nats-tls-cert")
}

// reservedFDs is the number of file descriptors the NATS side of this node
// may hold, for the node's descriptor budget: the embedded server's
// listener, monitoring listener and up to --nats-max-conns clients, and
// this node's own connection to NATS.
func (o *natsOptions) reservedFDs() int {
	n := 0
	if len(o.URLs) > 0 || o.listen != "" {
		n++ // the node's client connection
	}
	if o.listen != "" {
		n += 1 + cmp.Or(o.maxConns, relay.DefaultEmbeddedMaxConns)
		if o.monitor != "" {
			n++ // plus its HTTP connections, which nats-server does not cap
		}
	}
	return n
}

// startRelay picks the relay: NATS when --nats or --nats-listen is given
// (starting the embedded server for the latter), else the in-process one.
// stop releases what startRelay started beyond the relay itself.
func startRelay(opts *options, nodeID string, logger *slog.Logger) (r relay.Relay, stop func(), err error) {
	stop = func() {}
	o := &opts.nats
	cfg := o.NATSConfig
	if err := opts.hist.check(o); err != nil {
		return nil, stop, err
	}
	cfg.History = opts.hist.HistoryConfig
	if o.listen != "" {
		embedded, err := startEmbedded(o, &opts.hist, logger)
		if err != nil {
			return nil, stop, err
		}
		stop = embedded.Shutdown
		if len(cfg.URLs) == 0 {
			cfg.URLs = []string{embedded.ClientURL()}
		}
	}
	if len(cfg.URLs) == 0 {
		logger.Info("single node: in-process relay (use --nats or --nats-listen to cluster)", "history", cfg.History.Enabled())
		return relay.NewLocalHistory(cfg.History), stop, nil
	}
	cfg.Name = "wsgate-" + nodeID
	cfg.Logger = logger
	cfg.Options = append(cfg.Options, o.clientOptions()...)
	n, err := relay.DialNATS(cfg)
	if err != nil {
		stop()
		return nil, func() {}, err
	}
	logger.Info("relay: NATS", "urls", cfg.URLs, "prefix", cfg.Prefix, "connected", n.Status() == nil)
	return n, stop, nil
}

// clientOptions are the node's own credentials and TLS settings for NATS.
func (o *natsOptions) clientOptions() []nats.Option {
	var out []nats.Option
	if o.creds != "" {
		out = append(out, nats.UserCredentials(o.creds))
	}
	if o.token != "" {
		out = append(out, nats.Token(o.token))
	}
	if o.user != "" {
		out = append(out, nats.UserInfo(o.user, o.password))
	}
	if o.ca != "" {
		out = append(out, nats.RootCAs(o.ca))
	}
	if o.cert != "" {
		out = append(out, nats.ClientCert(o.cert, o.key))
	}
	return out
}

// startEmbedded starts the --nats-listen server, locked with the same
// credentials and TLS files the node's client uses.
func startEmbedded(o *natsOptions, h *historyOptions, logger *slog.Logger) (*relay.EmbeddedNATS, error) {
	if o.creds != "" {
		// A creds file is a user JWT for an operator-mode NATS, whose
		// accounts the embedded server does not have: it could not verify
		// it, and accepting its nkey alone would ignore its permissions.
		return nil, errors.New("--nats-creds cannot secure the embedded server (--nats-listen): use --nats-token or --nats-user/--nats-password, or run nats-server with your operator and point --nats at it")
	}
	e, err := relay.StartEmbeddedNATS(relay.EmbeddedConfig{
		Listen: o.listen, Monitor: o.monitor,
		Token: o.token, User: o.user, Password: o.password,
		TLSCert: o.cert, TLSKey: o.key, TLSCA: o.ca,
		MaxConns:  o.maxConns,
		JetStream: h.Enabled() || o.jetStream, StoreDir: h.dataDir,
	})
	if errors.Is(err, relay.ErrEmbeddedOpen) {
		// Validate reports every problem: keep the others, and say how to
		// lock the server in flag terms.
		return nil, fmt.Errorf("%w\n--nats-listen %s is reachable beyond this host: add --nats-token, or --nats-user and --nats-password, or --nats-tls-cert/--nats-tls-key with --nats-tls-ca, so that only your nodes can use it (or listen on 127.0.0.1)", err, o.listen)
	}
	if err != nil {
		return nil, err
	}
	auth := "none (loopback only)"
	switch {
	case o.token != "":
		auth = "token"
	case o.user != "":
		auth = "user and password"
	case o.ca != "":
		auth = "client certificate"
	}
	logger.Info("embedded NATS listening: point other nodes' --nats here", "url", e.ClientURL(), "auth", auth, "tls", o.cert != "")
	if addr := e.MonitorAddr(); addr != "" {
		logger.Info("embedded NATS monitoring listening (no authentication: it lists connections and subscriptions)", "addr", addr)
		if host, _, _ := net.SplitHostPort(addr); !isLoopbackHost(host) {
			// nats-server does not cap the monitor's HTTP connections, so
			// they are outside the node's descriptor budget.
			logger.Warn("the embedded NATS monitor is reachable beyond this host: anyone who reaches it sees every connection and subscription, and its connections are not capped (they can exhaust the node's open files); keep it on loopback or behind a firewall", "addr", addr)
		}
	}
	return e, nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
