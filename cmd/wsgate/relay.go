package main

import (
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/relay"
)

// startRelay picks the relay: NATS when --nats or --nats-listen is given
// (starting the embedded server for the latter), else the in-process one.
// stop releases what startRelay started beyond the relay itself.
func startRelay(opts *options, nodeID string, logger *slog.Logger) (r relay.Relay, stop func(), err error) {
	stop = func() {}
	cfg := opts.nats
	if opts.natsListen != "" {
		embedded, err := relay.StartEmbeddedNATS(opts.natsListen, opts.natsMonitor)
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
	if opts.natsCreds != "" {
		cfg.Options = append(cfg.Options, nats.UserCredentials(opts.natsCreds))
	}
	if opts.natsToken != "" {
		cfg.Options = append(cfg.Options, nats.Token(opts.natsToken))
	}
	if opts.natsUser != "" {
		cfg.Options = append(cfg.Options, nats.UserInfo(opts.natsUser, opts.natsPassword))
	}
	if opts.natsCA != "" {
		cfg.Options = append(cfg.Options, nats.RootCAs(opts.natsCA))
	}
	if opts.natsCert != "" {
		cfg.Options = append(cfg.Options, nats.ClientCert(opts.natsCert, opts.natsKey))
	}
	n, err := relay.DialNATS(cfg)
	if err != nil {
		stop()
		return nil, func() {}, err
	}
	logger.Info("relay: NATS", "urls", cfg.URLs, "prefix", cfg.Prefix)
	return n, stop, nil
}
