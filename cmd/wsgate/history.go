package main

import (
	"errors"
	"flag"
	"runtime/debug"

	"github.com/wsgate/wsgate/relay"
)

// historyOptions are the channel-history settings: the relay's
// HistoryConfig plus where the embedded NATS server keeps it.
type historyOptions struct {
	relay.HistoryConfig
	dataDir  string
	policies []namespacePolicy // namespaces.go: each namespace's slow policy, in order
	presence []string          // namespaces.go: the patterns of the namespaces with presence
}

func (o *historyOptions) addFlags(fs *flag.FlagSet) {
	fs.IntVar(&o.Size, "history-size", 0, "keep the last `n` publications of each channel that no [[namespace]] of the config file matches, with offsets and resume (0: no history, at-most-once delivery). In memory on a single node; on JetStream with --nats or --nats-listen")
	fs.DurationVar(&o.TTL, "history-ttl", 0, "drop retained publications older than `duration`, for the channels no [[namespace]] matches (0: kept until --history-size or --history-max-bytes push them out)")
	sizeVar(fs, &o.MaxBytes, "history-max-bytes", int64(relay.DefaultHistoryMaxBytes), "`size` of retained history: in memory, of all of it (the channels published least recently are evicted whole; their epoch changes); on JetStream, of each history stream (its oldest publications go)")
	fs.IntVar(&o.Replicas, "history-replicas", 1, "JetStream replicas of each history stream (`n`, 1 to 5; more than 1 needs a JetStream cluster)")
	fs.Var(orDefault(&o.DedupWindow, relay.DefaultDedupWindow), "history-dedup-window", "a publication repeating an idempotency_key seen within `duration` is not published again")
	fs.StringVar(&o.dataDir, "data-dir", "", "`directory` where the --nats-listen server keeps JetStream history (required with --nats-listen when any channel keeps history)")
}

// check reports history settings that cannot work together.
func (o *historyOptions) check(n *natsOptions) error {
	if err := o.HistoryConfig.Validate(); err != nil {
		return err
	}
	if o.Enabled() && n.listen != "" && o.dataDir == "" {
		return errors.New("history (--history-size or a [[namespace]] history_size) with --nats-listen needs --data-dir: the embedded server keeps history on disk there")
	}
	if o.Enabled() && n.listen != "" && len(n.URLs) == 0 && o.Replicas > 1 {
		return errors.New("--history-replicas above 1 needs a JetStream cluster: the --nats-listen server is a single server")
	}
	return nil
}

// buildVersion names this build in the connected frame: the module
// version when built from a tagged module, else the VCS revision (dirty
// when the tree had changes), else "dev".
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	rev = rev[:min(len(rev), 12)]
	if dirty {
		rev += "-dirty"
	}
	return rev
}
