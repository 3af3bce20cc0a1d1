package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Defaults for NATSConfig.
const (
	DefaultSubjectPrefix     = "wsgate.ch"
	DefaultControlPrefix     = "wsgate.ctl"
	DefaultControlHeartbeat  = time.Second
	DefaultPublishBuffer     = 8 << 20 // bytes of publications waiting for NATS
	DefaultPublishBufferMsgs = 65536   // publications waiting for NATS
	DefaultInboxSize         = 65536   // messages from NATS waiting for the dispatcher
	DefaultReplayDelay       = 2 * time.Second
	DefaultCloseGrace        = 2 * time.Second
	DefaultWriteTimeout      = 5 * time.Second
	DefaultPingInterval      = 20 * time.Second
)

// NATSConfig configures the NATS relay. The zero value (plus URLs) is
// valid: every zero field takes its default (WithDefaults), and Validate
// reports every problem at once; DialNATS calls both.
type NATSConfig struct {
	// URLs of the NATS servers to join; any one is enough, the client learns
	// the rest of the cluster from it.
	URLs []string
	// Prefix of every subject: channel C travels on "<Prefix>.C". Default
	// "wsgate.ch".
	Prefix string
	// PublishBuffer bounds, in bytes, the publications waiting for NATS:
	// queued for the bus goroutine while connected, held for replay while
	// NATS is unreachable. Each is charged its subject, its data and
	// PublicationOverhead. Over it, Publish refuses with ErrQueueFull
	// (connected) or ErrBufferFull (unreachable). Default 8 MiB.
	PublishBuffer int
	// PublishBufferMsgs bounds the number of publications waiting for NATS,
	// with the same effect as PublishBuffer. Default 65,536.
	PublishBufferMsgs int
	// ReplayDelay is how long after reconnecting the node waits before
	// re-sending the publications it accepted during the outage, so that
	// the other nodes have re-established their subscriptions and receive
	// them. Default 2s (nodes retry every 250ms–1.25s).
	ReplayDelay time.Duration
	// CloseGrace is how long Close keeps trying to hand the publications
	// still waiting to NATS (and to have NATS confirm them); what is left
	// is logged and counted in Stats.Lost. Default 2s.
	CloseGrace time.Duration
	// WriteTimeout bounds one write to NATS: a server that takes no data
	// for this long (a dropped network, a stalled server) is treated as
	// gone, and the client reconnects. Default 5s.
	WriteTimeout time.Duration
	// PingInterval is how often the client pings NATS; two unanswered pings
	// mark the connection dead, so a silent outage is noticed within about
	// three intervals. Default 20s.
	PingInterval time.Duration
	// InboxSize bounds the messages received from NATS that wait for the
	// dispatcher; past it NATS drops them (counted as Stats.Dropped).
	// Default 65,536.
	InboxSize int
	// Required makes DialNATS fail when NATS cannot be reached at once.
	// Without it, DialNATS returns a relay that delivers locally, holds
	// publications, reports itself not connected, and joins NATS when it
	// appears.
	Required bool
	// Name identifies this node's connection in NATS monitoring.
	Name string
	// Options are extra nats.go options: credentials (nats.UserCredentials),
	// token (nats.Token), user and password (nats.UserInfo), TLS
	// (nats.RootCAs, nats.ClientCert).
	Options []nats.Option
	// Logger receives connection state changes. Default slog.Default().
	Logger *slog.Logger

	// ControlPrefix is the subject prefix of the control API's requests
	// between nodes (control.go); it must not overlap Prefix, or a channel
	// could name a control subject. Default "wsgate.ctl".
	ControlPrefix string
	// ControlHeartbeat is how often a node announces itself to the others'
	// control planes; one unheard of for 3 beats is dead. Default 1s.
	ControlHeartbeat time.Duration

	// History, when its Size is not 0, keeps every channel's history in a
	// JetStream stream (see jetstream.go), created or updated at each
	// connection. Stream, HistorySubject and LiveSubject name the stream
	// and its subjects (defaults DefaultStream, DefaultHistorySubject,
	// DefaultLiveSubject); every node of a cluster must agree on them.
	History        HistoryConfig
	Stream         string
	HistorySubject string
	LiveSubject    string
}

// Validate reports every problem with cfg at once, in the order of the
// fields. Zero fields are fine (they take their defaults); negative ones
// are not. DialNATS calls it before WithDefaults.
func (cfg NATSConfig) Validate() error {
	var errs []error
	if len(cfg.URLs) == 0 {
		errs = append(errs, errors.New("relay: no NATS URL"))
	}
	schemes := map[bool]string{} // websocket or not: a URL of each kind seen
	for _, u := range cfg.URLs {
		websocket, err := checkNATSURL(u)
		if err != nil {
			errs = append(errs, fmt.Errorf("relay: NATS URL %q: %w", u, err))
			continue
		}
		schemes[websocket] = u
	}
	if len(schemes) > 1 {
		errs = append(errs, fmt.Errorf("relay: NATS URLs %q and %q: websocket (ws, wss) and plain (nats, tls) URLs cannot be mixed", schemes[false], schemes[true]))
	}
	if err := checkSubjectPrefix(cfg.Prefix); cfg.Prefix != "" && err != nil {
		errs = append(errs, fmt.Errorf("relay: subject prefix %q: %w", cfg.Prefix, err))
	}
	if err := checkSubjectPrefix(cfg.ControlPrefix); cfg.ControlPrefix != "" && err != nil {
		errs = append(errs, fmt.Errorf("relay: control subject prefix %q: %w", cfg.ControlPrefix, err))
	}
	if d := cfg.WithDefaults(); overlaps(d.Prefix, d.ControlPrefix) {
		errs = append(errs, fmt.Errorf("relay: control subject prefix %q overlaps the channel prefix %q: a channel could name a control subject", d.ControlPrefix, d.Prefix))
	}
	if cfg.ControlHeartbeat < 0 {
		errs = append(errs, fmt.Errorf("relay: control heartbeat must not be negative, got %s", cfg.ControlHeartbeat))
	}
	for _, f := range []struct {
		name string
		n    int
	}{
		{"publish buffer", cfg.PublishBuffer},
		{"publish buffer messages", cfg.PublishBufferMsgs},
	} {
		if f.n < 0 {
			errs = append(errs, fmt.Errorf("relay: %s must not be negative, got %d", f.name, f.n))
		}
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"replay delay", cfg.ReplayDelay},
		{"close grace", cfg.CloseGrace},
		{"write timeout", cfg.WriteTimeout},
		{"ping interval", cfg.PingInterval},
	} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("relay: %s must not be negative, got %s", f.name, f.d))
		}
	}
	if cfg.InboxSize < 0 {
		errs = append(errs, fmt.Errorf("relay: inbox size must not be negative, got %d", cfg.InboxSize))
	}
	if err := cfg.History.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("relay: %w", err))
	}
	for _, f := range []struct{ name, subject string }{
		{"history subject", cfg.HistorySubject},
		{"live subject", cfg.LiveSubject},
	} {
		if err := checkSubjectPrefix(f.subject); f.subject != "" && err != nil {
			errs = append(errs, fmt.Errorf("relay: %s %q: %w", f.name, f.subject, err))
		}
	}
	if cfg.Stream != "" && strings.ContainsAny(cfg.Stream, " \t\r\n.*>/\\") {
		errs = append(errs, fmt.Errorf("relay: stream name %q: no whitespace, '.', '*', '>', '/' or '\\'", cfg.Stream))
	}
	return errors.Join(errs...)
}

// checkNATSURL checks a server URL the way nats.go will read it: a
// missing scheme means nats://, and the scheme says whether it is a
// websocket URL.
func checkNATSURL(s string) (websocket bool, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return false, errors.New("empty")
	case strings.Contains(s, ","):
		return false, errors.New("one URL per entry (nats.go would split it at the comma)")
	case !strings.Contains(s, "://"):
		s = "nats://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return false, err
	}
	switch u.Scheme {
	case "nats", "tls":
		return false, nil
	case "ws", "wss":
		return true, nil
	}
	return false, fmt.Errorf("scheme %q: want nats, tls, ws or wss", u.Scheme)
}

// checkSubjectPrefix checks that prefix is a literal NATS subject:
// dot-separated tokens, none empty, no whitespace and no wildcard.
func checkSubjectPrefix(prefix string) error {
	for _, token := range strings.Split(prefix, ".") {
		switch {
		case token == "":
			return errors.New("an empty token (a leading, trailing or double dot)")
		case strings.ContainsAny(token, " \t\r\n"):
			return errors.New("whitespace")
		case strings.ContainsAny(token, "*>"):
			return errors.New("a wildcard (* or >)")
		}
	}
	return nil
}

// WithDefaults returns cfg with every zero field set to its default: the
// one place NATSConfig's defaults are applied.
func (cfg NATSConfig) WithDefaults() NATSConfig {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultSubjectPrefix
	}
	if cfg.ControlPrefix == "" {
		cfg.ControlPrefix = DefaultControlPrefix
	}
	if cfg.ControlHeartbeat <= 0 {
		cfg.ControlHeartbeat = DefaultControlHeartbeat
	}
	if cfg.PublishBuffer <= 0 {
		cfg.PublishBuffer = DefaultPublishBuffer
	}
	if cfg.PublishBufferMsgs <= 0 {
		cfg.PublishBufferMsgs = DefaultPublishBufferMsgs
	}
	if cfg.ReplayDelay <= 0 {
		cfg.ReplayDelay = DefaultReplayDelay
	}
	if cfg.CloseGrace <= 0 {
		cfg.CloseGrace = DefaultCloseGrace
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = DefaultInboxSize
	}
	cfg.History = cfg.History.WithDefaults()
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.HistorySubject == "" {
		cfg.HistorySubject = DefaultHistorySubject
	}
	if cfg.LiveSubject == "" {
		cfg.LiveSubject = DefaultLiveSubject
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// Errors of the NATS relay. Publish returns them as they are; every one
// means the publication was delivered nowhere.
var (
	// ErrBufferFull: NATS is unreachable and the publications held for it
	// have reached PublishBuffer or PublishBufferMsgs.
	ErrBufferFull = errors.New("relay: NATS unreachable and the publish buffer is full")
	// ErrQueueFull: NATS is connected but not taking publications as fast
	// as they come (a slow or stalled server or network), and the queue has
	// reached PublishBuffer or PublishBufferMsgs.
	ErrQueueFull = errors.New("relay: NATS is not keeping up and the publish queue is full")
	// ErrTooLarge: the data exceeds the NATS server's max_payload.
	ErrTooLarge = errors.New("relay: publication exceeds the NATS server's max_payload")
	// ErrClosed: Publish after Close.
	ErrClosed = errors.New("relay: closed")
)

// SubjectsOverlap reports whether one subject prefix is the other or a
// token prefix of it ("a.b" and "a.b.c"): then some subject falls under
// both, and a channel could name the other's subject.
func SubjectsOverlap(a, b string) bool { return overlaps(a, b) }

func overlaps(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+".") || strings.HasPrefix(b, a+".")
}
