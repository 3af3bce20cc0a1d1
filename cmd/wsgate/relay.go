package main

import (
	"flag"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/relay"
)

// natsOptions are the NATS settings: the relay's own Config plus the
// embedded server and the client's credentials.
type natsOptions struct {
	relay.NATSConfig
	listen, monitor string // embedded server
	creds, token    string
	user, password  string
	ca, cert, key   string // TLS files
}

func (o *natsOptions) addFlags(fs *flag.FlagSet) {
	fs.Func("nats", "join a cluster through NATS at `URL[,URL...]` (without it and --nats-listen: single node, in-process relay)", func(v string) error {
		o.URLs = append(o.URLs, splitList(v)...)
		return nil
	})
	fs.StringVar(&o.listen, "nats-listen", "", "embed a NATS server on `address` (host:port) for a small cluster; other nodes use --nats nats://address")
	fs.StringVar(&o.monitor, "nats-monitor", "", "serve the embedded NATS server's HTTP monitoring (/varz, /connz, /subsz) on `address`")
	fs.StringVar(&o.Prefix, "nats-prefix", relay.DefaultSubjectPrefix, "NATS subject `prefix`: channel C travels on PREFIX.C")
	fs.IntVar(&o.PublishBuffer, "nats-publish-buffer", relay.DefaultPublishBuffer, "`bytes` of publications held while NATS is unreachable (over: publish_failed)")
	fs.DurationVar(&o.ReplayDelay, "nats-replay-delay", relay.DefaultReplayDelay, "after reconnecting to NATS, wait this long before re-sending publications held during the outage")
	fs.StringVar(&o.creds, "nats-creds", "", "NATS credentials `file` (JWT + nkey)")
	fs.StringVar(&o.token, "nats-token", "", "NATS authentication token")
	fs.StringVar(&o.user, "nats-user", "", "NATS user name (with --nats-password)")
	fs.StringVar(&o.password, "nats-password", "", "NATS password")
	fs.StringVar(&o.ca, "nats-tls-ca", "", "CA `file` to verify NATS servers over TLS")
	fs.StringVar(&o.cert, "nats-tls-cert", "", "client certificate `file` for NATS mutual TLS (with --nats-tls-key)")
	fs.StringVar(&o.key, "nats-tls-key", "", "client key `file` for NATS mutual TLS")
}

// startRelay picks the relay: NATS when --nats or --nats-listen is given
// (starting the embedded server for the latter), else the in-process one.
// stop releases what startRelay started beyond the relay itself.
func startRelay(opts *options, nodeID string, logger *slog.Logger) (r relay.Relay, stop func(), err error) {
	stop = func() {}
	cfg := opts.nats.NATSConfig
	if opts.nats.listen != "" {
		embedded, err := relay.StartEmbeddedNATS(opts.nats.listen, opts.nats.monitor)
		if err != nil {
			return nil, stop, err
		}
		stop = embedded.Shutdown
		logger.Info("embedded NATS listening: point other nodes' --nats here", "url", embedded.ClientURL())
		if len(cfg.URLs) == 0 {
			cfg.URLs = []string{embedded.ClientURL()}
		}
	}
	if len(cfg.URLs) == 0 {
		logger.Info("single node: in-process relay (use --nats or --nats-listen to cluster)")
		return relay.NewLocal(), stop, nil
	}
	cfg.Name = "wsgate-" + nodeID
	cfg.Logger = logger
	if opts.nats.creds != "" {
		cfg.Options = append(cfg.Options, nats.UserCredentials(opts.nats.creds))
	}
	if opts.nats.token != "" {
		cfg.Options = append(cfg.Options, nats.Token(opts.nats.token))
	}
	if opts.nats.user != "" {
		cfg.Options = append(cfg.Options, nats.UserInfo(opts.nats.user, opts.nats.password))
	}
	if opts.nats.ca != "" {
		cfg.Options = append(cfg.Options, nats.RootCAs(opts.nats.ca))
	}
	if opts.nats.cert != "" {
		cfg.Options = append(cfg.Options, nats.ClientCert(opts.nats.cert, opts.nats.key))
	}
	n, err := relay.DialNATS(cfg)
	if err != nil {
		stop()
		return nil, func() {}, err
	}
	logger.Info("relay: NATS", "urls", cfg.URLs, "prefix", cfg.Prefix)
	return n, stop, nil
}
