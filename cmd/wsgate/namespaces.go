package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

// namespaceTable is the config file's array of per-channel-pattern
// settings:
//
//	[[namespace]]
//	name = "chat"           # names its JetStream stream: 1 to 32 of a-z, 0-9, _
//	pattern = "chat.>"      # a channel pattern, as in tokens' permissions
//	history_size = 100      # publications kept per channel (0: no history)
//	history_ttl = "1h"      # optional
//	slow_policy = "drop"    # optional: close, drop or conflate (default --slow-policy)
//	presence = true         # optional: its channels keep presence, as --presence patterns do
//
// The first namespace whose pattern matches a channel decides its
// history; a channel none matches takes --history-size and --history-ttl.
// Every node of a cluster must have the same namespaces.
const namespaceTable = "namespace"

// MaxNamespaces bounds the namespaces: a channel's namespace is found by
// matching the patterns in order on every publish, subscribe and read of
// a node with history, and each namespace with history is a JetStream
// stream.
const MaxNamespaces = 64

// namespaceFile is one [[namespace]] table as written.
type namespaceFile struct {
	Name        string `toml:"name"`
	Pattern     string `toml:"pattern"`
	HistorySize *int   `toml:"history_size"`
	HistoryTTL  string `toml:"history_ttl"`
	SlowPolicy  string `toml:"slow_policy"`
	Presence    bool   `toml:"presence"`
}

// namespacePolicy is a namespace's slow-consumer policy.
type namespacePolicy struct {
	match  func(channel string) bool
	policy reactor.SlowPolicy // "": the default
}

// slowPolicyFor is reactor.Config.SlowPolicyFor for the namespaces: the
// first whose pattern matches a channel decides; nil when none sets a
// policy.
func (o *historyOptions) slowPolicyFor() func(string) reactor.SlowPolicy {
	set := false
	for _, p := range o.policies {
		set = set || p.policy != ""
	}
	if !set {
		return nil
	}
	policies := o.policies
	return func(channel string) reactor.SlowPolicy {
		for _, p := range policies {
			if p.match(channel) {
				return p.policy
			}
		}
		return ""
	}
}

// applyNamespaces decodes the [[namespace]] tables into h.Namespaces,
// reporting every problem.
func applyNamespaces(md *toml.MetaData, prim toml.Primitive, h *historyOptions) error {
	var tables []namespaceFile
	if err := md.PrimitiveDecode(prim, &tables); err != nil {
		return fmt.Errorf("[[%s]]: %w (want an array of tables: [[%s]])", namespaceTable, err, namespaceTable)
	}
	var errs []error
	for _, k := range md.Undecoded() {
		if len(k) > 0 && k[0] == namespaceTable {
			errs = append(errs, fmt.Errorf("[[%s]]: unknown key %q (want name, pattern, history_size, history_ttl, slow_policy, presence)", namespaceTable, strings.Join(k[1:], ".")))
		}
	}
	if len(tables) > MaxNamespaces {
		errs = append(errs, fmt.Errorf("[[%s]]: %d namespaces, at most %d", namespaceTable, len(tables), MaxNamespaces))
	}
	for i, t := range tables {
		what := fmt.Sprintf("[[%s]] %d (%q)", namespaceTable, i+1, t.Name)
		p, err := auth.CompilePattern(t.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
		ns := relay.Namespace{Name: t.Name, Match: p.Match}
		if t.HistorySize == nil {
			errs = append(errs, fmt.Errorf("%s: history_size is required (0 for no history)", what))
		} else {
			ns.Size = *t.HistorySize
		}
		if t.HistoryTTL != "" {
			if ns.TTL, err = time.ParseDuration(t.HistoryTTL); err != nil {
				errs = append(errs, fmt.Errorf("%s: history_ttl: %w", what, err))
			}
		}
		switch p := reactor.SlowPolicy(t.SlowPolicy); p {
		case "", reactor.SlowClose, reactor.SlowDrop, reactor.SlowConflate:
			h.policies = append(h.policies, namespacePolicy{match: ns.Match, policy: p})
		default:
			errs = append(errs, fmt.Errorf("%s: slow_policy %q: want close, drop or conflate", what, t.SlowPolicy))
		}
		if t.Presence {
			h.presence = append(h.presence, t.Pattern)
		}
		h.Namespaces = append(h.Namespaces, ns)
	}
	if len(errs) == 0 {
		// Names, sizes and TTLs are checked once, with the rest of history.
		errs = append(errs, relay.HistoryConfig{Namespaces: h.Namespaces}.Validate())
	}
	return errors.Join(errs...)
}
