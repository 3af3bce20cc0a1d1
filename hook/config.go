package hook

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Defaults for Config, applied by WithDefaults to zero fields.
const (
	DefaultConnectTimeout   = 2 * time.Second
	DefaultMaxConcurrent    = 256
	DefaultQueueSize        = 10000
	DefaultBatchSize        = 100
	DefaultBatchWait        = 50 * time.Millisecond
	DefaultRetryMin         = 100 * time.Millisecond
	DefaultRetryMax         = 10 * time.Second
	DefaultEventTimeout     = 5 * time.Second
	DefaultMaxResponseBytes = 64 << 10
)

// MinSecretBytes is the shortest Secret Validate accepts: 128 bits.
const MinSecretBytes = 16

// Config configures a Client. URL and Secret are required; every other zero
// field takes its default (WithDefaults), and Validate reports every
// problem at once. New calls both.
type Config struct {
	// URL is the backend's endpoint (http or https). Every call and every
	// batch of events is a POST to it.
	URL string
	// Secret is the HMAC-SHA256 key every request is signed with, at least
	// MinSecretBytes long.
	Secret []byte
	// ConnectTimeout bounds one connect, publish or message call, from the
	// request to the last byte of the answer. Default 2s.
	ConnectTimeout time.Duration
	// MaxConcurrent bounds the connect, publish and message calls in flight
	// at once, each on a goroutine of its own; a call past it is refused
	// (the method returns false and Stats.Busy grows). Default 256.
	MaxConcurrent int
	// FailOpen lets a connection in when its connect call fails (timeout,
	// transport, status, malformed answer) or finds no slot. Default false:
	// such a connection is refused with 503.
	FailOpen bool
	// QueueSize bounds the events waiting for the batcher, the batch being
	// sent included; past it Emit drops (Stats.EventsDropped). Default
	// 10,000.
	QueueSize int
	// BatchSize is the most events one POST carries. Default 100.
	BatchSize int
	// BatchWait is how long a partial batch waits for more events before it
	// is sent. Default 50ms.
	BatchWait time.Duration
	// RetryMin and RetryMax bound the backoff between two attempts at a
	// failed batch: it starts at RetryMin, doubles up to RetryMax, and each
	// wait is drawn uniformly below it (full jitter). Defaults 100ms, 10s.
	RetryMin, RetryMax time.Duration
	// EventTimeout bounds one POST of a batch. Default 5s.
	EventTimeout time.Duration
	// MaxResponseBytes bounds an answer's body: at most this many bytes
	// plus one are read, and a longer body is ErrTooLarge. Default 64 KiB.
	MaxResponseBytes int64
	// Client sends the requests. Default (nil): New builds a client of its
	// own with at most MaxConcurrent+2 connections to the backend, idle
	// connections kept, redirects never followed, proxies from the
	// environment (HTTPS_PROXY, NO_PROXY). A Client given here is used as
	// it is; its Timeout, if any, adds to the package's own.
	Client *http.Client
	// Logger receives failures (rate-limited). Default slog.Default().
	Logger *slog.Logger
}

// WithDefaults returns cfg with every zero field set to its default: the
// one place Config's defaults are applied. It leaves a nil Client nil: New
// builds the default client, which it owns and closes.
func (cfg Config) WithDefaults() Config {
	setDuration(&cfg.ConnectTimeout, DefaultConnectTimeout)
	setDuration(&cfg.BatchWait, DefaultBatchWait)
	setDuration(&cfg.RetryMin, DefaultRetryMin)
	setDuration(&cfg.RetryMax, DefaultRetryMax)
	setDuration(&cfg.EventTimeout, DefaultEventTimeout)
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Validate reports every problem with cfg at once, in the order of the
// fields. Zero fields are fine (they take their defaults); negative ones
// are not.
func (cfg Config) Validate() error {
	var errs []error
	if err := checkURL(cfg.URL); err != nil {
		errs = append(errs, err)
	}
	if len(cfg.Secret) < MinSecretBytes {
		errs = append(errs, fmt.Errorf("hook: secret must be at least %d bytes, got %d", MinSecretBytes, len(cfg.Secret)))
	}
	// Slices, not maps: the errors come in the same order on every run.
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"connect timeout", cfg.ConnectTimeout}, {"batch wait", cfg.BatchWait},
		{"retry min", cfg.RetryMin}, {"retry max", cfg.RetryMax},
		{"event timeout", cfg.EventTimeout},
	} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("hook: %s must not be negative, got %s", f.name, f.d))
		}
	}
	for _, f := range []struct {
		name string
		n    int64
	}{
		{"max concurrent", int64(cfg.MaxConcurrent)}, {"queue size", int64(cfg.QueueSize)},
		{"batch size", int64(cfg.BatchSize)}, {"max response bytes", cfg.MaxResponseBytes},
	} {
		if f.n < 0 {
			errs = append(errs, fmt.Errorf("hook: %s must not be negative, got %d", f.name, f.n))
		}
	}
	if d := cfg.WithDefaults(); d.RetryMin > d.RetryMax {
		errs = append(errs, fmt.Errorf("hook: retry min %s exceeds retry max %s", d.RetryMin, d.RetryMax))
	}
	return errors.Join(errs...)
}

// checkURL accepts an absolute http or https URL with a host. The error
// names the URL's scheme and host only: its path or query may hold a
// credential.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("hook: no URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("hook: URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("hook: URL scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("hook: URL has no host")
	}
	return nil
}

// newHTTPClient is the default Client: connections to the one backend
// capped at the call slots plus the batcher plus one spare, as many kept
// idle, and redirects handed back as answers (a non-2xx status) rather
// than followed, so a request and its signature go to URL only.
func newHTTPClient(maxConcurrent int) *http.Client {
	conns := maxConcurrent + 2
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			DialContext:            (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:      true,
			MaxConnsPerHost:        conns,
			MaxIdleConns:           conns,
			MaxIdleConnsPerHost:    conns,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    10 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
