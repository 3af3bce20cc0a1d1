package proxy

// Error is a reason ParseHeader refused the start of a connection. The
// values are constants, so the hot path returns them without allocating and
// a caller can count refusals by comparing (or errors.Is) against each one.
type Error string

func (e Error) Error() string { return string(e) }

// The refusals ParseHeader returns, one per condition. Every one means the
// connection must be closed: nothing after a refused header can be trusted
// to be the client's first request byte.
const (
	// ErrNotProxy: the first bytes are not a PROXY protocol signature (a
	// client that connected straight to the node, or a proxy that was not
	// told to send a header).
	ErrNotProxy Error = "proxy: no PROXY protocol header"
	// ErrVersion: a well-formed start of the version this listener does not
	// accept (or the listener accepts none: Off).
	ErrVersion Error = "proxy: PROXY protocol version not accepted by this listener"
	// ErrMalformed: the header breaks the specification (a bad address,
	// port, separator, command, family or length).
	ErrMalformed Error = "proxy: malformed PROXY protocol header"
	// ErrTooLong: a v1 line without CRLF within 107 bytes, or a v2 header
	// announcing more than MaxHeader bytes.
	ErrTooLong Error = "proxy: PROXY protocol header too long"
	// ErrUnsupported: a v2 PROXY command for an AF_UNIX or datagram
	// connection, which a WebSocket node cannot have behind it.
	ErrUnsupported Error = "proxy: PROXY protocol header for an unsupported family or transport"
)
