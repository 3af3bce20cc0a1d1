package reactor

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/hook"
	"github.com/wsgate/wsgate/presence"
	"github.com/wsgate/wsgate/proxy"
	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wsproto"
)

// Defaults for Config.
const (
	DefaultListen           = ":8080"
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultCloseTimeout     = 5 * time.Second
	DefaultPingInterval     = 25 * time.Second
	DefaultPongTimeout      = 10 * time.Second
	DefaultMaxConns         = 1_000_000
	DefaultMaxOutbound      = 1 << 20
	DefaultMaxSubscriptions = 128
	DefaultMaxDataSize      = 64 << 10
	DefaultDrainWindow      = 10 * time.Second
	DefaultMessageRate      = 100       // messages per second per connection
	DefaultMessageBurst     = 200       // messages
	DefaultByteRate         = 256 << 10 // bytes per second per connection
	DefaultMaxRateLimitIPs  = 65536     // addresses tracked by the handshake rate limit
	DefaultMaxChannels      = 1_000_000
	DefaultMaxPartialBytes  = 256 << 20
	DefaultIPv6Prefix       = 64
	// DefaultReservedFDs is the base of Config.ReservedFDs: the runtime,
	// stdio, the relay's client and files; 4 more per loop are added.
	DefaultReservedFDs = 64
	// MinSockets is the least MaxSockets a node starts with: below it the
	// open-file limit is too low to serve anyone.
	MinSockets = 16

	EchoPath   = "/echo"
	PubSubPath = "/ws"
)

// SlowPolicy is what happens to a connection whose unsent bytes would pass
// MaxOutboundBytes.
type SlowPolicy string

const (
	// SlowClose closes the connection with 1008 "slow consumer".
	SlowClose SlowPolicy = "close"
	// SlowDrop drops the messages that do not fit; once there is room again
	// the client gets an error frame {"code":"dropped"} per channel saying
	// how many, and, for a channel with history, the last offset before
	// the gap.
	SlowDrop SlowPolicy = "drop"
	// SlowConflate keeps, while the client is slow, only the latest
	// publication of each channel that did not fit, and sends it once
	// there is room: a client that only needs the current state (a price,
	// a presence list) skips what it could not read in time.
	SlowConflate SlowPolicy = "conflate"
)

// valid reports whether p is a policy ("" is the default).
func (p SlowPolicy) valid() bool {
	return p == "" || p == SlowClose || p == SlowDrop || p == SlowConflate
}

// ForwardedHeader selects the request header that names the client behind
// a trusted proxy.
type ForwardedHeader uint8

const (
	ForwardedXFF     ForwardedHeader = iota // X-Forwarded-For
	ForwardedRFC7239                        // Forwarded (RFC 7239)
	ForwardedNone                           // neither: only the PROXY header, or the socket's peer
)

// CompressionMode says whether permessage-deflate is negotiated.
type CompressionMode string

const (
	CompressionOn  CompressionMode = ""    // accept a valid offer (default)
	CompressionOff CompressionMode = "off" // decline every offer
)

// EchoMode says whether the /echo endpoint is served.
type EchoMode string

const (
	EchoAuto EchoMode = ""    // on while authentication is off
	EchoOn   EchoMode = "on"  // always, even for anonymous clients of an authenticated node
	EchoOff  EchoMode = "off" // never
)

// Config is the reactor's configuration. The zero value is valid: every zero
// field takes the default named in its comment (applied by withDefaults).
type Config struct {
	// Listen is the TCP address for WebSocket clients. Default ":8080".
	Listen string
	// Loops is the number of event loops. Default: one per CPU (GOMAXPROCS).
	Loops int
	// SingleListener makes one listening socket whose acceptor hands each
	// new connection to a loop (gnet's reactor mode). By default every loop
	// listens on its own SO_REUSEPORT socket bound to Listen and accepts for
	// itself: no hand-off between threads per connection, which more
	// than halves the CPU per handshake (bench/listener-ab.sh). The kernel
	// spreads connections over the sockets by a hash of the peer's address
	// and port. Default off.
	SingleListener bool
	// ReusePort lets other processes listen on the same address and port
	// (SO_REUSEPORT), so several wsgate processes on one host serve one
	// endpoint (docs/tuning.md, "Several processes per host"). Off by
	// default: Start then fails if the address is already taken, as it
	// would when a node is started twice by mistake. Not with
	// SingleListener.
	ReusePort bool
	// Echo turns the /echo endpoint on or off. It echoes every message
	// back with its opcode (the reference target for conformance and
	// latency tests), anonymously, so the default (EchoAuto) serves it
	// only while authentication is off (Auth nil). When on, /echo
	// connections are held to the same message and byte rates as /ws.
	Echo EchoMode
	// Compression says whether a client's permessage-deflate offer (RFC
	// 7692) is accepted: CompressionOn (the default) or CompressionOff.
	// See deflate.go: a publication is compressed once for all its
	// deflate subscribers, and no connection keeps compression state.
	Compression CompressionMode
	// CompressionMinSize is the smallest payload sent compressed to a
	// deflate connection; smaller ones go as they are (RSV1 clear), where
	// compressing costs CPU for a few bytes. Default
	// wsproto.CompressionMinSize.
	CompressionMinSize int
	// Limits bounds the handshake header block, frames and messages
	// (wsproto's defaults: 8 KiB, 1 MiB, 1 MiB).
	Limits wsproto.Limits
	// HandshakeTimeout closes a connection that has not completed its
	// upgrade request in time (slowloris). Default 10s.
	HandshakeTimeout time.Duration
	// CloseTimeout is how long a connection may take to answer our close
	// frame before its TCP connection is closed anyway. Default 5s.
	CloseTimeout time.Duration
	// PingInterval is how long a connection may be silent before the server
	// pings it. Default 25s, below the 60s idle timeout of common load
	// balancers.
	PingInterval time.Duration
	// PongTimeout is how long a pinged connection has to send any frame
	// before it is closed (1008 "pong timeout"). Default 10s.
	PongTimeout time.Duration
	// IdleTimeout closes a connection that has sent no data message (text
	// or binary; pings and pongs do not count) for this long, with 1000
	// "idle timeout". Default 0: off.
	IdleTimeout time.Duration
	// MaxConns caps upgraded connections on this node; the next handshake
	// gets 503. Default 1,000,000.
	MaxConns int
	// MaxConnsPerIP caps upgraded connections from one peer address; the
	// next handshake gets 503. Default 0: no cap, because behind a load
	// balancer every client shares the balancer's address.
	MaxConnsPerIP int
	// MaxSockets caps the node's open TCP sockets in any state, counted
	// from accept: a socket past it is reset at once, before it costs more
	// than its descriptor. Default, and upper bound: the process's
	// open-file limit (RLIMIT_NOFILE) minus ReservedFDs, so that accept
	// never fails for want of a descriptor (see the package doc).
	MaxSockets int
	// ReservedFDs are the descriptors MaxSockets leaves to everything else
	// in the process: the runtime, the loops' pollers and listeners, the
	// relay, the admin API's connections and files. Default 64 plus 4 per
	// loop; a caller that opens more (the admin listener's connection cap,
	// an embedded NATS server's) adds them.
	ReservedFDs int
	// MaxHandshakes caps sockets still in their opening handshake, node
	// wide, so idle or slow sockets cannot take the room upgraded
	// connections need; past it a new socket is reset at once. A refused
	// handshake counts until its socket is gone (up to CloseTimeout).
	// Default a tenth of MaxSockets, at least 64.
	MaxHandshakes int
	// MaxHandshakesPerIP caps sockets in their opening handshake from one
	// peer address (see IPv6Prefix). Default 0: no cap, because behind a
	// load balancer every client shares the balancer's address.
	MaxHandshakesPerIP int
	// IPv6Prefix is the prefix length by which every per-address limit
	// groups IPv6 peers: one host is usually given a whole /64, so a
	// single address would let it dodge the limits. Default 64; 128 counts
	// each address alone.
	IPv6Prefix int
	// ProxyProtocol is the PROXY protocol header (v1, v2 or either) a
	// connection from TrustedProxies must send before its HTTP request;
	// its source address is the client's for every per-address limit.
	// Default proxy.Off: none is read. See peer.go.
	ProxyProtocol proxy.Version
	// TrustedProxies are the peers whose PROXY protocol header and
	// X-Forwarded-For / Forwarded headers are believed (the right-most
	// address not in the set is the client). Default: none, so what a
	// client claims about itself is never believed.
	TrustedProxies proxy.Trusted
	// ForwardedHeader is the request header a trusted proxy names the
	// client in. Default X-Forwarded-For, the one NGINX, HAProxy and the
	// cloud balancers append to. Only one is read: a proxy passes the
	// other through unchanged, so the client could write it.
	ForwardedHeader ForwardedHeader
	// AllowUntrustedDirect serves connections from peers outside
	// TrustedProxies, while ProxyProtocol is on, as direct clients with
	// no header expected. Default false: they are reset at accept and
	// counted (sockets_refused "untrusted_proxy"), since a node behind a
	// proxy that anyone can reach directly lets them skip the proxy.
	AllowUntrustedDirect bool
	// MaxChannels caps the channels with a subscriber on this node (each
	// costs a topic per loop, a hub entry and a bus subscription); a
	// subscription that would add one more gets the error
	// "too_many_channels" (503 in a handshake). Default 1,000,000.
	MaxChannels int
	// MaxPartialBytes caps the memory held, node-wide, for messages and
	// frames received in part (each up to Limits.MaxMessageSize, and
	// held until the rest arrives); the connection whose read would pass
	// it is closed 1013 "too many partial messages". Each loop gets an
	// equal share. Default 256 MiB, and at least one message per loop.
	MaxPartialBytes int
	// MaxOutboundBytes caps a connection's unsent bytes held by the server
	// (beyond what the kernel's socket buffer holds): deliveries and every
	// reply alike. Default 1 MiB, raised when /echo is on to one echo of
	// the largest message Limits allows.
	MaxOutboundBytes int
	// SlowPolicy is applied when MaxOutboundBytes would be passed. Default
	// SlowClose.
	SlowPolicy SlowPolicy
	// SlowPolicyFor, when set, is a channel's own policy (its namespace's);
	// "" means SlowPolicy. It is asked once per channel per loop, when the
	// loop gets the channel's first subscriber.
	SlowPolicyFor func(channel string) SlowPolicy
	// MaxSubscriptions caps channels per connection. Default 128.
	MaxSubscriptions int
	// MaxDataSize caps the data of one client publish, in bytes of JSON.
	// Default 64 KiB.
	MaxDataSize int
	// DrainWindow is the time over which Drain spreads the 1001 closes.
	// Default 10s.
	DrainWindow time.Duration

	// Auth verifies the tokens clients present (auth.Extract: ?token=,
	// Authorization: Bearer, or a "wsgate.token.<JWT>" subprotocol). nil:
	// tokens are ignored and every client may use every channel. With a
	// Verifier, a client that presents a token is held to its "subscribe"
	// and "publish" patterns, and a bad token gets 401.
	Auth *auth.Verifier
	// AuthRequired refuses handshakes without a token with 401, except
	// that anonymous clients may still read PublicChannels. Needs Auth.
	AuthRequired bool
	// PublicChannels are the channels anyone may subscribe to, with or
	// without a token. Nobody may publish on them without a token that
	// allows it.
	PublicChannels []auth.Pattern
	// AllowedOrigins are the browser origins allowed besides the server's
	// own ("https://app.example.com", "https://*.example.com",
	// "http://localhost:*", or "*" for any); see originPolicy. Handshakes
	// without an Origin (non-browser clients) are always allowed. Others
	// get 403.
	AllowedOrigins []string
	// AllowedHosts, when not empty, are the only Host header values a
	// handshake may carry ("ws.example.com", "*.example.com",
	// "localhost:8080"; a pattern without a port allows any port). Others
	// get 403. It defeats DNS rebinding: a hostile page whose name now
	// points at this node would otherwise count as the node's own origin.
	// Default: any host.
	AllowedHosts []string

	// MessageRate caps the data messages (and pings) a /ws connection may
	// send per second, with bursts of MessageBurst; over it the message is
	// dropped with an error frame "rate_limited", and a run of them closes
	// the connection with 1008. Default 100/s, burst 200; negative: no
	// limit.
	MessageRate  int
	MessageBurst int
	// ByteRate caps the bytes of data messages a /ws connection may send
	// per second (burst: one second's worth). Default 256 KiB/s; negative:
	// no limit.
	ByteRate int
	// HandshakeRatePerIP caps new TCP connections per second from one peer
	// address, with bursts of HandshakeBurstPerIP (default twice the rate);
	// over it the client gets 429. Default 0: off, because behind a load
	// balancer every client shares the balancer's address. Turn it on when
	// clients connect directly.
	HandshakeRatePerIP  float64
	HandshakeBurstPerIP int
	// MaxRateLimitIPs bounds the addresses the handshake rate limit
	// tracks (about 64 bytes each). Default 65,536.
	MaxRateLimitIPs int

	// Relay carries publications between nodes. Default relay.NewLocal().
	Relay relay.Relay
	// Hooks, when set, calls the backend's event hooks (package hook,
	// hooks.go): disconnect, subscribe and unsubscribe events always; the
	// connect hook for every /ws handshake with HookConnect, the publish
	// hook for client publications with HookPublish, and the message hook
	// for send frames with HookMessage (without it send is refused).
	Hooks                                 *hook.Client
	HookConnect, HookPublish, HookMessage bool
	// Presence, when set, keeps the members of PresenceChannels (package
	// presence, presence.go): every connection subscribed to one is a
	// member, and a subscriber that asks gets join and leave frames. The
	// engine starts it and closes it when it stops, before the relay.
	Presence         presence.Store
	PresenceChannels []auth.Pattern
	// NodeID and Version name this node and its build in the connected
	// frame every /ws client gets first. Defaults "wsgate" and "dev".
	NodeID, Version string
	// Logger receives the reactor's logs, never one per frame. Default
	// slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem with c at once, in the same order on
// every run.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); c.Listen != "" && err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: %w", c.Listen, err))
	}
	if c.Loops < 0 {
		errs = append(errs, fmt.Errorf("loops must not be negative, got %d", c.Loops))
	}
	if c.NodeID != "" && !ValidNodeID(c.NodeID) {
		errs = append(errs, fmt.Errorf("node ID %q: it names the node in connection IDs and bus subjects: 1-64 letters, digits, _ and -", c.NodeID))
	}
	if c.ReusePort && c.SingleListener {
		errs = append(errs, errors.New("reuse port and single listener exclude each other: a single listener does not share its port"))
	}
	if c.Limits.MaxHeaderBytes < 0 || c.Limits.MaxFrameSize < 0 || c.Limits.MaxMessageSize < 0 {
		errs = append(errs, errors.New("size limits must not be negative"))
	}
	if c.Limits.MaxFrameSize > 0 && c.Limits.MaxMessageSize > 0 && c.Limits.MaxFrameSize > c.Limits.MaxMessageSize {
		errs = append(errs, fmt.Errorf("max frame size %d exceeds max message size %d", c.Limits.MaxFrameSize, c.Limits.MaxMessageSize))
	}
	// Slices, not maps: the errors come in the same order on every run.
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"handshake timeout", c.HandshakeTimeout}, {"close timeout", c.CloseTimeout},
		{"ping interval", c.PingInterval}, {"pong timeout", c.PongTimeout},
		{"idle timeout", c.IdleTimeout}, {"drain window", c.DrainWindow},
	} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", f.name, f.d))
		}
	}
	for _, f := range []struct {
		name string
		n    int
	}{
		{"max conns", c.MaxConns}, {"max conns per ip", c.MaxConnsPerIP},
		{"max outbound bytes", c.MaxOutboundBytes}, {"max subscriptions", c.MaxSubscriptions},
		{"max data size", c.MaxDataSize}, {"message burst", c.MessageBurst},
		{"max sockets", c.MaxSockets}, {"reserved fds", c.ReservedFDs},
		{"max handshakes", c.MaxHandshakes}, {"max handshakes per ip", c.MaxHandshakesPerIP},
		{"max channels", c.MaxChannels}, {"max partial bytes", c.MaxPartialBytes},
	} {
		if f.n < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %d", f.name, f.n))
		}
	}
	if err := c.checkSockets(); err != nil {
		errs = append(errs, err)
	}
	if c.Compression != CompressionOn && c.Compression != CompressionOff {
		errs = append(errs, fmt.Errorf("compression %q: want on or off", c.Compression))
	}
	if c.CompressionMinSize < 0 {
		errs = append(errs, fmt.Errorf("compression min size %d: want 0 or more", c.CompressionMinSize))
	}
	if c.ProxyProtocol != proxy.Off && c.TrustedProxies.Empty() {
		errs = append(errs, fmt.Errorf("proxy protocol %s needs trusted proxies: without them every connection would be refused", c.ProxyProtocol))
	}
	if c.IPv6Prefix < 0 || c.IPv6Prefix > 128 {
		errs = append(errs, fmt.Errorf("ipv6 prefix %d: want 1 to 128", c.IPv6Prefix))
	}
	if c.Echo != EchoAuto && c.Echo != EchoOn && c.Echo != EchoOff {
		errs = append(errs, fmt.Errorf("echo %q: want %q, %q or empty (auto)", c.Echo, EchoOn, EchoOff))
	}
	if _, err := newHostPolicy(c.AllowedHosts); err != nil {
		errs = append(errs, err)
	}
	if c.AuthRequired && c.Auth == nil {
		errs = append(errs, errors.New("authentication required but no token verifier (key) configured"))
	}
	if _, err := newOriginPolicy(c.AllowedOrigins); err != nil {
		errs = append(errs, err)
	}
	if c.ByteRate > 0 && c.ByteRate < 1024 {
		errs = append(errs, fmt.Errorf("byte rate %d: at least 1024 bytes/s, or negative for no limit", c.ByteRate))
	}
	if c.ByteRate > 1<<30 || c.MessageRate > 1<<20 || c.MessageBurst > 1<<20 {
		errs = append(errs, errors.New("rate limits too large: byte rate at most 1 GiB/s, message rate and burst at most 1,048,576"))
	}
	if c.HandshakeRatePerIP < 0 || c.HandshakeBurstPerIP < 0 || c.MaxRateLimitIPs < 0 {
		errs = append(errs, errors.New("handshake rate, burst and tracked addresses must not be negative"))
	}
	if !c.SlowPolicy.valid() {
		errs = append(errs, fmt.Errorf("slow policy %q: want %q, %q or %q", c.SlowPolicy, SlowClose, SlowDrop, SlowConflate))
	}
	return errors.Join(errs...)
}
