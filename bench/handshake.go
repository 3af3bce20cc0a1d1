package bench

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strconv"

	"github.com/wsgate/wsgate/wsproto"
)

// maxResponseHeader bounds the server's handshake response; a larger one
// fails the connection.
const maxResponseHeader = 8 << 10

// handshakeError is a failed upgrade, named by kind for the error table.
type handshakeError string

func (e handshakeError) Error() string { return string(e) }

const (
	errResponseTooLarge handshakeError = "handshake_response_too_large"
	errResponseBad      handshakeError = "handshake_malformed_response"
	errAcceptMismatch   handshakeError = "handshake_bad_accept"
)

// connKey derives connection id's Sec-WebSocket-Key from the run's salt, so
// the key need not be stored to check the answer: base64 of 16 bytes.
func connKey(salt uint64, id uint64) (key [24]byte) {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], salt)
	binary.LittleEndian.PutUint64(raw[8:], id^salt*0x9e3779b97f4a7c15)
	base64.StdEncoding.Encode(key[:], raw[:])
	return key
}

// appendUpgrade appends the opening handshake request (RFC 6455 §4.1).
// ch < 0 subscribes to nothing.
func appendUpgrade(dst []byte, t *Target, prefix string, ch int, key *[24]byte) []byte {
	dst = append(dst, "GET "...)
	dst = t.appendPath(dst, prefix, ch)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, t.Host...)
	dst = append(dst, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	dst = append(dst, key[:]...)
	return append(dst, "\r\nSec-WebSocket-Version: 13\r\n\r\n"...)
}

// parseUpgradeResponse checks the server's response at the start of buf.
// It returns n == 0 while the response is incomplete, else the length of
// the response (frames may follow it). A status other than 101 is reported
// as "http_<status>".
func parseUpgradeResponse(buf []byte, key *[24]byte) (n int, err error) {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(buf) > maxResponseHeader {
			return 0, errResponseTooLarge
		}
		return 0, nil
	}
	n = end + 4
	lines := buf[:end]
	status, rest, _ := bytes.Cut(lines, []byte("\r\n"))
	// "HTTP/1.1 101 Switching Protocols"
	if len(status) < 12 || !bytes.HasPrefix(status, []byte("HTTP/1.")) || status[8] != ' ' {
		return n, errResponseBad
	}
	code := status[9:12]
	if string(code) != "101" {
		if _, err := strconv.Atoi(string(code)); err != nil {
			return n, errResponseBad
		}
		return n, handshakeError("http_" + string(code))
	}
	// "If the response lacks a |Sec-WebSocket-Accept| header field or the
	// |Sec-WebSocket-Accept| contains a value other than the base64-encoded
	// SHA-1 of the concatenation of the |Sec-WebSocket-Key| ... the client
	// MUST _Fail the WebSocket Connection_." (§4.1)
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Accept")) {
			if !bytes.Equal(bytes.TrimSpace(value), wsproto.AcceptKey(key[:])) {
				return n, errAcceptMismatch
			}
			return n, nil
		}
	}
	return n, errAcceptMismatch
}
