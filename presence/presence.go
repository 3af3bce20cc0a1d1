package presence

import (
	"context"
	"errors"
	"time"
)

// Member is one connection subscribed to a channel.
type Member struct {
	Conn   string    `json:"conn"`   // connection ID, "<node>.<32 lowercase hex>"
	User   string    `json:"user"`   // the authenticated user, or ""; at most MaxUserLen bytes
	Node   string    `json:"node"`   // the node holding the connection: 1-64 bytes of [A-Za-z0-9_-]
	Joined time.Time `json:"joined"` // when it joined the channel (Join sets it when zero)
}

// Event is a member joining (Join true) or leaving (Join false) a channel.
// A leave event carries the member as it joined; when the store cannot know
// it (a leave written by another client of the bucket), only Conn and Node
// are set.
type Event struct {
	Channel string
	Join    bool
	Member  Member
}

// Page is one page of a channel's members, sorted by Conn. Next is the
// cursor to pass as List's after for the following page, "" on the last.
type Page struct {
	Members []Member `json:"members"`
	Next    string   `json:"next,omitempty"`
}

// Store keeps who is subscribed to which channel. Every method is safe for
// concurrent use. Join, Leave, Watch, Unwatch and Stats never block and
// never do I/O: the gateway calls them from its event loops and under its
// hub lock. List and Count may wait for the bus, as long as ctx allows.
type Store interface {
	// Start begins delivering events, of watched channels only, to h. h is
	// called from any goroutine, never concurrently for one channel, and
	// in order for one channel; it must return quickly (it holds back the
	// channel's later events). Start is called once.
	Start(h func(Event)) error
	// Join adds m to channel. m.Conn, m.Node and m.User must be valid
	// (invalid members are refused and counted in Stats.Errors); joining
	// twice is a no-op. The write is queued: a full queue drops it and
	// counts it in Stats.Dropped.
	Join(channel string, m Member)
	// Leave removes the member m.Conn from channel; only m.Conn is read.
	// Leaving a channel one is not in is a no-op. Queued like Join.
	Leave(channel string, m Member)
	// Watch says this node wants the events of channel (its first local
	// presence subscriber appeared). Events are of changes after the call:
	// the current members are not replayed (List them).
	Watch(channel string)
	// Unwatch says this node no longer wants them (its last one left).
	Unwatch(channel string)
	// List returns the members of channel with Conn > after, at most limit
	// (1..MaxLimit) of them, of live nodes only.
	List(ctx context.Context, channel string, after string, limit int) (Page, error)
	// Count returns the number of members of channel on live nodes.
	Count(ctx context.Context, channel string) (int, error)
	// Stats reports the store's gauges and counters.
	Stats() Stats
	// Close releases the store; a clean close removes this node's members.
	Close() error
}

// Bounds of the API.
const (
	MaxLimit      = 1000 // most members one List returns
	MaxChannelLen = 255  // bytes of a channel name
	MaxUserLen    = 256  // bytes of Member.User
	MaxNodeLen    = 64   // bytes of a node ID
	// DefaultQueueSize bounds the pending writes of a NATS store (see
	// NATSConfig.QueueSize) and the pending events of a Local store.
	DefaultQueueSize = 65536
)

// Errors of the package. List and Count return them as they are or
// wrapped (%w) with the bus's error.
var (
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("presence: store closed")
	// ErrStarted: Start was called twice.
	ErrStarted = errors.New("presence: already started")
	// ErrNoHandler: Start was given a nil handler.
	ErrNoHandler = errors.New("presence: nil event handler")
	// ErrChannel: the channel name is not 1-255 bytes of [A-Za-z0-9_-:@]
	// in dot-separated levels.
	ErrChannel = errors.New("presence: invalid channel name")
	// ErrLimit: List's limit is outside 1..MaxLimit.
	ErrLimit = errors.New("presence: limit must be 1..1000")
	// ErrUnavailable: NATS is not reachable; List and Count fail at once
	// instead of waiting for it.
	ErrUnavailable = errors.New("presence: NATS unreachable")
)
