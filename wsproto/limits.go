package wsproto

// Defaults for Limits. The message cap matches NATS and Socket.IO (1 MiB);
// a gateway that wants Centrifugo's 64 KiB sets it lower.
const (
	DefaultMaxHeaderBytes = 8 << 10
	DefaultMaxFrameSize   = 1 << 20
	DefaultMaxMessageSize = 1 << 20

	// MaxControlPayload is the largest control frame payload (RFC 6455 §5.5:
	// "All control frames MUST have a payload length of 125 bytes or less").
	MaxControlPayload = 125
)

// Limits bounds what a peer may make the server hold. The zero value means
// the defaults above.
type Limits struct {
	// MaxHeaderBytes caps the handshake request, request line and headers
	// including the blank line; beyond it the answer is 431.
	MaxHeaderBytes int
	// MaxFrameSize caps one frame's declared payload length; beyond it the
	// connection fails with 1009 before the payload is read.
	MaxFrameSize int64
	// MaxMessageSize caps a whole (possibly fragmented) message; beyond it
	// the connection fails with 1009.
	MaxMessageSize int64
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxFrameSize <= 0 {
		l.MaxFrameSize = DefaultMaxFrameSize
	}
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = DefaultMaxMessageSize
	}
	return l
}
