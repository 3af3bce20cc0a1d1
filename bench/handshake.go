package bench

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
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
	errNoUpgrade        handshakeError = "handshake_no_upgrade"
	errAcceptMismatch   handshakeError = "handshake_bad_accept"
)

// connKey derives connection id's Sec-WebSocket-Key from the run's salt, so
// the key need not be stored to check the answer: base64 of 16 bytes.
func connKey(salt uint64, id uint64) (key [wsproto.KeyLen]byte) {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], salt)
	binary.LittleEndian.PutUint64(raw[8:], id^salt*0x9e3779b97f4a7c15)
	base64.StdEncoding.Encode(key[:], raw[:])
	return key
}

// appendUpgrade appends the opening handshake request (wsproto's client
// side, RFC 6455 §4.1) for t's path subscribing to channel number ch
// (ch < 0: to nothing), with lines after wsproto's own fields: the run's
// extra headers, the subprotocols offered and the deflate offer, built once
// per run (handshakeLines). The path is built on the stack: no allocation
// beyond dst's growth.
func appendUpgrade(dst []byte, t *Target, prefix string, ch int, key *[wsproto.KeyLen]byte, lines []string) []byte {
	var path [256]byte
	target := t.appendPath(path[:0], prefix, ch)
	return wsproto.AppendRequest(dst, t.Host, target, key[:], lines...)
}

// parseUpgradeResponse checks the server's response at the start of buf
// (wsproto.ParseResponse). It returns n == 0 while the response is
// incomplete, else the length of the response (frames may follow it), and
// whether the server accepted permessage-deflate, which the request offered
// if deflate is set (parseDeflateResponse). The subprotocol the server
// chose must be one of protocols, and one must be chosen if any was offered
// (checkProtocol). A failure is a handshakeError: a status other than 101
// is "http_<status>".
func parseUpgradeResponse(buf []byte, key *[wsproto.KeyLen]byte, deflate bool, protocols []string) (n int, accepted bool, err error) {
	resp, n, err := wsproto.ParseResponse(buf, key[:], maxResponseHeader)
	switch {
	case err == nil:
		if n == 0 {
			return 0, false, nil
		}
		if err := checkProtocol(resp.Header("Sec-WebSocket-Protocol"), protocols); err != nil {
			return n, false, err
		}
		accepted, err := parseDeflateResponse(resp.Header("Sec-WebSocket-Extensions"), deflate)
		if err != nil {
			return n, false, err
		}
		return n, accepted, nil
	case errors.Is(err, wsproto.ErrUpgradeRefused):
		return n, false, handshakeError("http_" + strconv.Itoa(resp.Status))
	case errors.Is(err, wsproto.ErrResponseTooLarge):
		return n, false, errResponseTooLarge
	case errors.Is(err, wsproto.ErrResponseNoUpgrade):
		return n, false, errNoUpgrade
	case errors.Is(err, wsproto.ErrBadAccept):
		return n, false, errAcceptMismatch
	}
	return n, false, errResponseBad
}
