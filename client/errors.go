package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/wsgate/wsgate/wireproto"
)

// Error is an error frame the server answered a command with:
// {"type":"error","id":ID,"code":C,"message":M}. Code is one of the stable
// codes of docs/protocol.md, the wire.Code constants (wire.CodeForbidden,
// wire.CodeBadChannel, ...): switch on it. Message is for humans.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return "wsgate: " + e.Code + ": " + e.Message }

// CloseError is a close frame the server sent (docs/protocol.md, "Close
// codes the server sends").
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("wsgate: connection closed by the server: %d %s", e.Code, e.Reason)
}

// HandshakeError is an opening handshake the server refused: its HTTP
// status (401, 403, 429, 503, ...), its Retry-After (0 when absent) and
// the start of its body, which says why.
type HandshakeError struct {
	URL        string
	Status     int
	RetryAfter time.Duration
	Body       string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("wsgate: handshake with %s refused: %d %s", e.URL, e.Status, e.Body)
}

var (
	// ErrClosed is returned by calls on a client that was closed, by Close
	// or by a final refusal (Err says which).
	ErrClosed = errors.New("wsgate: client closed")
	// ErrSubscribed is returned by Subscribe for a channel the client is
	// already subscribed to: the server keeps one subscription per channel
	// and connection, so a second would replace the first.
	ErrSubscribed = errors.New("wsgate: already subscribed to this channel")
	// ErrSubprotocolRefused is (wrapped) why a FormatProtobuf client
	// failed a connection: the server accepted the WebSocket handshake
	// but not the subprotocol wsgate.v1.proto (it speaks only JSON, or a
	// proxy dropped the header). Before the first connection it is a
	// final refusal (Connect returns it, Err says it); afterwards the
	// client backs off and tries its URLs again, as for a refused
	// handshake.
	ErrSubprotocolRefused = errors.New("wsgate: the server did not accept subprotocol " + wireproto.Protocol)
	// ErrConnectionLost fails a command that cannot outlive its connection
	// (a token refresh).
	ErrConnectionLost = errors.New("wsgate: connection lost")

	// errRefreshRefused ends a connection whose token refresh the server
	// answered unauthorized: the client reconnects with a fresh token.
	errRefreshRefused = errors.New("wsgate: token refresh refused")
)
