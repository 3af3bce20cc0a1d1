package wsproto

import (
	"errors"
	"net/http"

	"github.com/gobwas/ws"
)

// Frame-level violations. Each is a constant-like value of gobwas's
// ProtocolError type, returned as is from the hot path; CloseCode maps each
// to the close code the connection is failed with.
var (
	ErrLengthOverflow   = ws.ProtocolError("wsproto: 64-bit payload length has its most significant bit set")
	ErrFrameTooBig      = ws.ProtocolError("wsproto: frame payload exceeds the frame size limit")
	ErrMessageTooBig    = ws.ProtocolError("wsproto: message exceeds the message size limit")
	ErrInvalidUTF8      = ws.ProtocolError("wsproto: text message is not valid UTF-8")
	ErrCloseTooShort    = ws.ProtocolError("wsproto: close payload of one byte")
	ErrCloseCodeInvalid = ws.ProtocolError("wsproto: close code is not valid on the wire")
	ErrCloseReasonUTF8  = ws.ProtocolError("wsproto: close reason is not valid UTF-8")
)

// CloseCode is the status a connection is failed with for err: 1009 for
// size limits, 1007 for bad UTF-8, 1002 for every other protocol violation,
// and 1011 for an error that is not a protocol error. err may be wrapped
// (errors.Is and errors.As see through it).
func CloseCode(err error) ws.StatusCode {
	switch {
	case err == nil:
		return ws.StatusNormalClosure
	case errors.Is(err, ErrFrameTooBig), errors.Is(err, ErrMessageTooBig):
		return ws.StatusMessageTooBig
	case errors.Is(err, ErrInvalidUTF8), errors.Is(err, ErrCloseReasonUTF8):
		return ws.StatusInvalidFramePayloadData
	}
	var pe ws.ProtocolError
	if errors.As(err, &pe) {
		return ws.StatusProtocolError
	}
	return ws.StatusInternalServerError
}

// RejectError is a refused handshake: the HTTP status and a short reason
// sent as the response body. Values are sentinels; compare with == or
// errors.Is, or take the status with errors.As.
type RejectError struct {
	Status int
	Reason string
}

func (e *RejectError) Error() string {
	return "wsproto: handshake rejected: " + http.StatusText(e.Status) + ": " + e.Reason
}

// Handshake rejections, one per rule of RFC 6455 §4.2.1 (plus limits).
var (
	ErrHeaderTooLarge   = &RejectError{http.StatusRequestHeaderFieldsTooLarge, "request header block exceeds the limit"}
	ErrMalformedRequest = &RejectError{http.StatusBadRequest, "malformed HTTP request"}
	ErrMethodNotGet     = &RejectError{http.StatusMethodNotAllowed, "method must be GET"}
	ErrHTTPVersion      = &RejectError{http.StatusHTTPVersionNotSupported, "HTTP/1.1 or later is required"}
	ErrMissingHost      = &RejectError{http.StatusBadRequest, "missing Host header"}
	ErrDuplicateHeader  = &RejectError{http.StatusBadRequest, "duplicate Host, Sec-WebSocket-Key or Sec-WebSocket-Version header"}
	ErrNotUpgrade       = &RejectError{http.StatusBadRequest, "Upgrade: websocket and Connection: Upgrade are required"}
	ErrBadKey           = &RejectError{http.StatusBadRequest, "Sec-WebSocket-Key must be the base64 encoding of 16 bytes"}
	ErrBadVersion       = &RejectError{http.StatusUpgradeRequired, "Sec-WebSocket-Version must be 13"}
	ErrNotFound         = &RejectError{http.StatusNotFound, "no WebSocket endpoint at this path"}
	ErrForbidden        = &RejectError{http.StatusForbidden, "origin not allowed"}
	ErrUnavailable      = &RejectError{http.StatusServiceUnavailable, "connection limit reached"}
	ErrDraining         = &RejectError{http.StatusServiceUnavailable, "server is draining"}
	ErrHandshakeTimeout = &RejectError{http.StatusRequestTimeout, "handshake not completed in time"}
)
