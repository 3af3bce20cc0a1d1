package presence

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of NATSConfig.
const (
	DefaultBucket      = "wsgate_presence"
	DefaultNodesBucket = "wsgate_nodes"
	DefaultNodeTTL     = 9 * time.Second
	DefaultReplicas    = 1
	// MinNodeTTL is the shortest NodeTTL: JetStream's delete markers, which
	// tell every node that a heartbeat expired, live at least a second.
	MinNodeTTL = time.Second
)

// NATSConfig configures the NATS store. The zero value plus Node is valid:
// zero fields take their defaults (WithDefaults), and Validate reports
// every problem at once; NewNATS calls both. Every node of a cluster must
// use the same buckets, NodeTTL and Replicas (the last node to start sets
// the buckets' configuration).
type NATSConfig struct {
	// Bucket is the KV bucket of members. Default "wsgate_presence".
	Bucket string
	// NodesBucket is the KV bucket of node heartbeats. Default "wsgate_nodes".
	NodesBucket string
	// Node is this node's ID, 1-64 bytes of [A-Za-z0-9_-]; every Member
	// joined through this store must have it as Node. Required.
	Node string
	// NodeTTL is how long a node may stay silent before it counts as dead:
	// its heartbeat key expires (the nodes bucket's MaxAge) and its members
	// are removed. Heartbeats go every NodeTTL/3. At least 1s; default 9s.
	NodeTTL time.Duration
	// Replicas of both buckets (1..5, at most the JetStream servers).
	// Default 1.
	Replicas int
	// QueueSize bounds the Join and Leave writes waiting for NATS; past it
	// they are dropped, counted (Stats.Dropped), and repaired once NATS
	// takes writes again. Default 65,536.
	QueueSize int
	// Logger receives state changes (NATS lost and back, a node declared
	// dead, this node's members restored). Default slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem with cfg at once. Zero fields are fine
// (they take their defaults); negative ones are not.
func (cfg NATSConfig) Validate() error {
	var errs []error
	if !validNode(cfg.Node) {
		errs = append(errs, fmt.Errorf("presence: node ID %q: want 1-64 bytes of [A-Za-z0-9_-]", cfg.Node))
	}
	for _, b := range []struct{ name, bucket string }{
		{"bucket", cfg.Bucket},
		{"nodes bucket", cfg.NodesBucket},
	} {
		if b.bucket != "" && !validNode(b.bucket) {
			errs = append(errs, fmt.Errorf("presence: %s %q: want [A-Za-z0-9_-]", b.name, b.bucket))
		}
	}
	if cfg.Bucket != "" && cfg.Bucket == cfg.NodesBucket {
		errs = append(errs, fmt.Errorf("presence: bucket and nodes bucket are both %q", cfg.Bucket))
	}
	if cfg.NodeTTL != 0 && cfg.NodeTTL < MinNodeTTL {
		errs = append(errs, fmt.Errorf("presence: node TTL %s is under %s", cfg.NodeTTL, MinNodeTTL))
	}
	if cfg.Replicas < 0 || cfg.Replicas > 5 {
		errs = append(errs, fmt.Errorf("presence: replicas must be 1..5, got %d", cfg.Replicas))
	}
	if cfg.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("presence: queue size must not be negative, got %d", cfg.QueueSize))
	}
	return errors.Join(errs...)
}

// WithDefaults returns cfg with every zero field set to its default: the
// one place NATSConfig's defaults are applied.
func (cfg NATSConfig) WithDefaults() NATSConfig {
	if cfg.Bucket == "" {
		cfg.Bucket = DefaultBucket
	}
	if cfg.NodesBucket == "" {
		cfg.NodesBucket = DefaultNodesBucket
	}
	if cfg.NodeTTL == 0 {
		cfg.NodeTTL = DefaultNodeTTL
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = DefaultReplicas
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}
