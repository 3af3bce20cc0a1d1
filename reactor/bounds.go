package reactor

// Bounds are the limits a node enforces, as the admin API's /api/stats
// shows them under "limits": Config's bounds and modes, durations in
// seconds, and none of its secrets or handles (the token verifier, the
// public channel patterns, the relay, the logger). Call Bounds on
// Engine.Config() to see the defaults in force rather than the zeros a
// Config may hold.
type Bounds struct {
	MaxConns            int     `json:"max_conns"`
	MaxConnsPerIP       int     `json:"max_conns_per_ip"`
	MaxHeaderBytes      int     `json:"max_header_bytes"`
	MaxFrameSize        int64   `json:"max_frame_size"`
	MaxMessageSize      int64   `json:"max_message_size"`
	MaxDataSize         int     `json:"max_data_size"`
	MaxSubscriptions    int     `json:"max_subscriptions"`
	MaxOutboundBytes    int     `json:"max_outbound_bytes"`
	SlowPolicy          string  `json:"slow_policy"`
	HandshakeTimeout    float64 `json:"handshake_timeout_seconds"`
	PingInterval        float64 `json:"ping_interval_seconds"`
	PongTimeout         float64 `json:"pong_timeout_seconds"`
	IdleTimeout         float64 `json:"idle_timeout_seconds"`
	CloseTimeout        float64 `json:"close_timeout_seconds"`
	DrainWindow         float64 `json:"drain_window_seconds"`
	Loops               int     `json:"loops"`
	Auth                string  `json:"auth"` // Config.AuthMode
	MessageRate         int     `json:"message_rate"`
	MessageBurst        int     `json:"message_burst"`
	ByteRate            int     `json:"byte_rate"`
	HandshakeRatePerIP  float64 `json:"handshake_rate_per_ip"`
	HandshakeBurstPerIP int     `json:"handshake_burst_per_ip"`
	MaxSockets          int     `json:"max_sockets"`
	MaxHandshakes       int     `json:"max_handshakes"`
	MaxHandshakesPerIP  int     `json:"max_handshakes_per_ip"`
	IPv6Prefix          int     `json:"ipv6_prefix"`
	MaxChannels         int     `json:"max_channels"`
	MaxPartialBytes     int     `json:"max_partial_bytes"`
	Echo                string  `json:"echo"`
}

// Bounds returns c's limits (see Bounds). Safe on any goroutine.
func (c Config) Bounds() Bounds {
	return Bounds{
		MaxConns:            c.MaxConns,
		MaxConnsPerIP:       c.MaxConnsPerIP,
		MaxHeaderBytes:      c.Limits.MaxHeaderBytes,
		MaxFrameSize:        c.Limits.MaxFrameSize,
		MaxMessageSize:      c.Limits.MaxMessageSize,
		MaxDataSize:         c.MaxDataSize,
		MaxSubscriptions:    c.MaxSubscriptions,
		MaxOutboundBytes:    c.MaxOutboundBytes,
		SlowPolicy:          string(c.SlowPolicy),
		HandshakeTimeout:    c.HandshakeTimeout.Seconds(),
		PingInterval:        c.PingInterval.Seconds(),
		PongTimeout:         c.PongTimeout.Seconds(),
		IdleTimeout:         c.IdleTimeout.Seconds(),
		CloseTimeout:        c.CloseTimeout.Seconds(),
		DrainWindow:         c.DrainWindow.Seconds(),
		Loops:               c.Loops,
		Auth:                c.AuthMode(),
		MessageRate:         c.MessageRate,
		MessageBurst:        c.MessageBurst,
		ByteRate:            c.ByteRate,
		HandshakeRatePerIP:  c.HandshakeRatePerIP,
		HandshakeBurstPerIP: c.HandshakeBurstPerIP,
		MaxSockets:          c.MaxSockets,
		MaxHandshakes:       c.MaxHandshakes,
		MaxHandshakesPerIP:  c.MaxHandshakesPerIP,
		IPv6Prefix:          c.IPv6Prefix,
		MaxChannels:         c.MaxChannels,
		MaxPartialBytes:     c.MaxPartialBytes,
		Echo:                string(c.Echo),
	}
}

// AuthMode names the authentication c asks for: "off" (no verifier:
// tokens are ignored), "optional" (a token is verified when given;
// anonymous clients are unrestricted) or "required" (a handshake without
// a token gets 401, unless it only reads PublicChannels). The start-up log
// and /api/stats both show it.
func (c Config) AuthMode() string {
	switch {
	case c.Auth == nil:
		return "off"
	case c.AuthRequired:
		return "required"
	}
	return "optional"
}
