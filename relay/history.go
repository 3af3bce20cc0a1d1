package relay

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Seq places a delivered publication in its channel's history. Both are 0
// for a channel without history.
//
// Offset increases along the channel. Prev is a lower bound of the
// channel's previous publication: no publication of the channel has an
// offset strictly between Prev and Offset. A subscriber that last saw
// offset L has missed something exactly when Prev > L. The in-memory store
// numbers each channel contiguously (Prev = Offset-1), from 1 for the
// first channel of a process and from the store's count of publications
// for a channel created or evicted later, so no offset repeats in a
// process; JetStream uses its stream sequence, shared by all channels, and
// gives the channel's previous sequence as Prev.
type Seq struct {
	Offset, Prev uint64
}

// Position is where a channel's history stands: the offset of its latest
// publication (for JetStream, of the stream's latest when the channel has
// none retained) and the epoch, which changes whenever the channel's
// history is lost or reset. Offsets of different epochs do not compare.
type Position struct {
	Offset uint64
	Epoch  string
}

// Entry is one retained publication.
type Entry struct {
	Seq
	Data []byte
}

// Page is one read of a channel's history.
type Page struct {
	// Position is the channel's position when it was read.
	Position Position
	// Recovered: since was in the current epoch and nothing after it has
	// been lost. Entries then continue from since; otherwise they start at
	// the oldest retained publication.
	Recovered bool
	// Entries are in order, at most the limit asked for (and about its
	// byte budget). Their Data is owned by the page.
	Entries []Entry
	// More: retained publications follow the last entry.
	More bool
}

// HistoryConfig sets what a relay retains. Size 0 (the default) keeps no
// history: every channel is delivered at most once, with no offsets.
type HistoryConfig struct {
	// Size is how many publications are kept per channel (0: history off).
	Size int
	// TTL drops publications older than this (0: kept until Size or
	// MaxBytes push them out).
	TTL time.Duration
	// MaxBytes bounds the whole store, data and overhead (0:
	// DefaultHistoryMaxBytes). The in-memory store evicts the channels
	// published least recently (their epoch changes); JetStream discards
	// the oldest publications of the stream.
	MaxBytes int64
	// Replicas is the JetStream stream's replication factor (0: 1).
	Replicas int
	// DedupWindow is how long an idempotency key is remembered (0:
	// DefaultDedupWindow).
	DedupWindow time.Duration
	// Namespaces give the channels they match a history of their own:
	// the first that matches a channel decides (a Size of 0 turns history
	// off for it); a channel none matches takes Size and TTL above. Every
	// node of a cluster must have the same namespaces.
	Namespaces []Namespace
}

// Namespace is the history of the channels Match accepts. On JetStream
// each namespace with history has its own stream, <Stream>_<NAME>, on
// subjects <HistorySubject>-<name>.<channel> and <LiveSubject>-<name>.<channel>.
type Namespace struct {
	Name  string // 1 to 32 of a-z, 0-9 and _; unique
	Match func(channel string) bool
	Size  int
	TTL   time.Duration
}

// policy is channel's history: its namespace (-1 for none), size and TTL.
func (c *HistoryConfig) policy(channel string) (ns, size int, ttl time.Duration) {
	for i := range c.Namespaces {
		if n := &c.Namespaces[i]; n.Match(channel) {
			return i, n.Size, n.TTL
		}
	}
	return -1, c.Size, c.TTL
}

// Defaults and bounds of history.
const (
	DefaultHistoryMaxBytes = 256 << 20
	DefaultDedupWindow     = 2 * time.Minute
	// MaxDedupKeys bounds the keys an in-memory window remembers; past it
	// the oldest are forgotten early (docs/security.md).
	MaxDedupKeys = 1 << 16
	// EntryOverhead is what the in-memory store charges each retained
	// publication on top of its data: the allocator's round-up of the
	// copy. The ring slot that holds it (40 bytes) is charged with the
	// ring, which grows by doubling up to Size.
	EntryOverhead = 16
	// ChannelOverhead is what it charges each channel with history: its
	// state, map entry and eviction-list element.
	ChannelOverhead = 256
)

// Enabled reports whether any channel keeps history.
func (c HistoryConfig) Enabled() bool {
	if c.Size > 0 {
		return true
	}
	for _, n := range c.Namespaces {
		if n.Size > 0 {
			return true
		}
	}
	return false
}

// Validate reports every setting out of range at once.
func (c HistoryConfig) Validate() error {
	var errs []error
	if c.Size < 0 {
		errs = append(errs, fmt.Errorf("history: size must not be negative, got %d", c.Size))
	}
	if c.TTL < 0 {
		errs = append(errs, fmt.Errorf("history: ttl must not be negative, got %s", c.TTL))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("history: max bytes must not be negative, got %d", c.MaxBytes))
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("history: replicas must be 1 to 5, got %d", c.Replicas))
	}
	if c.DedupWindow < 0 {
		errs = append(errs, fmt.Errorf("history: dedup window must not be negative, got %s", c.DedupWindow))
	}
	names := map[string]bool{}
	for i, n := range c.Namespaces {
		switch {
		case !validNamespaceName(n.Name):
			errs = append(errs, fmt.Errorf("history: namespace %d: name %q: want 1 to 32 of a-z, 0-9 and _", i+1, n.Name))
		case names[n.Name]:
			errs = append(errs, fmt.Errorf("history: namespace %d: name %q is taken", i+1, n.Name))
		}
		names[n.Name] = true
		if n.Match == nil {
			errs = append(errs, fmt.Errorf("history: namespace %q matches nothing", n.Name))
		}
		if n.Size < 0 || n.TTL < 0 {
			errs = append(errs, fmt.Errorf("history: namespace %q: size and ttl must not be negative", n.Name))
		}
	}
	return errors.Join(errs...)
}

// WithDefaults fills the zero values that have a default.
func (c HistoryConfig) WithDefaults() HistoryConfig {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultHistoryMaxBytes
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = DefaultDedupWindow
	}
	return c
}

func validNamespaceName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ErrNoHistory is returned by Read for a channel that keeps no history.
var ErrNoHistory = errors.New("relay: the channel keeps no history")

// Historian is what a relay with history adds to Relay. Read and Store may
// wait for the bus (bounded by ctx): the gateway calls them from its own
// goroutines, never from an event loop.
type Historian interface {
	// Retains reports whether channel keeps history. It never waits.
	Retains(channel string) bool
	// Read returns channel's position and up to limit retained
	// publications (about maxBytes of data at most, but at least one):
	// those after since when since is in the current epoch and nothing
	// after it was lost (Recovered), else (or with a nil since) from the
	// oldest retained. A limit of 0 asks for the position alone.
	Read(ctx context.Context, channel string, since *Position, limit, maxBytes int) (Page, error)
	// Store publishes like Publish and returns once the publication is
	// retained, with its position. A key seen for channel within the
	// dedup window is not published again: Store returns the offset the
	// first one got.
	Store(ctx context.Context, channel string, data []byte, key string) (Position, error)
}
