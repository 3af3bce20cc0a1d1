package auth

import (
	"bytes"
	"net/url"
	"strings"
)

// Subprotocol conventions (see the package doc).
const (
	// Protocol is the subprotocol name of wsgate's JSON protocol; the server
	// echoes it when offered.
	Protocol = "wsgate.v1"
	// TokenProtocolPrefix starts the subprotocol entry that carries a token.
	TokenProtocolPrefix = "wsgate.token."
)

// Handshake is what Extract reads from an opening handshake. Slices may
// alias the request bytes; Extract copies what it returns.
type Handshake struct {
	Query         []byte   // the raw query string, without '?'
	Authorization []byte   // the Authorization header's value, or nil
	Protocols     [][]byte // the offered subprotocols, in order
}

// Extract returns the token of a handshake ("" with ErrNoToken when there is
// none; ErrMultipleTokens when more than one place carries one) and the
// subprotocol to echo: Protocol when the client offered it, else nil. The
// echoed protocol is never a token entry.
func Extract(h Handshake) (token string, protocol []byte, err error) {
	found := 0
	for _, p := range h.Protocols {
		switch {
		case string(p) == Protocol:
			protocol = []byte(Protocol)
		case bytes.HasPrefix(p, []byte(TokenProtocolPrefix)):
			token = string(p[len(TokenProtocolPrefix):])
			found++
		}
	}
	if bearer, ok := cutBearer(h.Authorization); ok {
		token = string(bearer)
		found++
	}
	if len(h.Query) > 0 && bytes.Contains(h.Query, []byte("token")) {
		values, qerr := url.ParseQuery(string(h.Query))
		if qerr != nil {
			return "", protocol, ErrMalformed
		}
		for _, v := range values["token"] {
			token = v
			found++
		}
	}
	switch {
	case found > 1:
		return "", protocol, ErrMultipleTokens
	case found == 0 || token == "":
		return "", protocol, ErrNoToken
	}
	return token, protocol, nil
}

// cutBearer returns the credentials of an "Authorization: Bearer X" value
// (the scheme is case-insensitive, RFC 7235 §2.1).
func cutBearer(v []byte) ([]byte, bool) {
	const scheme = "bearer "
	if len(v) <= len(scheme) || !strings.EqualFold(string(v[:len(scheme)]), scheme) {
		return nil, false
	}
	return bytes.TrimLeft(v[len(scheme):], " "), true
}
