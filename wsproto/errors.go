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
	// RFC 7692 §6: "An endpoint MUST NOT set the "Per-Message Compressed"
	// bit of control frames and non-first fragments of a data message. An
	// endpoint receiving such a frame MUST _Fail the WebSocket
	// Connection_."
	ErrRSV1Misplaced = ws.ProtocolError("wsproto: RSV1 (per-message compressed) on a control frame or a continuation")
	// ErrBadCompressedData is a compressed message that does not inflate
	// (RFC 7692 §7.2.2): corrupt or truncated DEFLATE data. RFC 7692 names no
	// close code for it; it is failed with 1007, RFC 6455 §7.4.1's "data
	// within a message that was not consistent with the type of the
	// message", as the ws library for Node.js does (1002 is for framing,
	// and the framing was valid). Autobahn's 12.x and 13.x cases send only
	// valid compressed data.
	ErrBadCompressedData = ws.ProtocolError("wsproto: compressed message does not inflate")
)

// CloseCode is the status a connection is failed with for err: 1009 for
// size limits (an inflated message included), 1007 for bad UTF-8 and for
// compressed data that does not inflate, 1002 for every other protocol violation,
// and 1011 for an error that is not a protocol error. err may be wrapped
// (errors.Is and errors.As see through it).
func CloseCode(err error) ws.StatusCode {
	switch {
	case err == nil:
		return ws.StatusNormalClosure
	case errors.Is(err, ErrFrameTooBig), errors.Is(err, ErrMessageTooBig):
		return ws.StatusMessageTooBig
	case errors.Is(err, ErrInvalidUTF8), errors.Is(err, ErrCloseReasonUTF8), errors.Is(err, ErrBadCompressedData):
		return ws.StatusInvalidFramePayloadData
	}
	var pe ws.ProtocolError
	if errors.As(err, &pe) {
		return ws.StatusProtocolError
	}
	return ws.StatusInternalServerError
}

// RejectError is a refused handshake: the HTTP status, a short reason sent
// as the response body, and any header lines the status calls for. Values
// are sentinels; compare with == or errors.Is, or take the status with
// errors.As. wsproto's own are the refusals of RFC 6455 §4.2.1 and of the
// size limit; a server declares its policy's (404, 401, 403, 429, 503...)
// the same way.
type RejectError struct {
	Status int
	Reason string
	// Header holds extra header lines for the response, each ending in
	// "\r\n" (e.g. "Retry-After: 1\r\n"), written as they are; "" for none.
	Header string
}

func (e *RejectError) Error() string {
	return "wsproto: handshake rejected: " + http.StatusText(e.Status) + ": " + e.Reason
}

// Handshake rejections, one per rule of RFC 6455 §4.2.1 (plus limits).
var (
	ErrHeaderTooLarge   = &RejectError{Status: http.StatusRequestHeaderFieldsTooLarge, Reason: "request header block exceeds the limit"}
	ErrMalformedRequest = &RejectError{Status: http.StatusBadRequest, Reason: "malformed HTTP request"}
	// RFC 9110 §15.5.6: "The origin server MUST generate an Allow header
	// field in a 405 response".
	ErrMethodNotGet    = &RejectError{Status: http.StatusMethodNotAllowed, Reason: "method must be GET", Header: "Allow: GET\r\n"}
	ErrHTTPVersion     = &RejectError{Status: http.StatusHTTPVersionNotSupported, Reason: "HTTP/1.1 or later is required"}
	ErrMissingHost     = &RejectError{Status: http.StatusBadRequest, Reason: "missing Host header"}
	ErrDuplicateHeader = &RejectError{Status: http.StatusBadRequest, Reason: "duplicate Host, Sec-WebSocket-Key or Sec-WebSocket-Version header"}
	ErrNotUpgrade      = &RejectError{Status: http.StatusBadRequest, Reason: "Upgrade: websocket and Connection: Upgrade are required"}
	ErrBadKey          = &RejectError{Status: http.StatusBadRequest, Reason: "Sec-WebSocket-Key must be the base64 encoding of 16 bytes"}
	// RFC 6455 §4.2.2 (and §4.4): the server sends "an appropriate HTTP
	// error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version|
	// header field indicating the version(s) the server is capable of
	// understanding".
	ErrBadVersion = &RejectError{Status: http.StatusUpgradeRequired, Reason: "Sec-WebSocket-Version must be 13",
		Header: "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n"}
)
