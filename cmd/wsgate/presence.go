package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/presence"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

// presenceOptions turn on presence for some channels (docs/backend.md).
type presenceOptions struct {
	channels   []string
	nodeTTL    presence.NATSConfig
	natsPrefix string // the relay's channel subject prefix, set by main
}

func (o *presenceOptions) addFlags(fs *flag.FlagSet) {
	listVar(fs, &o.channels, "presence", "comma-separated channel `patterns` that keep presence: who is subscribed, listed by GET /api/presence and announced by join and leave frames (in a cluster: NATS JetStream KV; with --nats-listen, needs --data-dir)")
	fs.DurationVar(&o.nodeTTL.NodeTTL, "presence-node-ttl", presence.DefaultNodeTTL, "a node silent this long is dead: its presence members vanish within it and a third more (heartbeats every third)")
}

// on reports whether any channel keeps presence.
func (o *presenceOptions) on() bool { return len(o.channels) > 0 }

// startPresence builds the presence store into cfg: in memory for a
// single node, on NATS JetStream KV for a cluster. The engine closes it.
func startPresence(cfg *reactor.Config, o *presenceOptions, rel relay.Relay, node string, logger *slog.Logger) error {
	if !o.on() {
		return nil
	}
	var err error
	if cfg.PresenceChannels, err = auth.CompilePatterns(o.channels); err != nil {
		return fmt.Errorf("--presence: %w", err)
	}
	var store presence.Store
	switch r := rel.(type) {
	case *relay.NATS:
		if relay.SubjectsOverlap(o.natsPrefix, presence.EventSubjectPrefix) {
			return fmt.Errorf("--presence: the channel subject prefix %q overlaps presence's %q: clients could forge presence events", o.natsPrefix, presence.EventSubjectPrefix)
		}
		pc := o.nodeTTL
		pc.Node, pc.Logger = node, logger
		n, err := presence.NewNATS(r.Conn(), pc)
		if err != nil {
			return fmt.Errorf("--presence needs NATS JetStream (nats-server -js; with --nats-listen, --data-dir): %w", err)
		}
		store = n
	case *relay.Local:
		store = presence.NewLocal()
	default:
		return errors.New("--presence: unknown relay")
	}
	cfg.Presence = store
	logger.Info("presence on", "channels", o.channels)
	return nil
}
