package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Defaults of Options.
const (
	DefaultMinBackoff       = 250 * time.Millisecond
	DefaultMaxBackoff       = 10 * time.Second
	DefaultResetBackoff     = 30 * time.Second
	DefaultPublishTimeout   = 10 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultRefreshBefore    = 30 * time.Second
	DefaultMaxMessageSize   = 16 << 20
)

// Options configure a Client. The zero value works: no token, the
// defaults above.
type Options struct {
	// Token returns the JWT to present. It is called before every
	// connection attempt (so it must be cheap or cache) and, when the
	// token has an "exp", again RefreshBefore its expiry to refresh the
	// connection in place (a refresh frame, no reconnection). nil: connect
	// anonymously. The token goes in the Authorization header, never in
	// the URL (which proxies log).
	Token func(ctx context.Context) (string, error)
	// Format is the protocol's encoding: FormatJSON (the default) or
	// FormatProtobuf (subprotocol wsgate.v1.proto, binary frames; see
	// Format and Publish).
	Format Format
	// Header holds extra handshake header fields (Origin, a tracing id,
	// ...). With Token, an Authorization here is dropped: the token's
	// replaces it (the server refuses two). A Sec-WebSocket-Protocol
	// here is always dropped: Format decides the subprotocol.
	Header http.Header
	// DialContext opens the TCP connection (a proxy, a custom resolver,
	// tests). Default: a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is used for wss:// URLs (nil: the system's roots, the
	// URL's host as server name).
	TLSConfig *tls.Config
	// MinBackoff and MaxBackoff bound the full-jitter exponential backoff
	// between failed attempts. Defaults 250 ms and 10 s.
	MinBackoff, MaxBackoff time.Duration
	// ResetBackoffAfter is how long a connection must have been up for
	// the backoff to start again from MinBackoff when it ends (a server
	// that accepts and closes at once is not retried at the minimum
	// delay). Default 30 s.
	ResetBackoffAfter time.Duration
	// PublishTimeout bounds a Publish whose context has no earlier
	// deadline, re-sends after reconnections included. Default 10 s.
	PublishTimeout time.Duration
	// HandshakeTimeout bounds one connection attempt: TCP, TLS, the
	// upgrade and the connected frame. Default 10 s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one write to the socket. Default 10 s.
	WriteTimeout time.Duration
	// RefreshBefore is how long before its expiry a token is refreshed
	// (half its remaining life for a token shorter than twice this).
	// Default 30 s.
	RefreshBefore time.Duration
	// MaxMessageSize bounds a frame or message the server sends (a
	// history page). Default 16 MiB.
	MaxMessageSize int64
	// Logger receives connection changes and anomalies, never one line
	// per message. Default: discarded.
	Logger *slog.Logger
	// OnPush is called with the data of each push: a message for this
	// connection alone, from the backend's control API or its message
	// hook's reply to Send (docs/backend.md). Data is as Message's: the
	// JSON value with FormatJSON, its bytes with FormatProtobuf (the JSON
	// text, or the bytes a {"$binary":...} value stands for), the
	// callback's to keep. It runs on a goroutine of the client's own,
	// started at the first push, one call at a time, in order; pushes
	// queue up without bound while it runs. It must not call Close.
	// nil: pushes are dropped.
	OnPush func(data json.RawMessage)
	// OnState is called at every state change, in order, one call at a
	// time: on the client's connection goroutine, except for the
	// StateClosed of Close, called on Close's caller. It must return
	// quickly and must not call Close (which waits for that goroutine).
	OnState func(State)
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	def(&o.ResetBackoffAfter, DefaultResetBackoff)
	def(&o.PublishTimeout, DefaultPublishTimeout)
	def(&o.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.RefreshBefore, DefaultRefreshBefore)
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DialContext == nil {
		o.DialContext = (&net.Dialer{}).DialContext
	}
	return o
}

// State is where a client is in its life.
type State int32

const (
	StateIdle         State = iota // New: Connect not called (or abandoned)
	StateConnecting                // an attempt is under way
	StateConnected                 // the connected frame arrived: commands flow
	StateDisconnected              // between attempts: a backoff or a server's retry-after
	StateClosed                    // Close was called, or a final refusal (Err)
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Position is a place in a channel's history: an offset in an epoch. An
// offset means nothing in another epoch.
type Position struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
}

// Message is a publication delivered to a subscription. Offset and Prev
// are 0 on a channel without history. Data is the handler's to keep.
//
// With FormatJSON, Data is the JSON value as published, byte for byte (a
// Protobuf publisher's bytes that are not JSON arrive as
// {"$binary":"<base64>"}). With FormatProtobuf, Data is the bytes the
// publisher sent, whatever they are: a Protobuf publisher's bytes, the
// JSON text of a JSON publisher's (or the HTTP API's) value, and the
// decoded bytes of a {"$binary":...} value (docs/protocol.md, "Data:
// bytes, and JSON subscribers"); it is json.RawMessage only by type.
type Message struct {
	Channel      string
	Data         json.RawMessage
	Offset, Prev uint64
}
