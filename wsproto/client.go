package wsproto

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"iter"
)

// The client side of the opening handshake (RFC 6455 §4.1), written once for
// every client in the tree: the load generator (bench) and the test client
// (internal/wstest). Like the server side it is bytes in and bytes out: the
// caller dials, writes what AppendRequest returns, and hands ParseResponse
// everything it has read so far until the response is complete.
//
//	NewKey ──> AppendRequest ──> socket ──> ParseResponse(buf, key) ──> frames after n

// KeyLen is the length of a Sec-WebSocket-Key: the base64 encoding of 16
// bytes.
const KeyLen = 24

// Client-side handshake failures. Each is a response after which "the client
// MUST _Fail the WebSocket Connection_" (RFC 6455 §4.1), except
// ErrUpgradeRefused, a well-formed HTTP answer other than 101 whose status
// the Response holds.
var (
	ErrResponseTooLarge  = errors.New("wsproto: handshake response header exceeds the limit")
	ErrMalformedResponse = errors.New("wsproto: malformed handshake response")
	ErrUpgradeRefused    = errors.New("wsproto: server refused the upgrade")
	ErrResponseNoUpgrade = errors.New("wsproto: handshake response lacks Upgrade: websocket or Connection: Upgrade")
	ErrBadAccept         = errors.New("wsproto: handshake response has a missing or wrong Sec-WebSocket-Accept")
)

// NewKey returns a fresh Sec-WebSocket-Key: "a nonce consisting of a
// randomly selected 16-byte value that has been base64-encoded" (§4.1).
func NewKey() (key [KeyLen]byte) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand never fails on Linux
	base64.StdEncoding.Encode(key[:], nonce[:])
	return key
}

// AppendRequest appends an opening handshake request (§4.1) for target (the
// path and query, "/ws?channels=a") on host (the Host header, "host:port")
// with key: the request line, Host, Upgrade, Connection,
// Sec-WebSocket-Key and Sec-WebSocket-Version, then each of header (whole
// field lines such as "Origin: https://app.example" or
// "Sec-WebSocket-Protocol: v1", without CRLF, written as they are) and the
// blank line. It allocates only when dst lacks room.
func AppendRequest(dst []byte, host string, target, key []byte, header ...string) []byte {
	dst = append(dst, "GET "...)
	dst = append(dst, target...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	dst = append(dst, key...)
	dst = append(dst, "\r\nSec-WebSocket-Version: 13\r\n"...)
	for _, h := range header {
		dst = append(dst, h...)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// Response is a server's answer to an opening handshake. Its slices alias
// the bytes given to ParseResponse and are valid as long as they are.
type Response struct {
	Status  int    // the HTTP status code: 101, or the refusal's
	headers []byte // the header lines, for Header
}

// Header returns the value of the first header field called name
// (case-insensitive), or nil.
func (r *Response) Header(name string) []byte {
	for n, v := range r.fields() {
		if equalFold(n, name) {
			return v
		}
	}
	return nil
}

func (r *Response) fields() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for n, v := range headerLines(r.headers) {
			if n == nil || !yield(n, v) {
				return
			}
		}
	}
}

// ParseResponse reads the response to a handshake sent with key from the
// start of buf, which holds every byte read so far. It returns n == 0 and
// no error while the blank line ending the header block has not arrived,
// and ErrResponseTooLarge when maxHeaderBytes (0: DefaultMaxHeaderBytes)
// pass without it. Otherwise n is the length of the response head: for a
// 101, the frames that follow it start at buf[n]; for a refusal, its body
// (Content-Length bytes, see Header) does.
//
// A status other than 101 returns the Response with ErrUpgradeRefused. A
// 101 is checked as §4.1 requires: "If the response lacks an |Upgrade|
// header field or the |Upgrade| header field contains a value that is not
// an ASCII case-insensitive match for the value "websocket"", the same for
// |Connection| and "Upgrade", and "If the response lacks a
// |Sec-WebSocket-Accept| header field or the |Sec-WebSocket-Accept|
// contains a value other than the base64-encoded SHA-1 of the
// concatenation of the |Sec-WebSocket-Key| (as a string, not
// base64-decoded) with the string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
// ... the client MUST _Fail the WebSocket Connection_."
func ParseResponse(buf, key []byte, maxHeaderBytes int) (resp Response, n int, err error) {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = DefaultMaxHeaderBytes
	}
	end := bytes.Index(buf, headerEnd)
	if end < 0 {
		if len(buf) >= maxHeaderBytes {
			return resp, 0, ErrResponseTooLarge
		}
		return resp, 0, nil
	}
	n = end + len(headerEnd)
	if n > maxHeaderBytes {
		return resp, n, ErrResponseTooLarge
	}
	line, rest, _ := bytes.Cut(buf[:n], crlf)
	status, ok := parseStatusLine(line)
	if !ok {
		return resp, n, ErrMalformedResponse
	}
	resp = Response{Status: status, headers: rest}
	var upgrade, connection, accepted bool
	for name, value := range headerLines(rest) {
		switch {
		case name == nil:
			return resp, n, ErrMalformedResponse
		case equalFold(name, "Upgrade"):
			upgrade = upgrade || hasToken(value, "websocket")
		case equalFold(name, "Connection"):
			connection = connection || hasToken(value, "upgrade")
		case equalFold(name, "Sec-WebSocket-Accept"):
			var want [28]byte
			acceptKey(&want, key)
			accepted = bytes.Equal(value, want[:])
		}
	}
	switch {
	case status != 101:
		return resp, n, ErrUpgradeRefused
	case !upgrade || !connection:
		return resp, n, ErrResponseNoUpgrade
	case !accepted:
		return resp, n, ErrBadAccept
	}
	return resp, n, nil
}

// parseStatusLine reads "HTTP/1.1 101 Switching Protocols" (the reason
// phrase may be empty) and returns the status code.
func parseStatusLine(line []byte) (int, bool) {
	proto, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return 0, false
	}
	if major, _, ok := parseHTTPVersion(proto); !ok || major != 1 {
		return 0, false
	}
	code, _, _ := bytes.Cut(rest, []byte{' '})
	if len(code) != 3 || !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) || code[0] == '0' {
		return 0, false
	}
	return int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0'), true
}
