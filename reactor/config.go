package reactor

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"time"

	"github.com/wsgate/wsgate/wsproto"
)

// Defaults for Config.
const (
	DefaultListen           = ":8080"
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultCloseTimeout     = 5 * time.Second
	EchoPath                = "/echo"
)

// Config is the reactor's configuration. The zero value is valid: every zero
// field takes the default named in its comment (applied by withDefaults).
type Config struct {
	// Listen is the TCP address for WebSocket clients. Default ":8080".
	Listen string
	// Loops is the number of event loops. Default: one per CPU (GOMAXPROCS).
	Loops int
	// DisableEcho turns off the /echo endpoint, which echoes every message
	// back with its opcode (the reference target for conformance and
	// latency tests). Echo is on by default.
	DisableEcho bool
	// Limits bounds the handshake header block, frames and messages
	// (wsproto's defaults: 8 KiB, 1 MiB, 1 MiB).
	Limits wsproto.Limits
	// HandshakeTimeout closes a connection that has not completed its
	// upgrade request in time (slowloris). Default 10s.
	HandshakeTimeout time.Duration
	// CloseTimeout is how long a connection may take to answer our close
	// frame before its TCP connection is closed anyway. Default 5s.
	CloseTimeout time.Duration
	// Logger receives the reactor's logs, never one per frame. Default
	// slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Loops <= 0 {
		c.Loops = runtime.GOMAXPROCS(0)
	}
	c.Limits = c.Limits.WithDefaults()
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); c.Listen != "" && err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: %w", c.Listen, err))
	}
	if c.Loops < 0 {
		errs = append(errs, fmt.Errorf("loops must not be negative, got %d", c.Loops))
	}
	if c.Limits.MaxHeaderBytes < 0 || c.Limits.MaxFrameSize < 0 || c.Limits.MaxMessageSize < 0 {
		errs = append(errs, errors.New("size limits must not be negative"))
	}
	if c.Limits.MaxFrameSize > 0 && c.Limits.MaxMessageSize > 0 && c.Limits.MaxFrameSize > c.Limits.MaxMessageSize {
		errs = append(errs, fmt.Errorf("max frame size %d exceeds max message size %d", c.Limits.MaxFrameSize, c.Limits.MaxMessageSize))
	}
	if c.HandshakeTimeout < 0 || c.CloseTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	return errors.Join(errs...)
}

// tick is the timer wheel's resolution: a quarter of the shortest timeout,
// between 5ms and 1s, so a timeout fires at most 25% late.
func (c Config) tick() time.Duration {
	return min(max(min(c.HandshakeTimeout, c.CloseTimeout)/4, 5*time.Millisecond), time.Second)
}
