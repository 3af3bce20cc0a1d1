package reactor

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/relay"
	"github.com/wsgate/wsgate/wsproto"
)

// withDefaults fills every zero field of c with the default its doc
// comment names: the one place defaults are applied (New calls it after
// Validate).
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Loops <= 0 {
		c.Loops = runtime.GOMAXPROCS(0)
	}
	c.Limits = c.Limits.WithDefaults()
	if c.CompressionMinSize == 0 {
		c.CompressionMinSize = wsproto.CompressionMinSize
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PongTimeout <= 0 {
		c.PongTimeout = DefaultPongTimeout
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.Echo == EchoAuto {
		c.Echo = EchoOn
		if c.Auth != nil {
			c.Echo = EchoOff
		}
	}
	if c.MaxOutboundBytes <= 0 {
		c.MaxOutboundBytes = DefaultMaxOutbound
		if c.Echo == EchoOn {
			c.MaxOutboundBytes = max(c.MaxOutboundBytes, int(c.Limits.MaxMessageSize)+ws.MaxHeaderSize)
		}
	}
	if c.SlowPolicy == "" {
		c.SlowPolicy = SlowClose
	}
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if c.MaxDataSize <= 0 {
		c.MaxDataSize = DefaultMaxDataSize
	}
	if c.DrainWindow <= 0 {
		c.DrainWindow = DefaultDrainWindow
	}
	if c.MessageRate == 0 {
		c.MessageRate = DefaultMessageRate
	}
	if c.MessageBurst <= 0 {
		c.MessageBurst = max(DefaultMessageBurst, c.MessageRate)
	}
	if c.ByteRate == 0 {
		c.ByteRate = DefaultByteRate
	}
	if c.HandshakeBurstPerIP <= 0 {
		c.HandshakeBurstPerIP = max(int(2*c.HandshakeRatePerIP), 1)
	}
	if c.MaxRateLimitIPs <= 0 {
		c.MaxRateLimitIPs = DefaultMaxRateLimitIPs
	}
	if c.ReservedFDs <= 0 {
		c.ReservedFDs = DefaultReservedFDs + 4*c.Loops
	}
	if c.MaxSockets <= 0 {
		c.MaxSockets = socketCeiling(c.fdReserve())
	}
	if c.MaxHandshakes <= 0 {
		c.MaxHandshakes = max(c.MaxSockets/10, 64)
	}
	if c.IPv6Prefix <= 0 {
		c.IPv6Prefix = DefaultIPv6Prefix
	}
	if c.MaxChannels <= 0 {
		c.MaxChannels = DefaultMaxChannels
	}
	if c.MaxPartialBytes <= 0 {
		c.MaxPartialBytes = DefaultMaxPartialBytes
	}
	// Every loop can hold at least one message in part.
	c.MaxPartialBytes = int(max(int64(c.MaxPartialBytes), int64(c.Loops)*c.Limits.MaxMessageSize))
	if c.Relay == nil {
		c.Relay = relay.NewLocal()
	}
	if c.NodeID == "" {
		c.NodeID = "wsgate"
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// tick is the timer wheel's resolution: a quarter of the shortest timeout,
// so a timeout fires at most 25% late, and a 64th of the drain window, so
// drain closes are spread finely; between 5ms and 1s. Call it on a Config
// with defaults applied.
func (c Config) tick() time.Duration {
	shortest := min(c.HandshakeTimeout, c.CloseTimeout, c.PingInterval, c.PongTimeout)
	if c.IdleTimeout > 0 {
		shortest = min(shortest, c.IdleTimeout)
	}
	return min(max(min(shortest/4, c.DrainWindow/64), 5*time.Millisecond), time.Second)
}
