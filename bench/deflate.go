package bench

import (
	"bytes"
)

// The client side of permessage-deflate (RFC 7692), for Config.Deflate.
// wsbench offers what browsers offer and receives compressed messages; it
// never sends one (its publisher's frames and echo messages go plain, which
// §6 allows: "An endpoint MAY send a message without compression"). Each
// compressed message is inflated on its own by wsproto's Decoder with a
// pooled inflater (Decoder.SetDeflate), so a connection keeps no window:
// the server must compress every message alone, which its answer says with
// server_no_context_takeover. wsgate always answers so.

// deflateOffer is the extension wsbench offers, as a browser does: "The
// client_max_window_bits extension parameter ... with no value" tells the
// server the client could take any window it asks for (§7.1.2.2).
const deflateOffer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"

// Handshake failures specific to permessage-deflate.
const (
	// The server accepted an extension wsbench did not offer: "If the
	// response includes a |Sec-WebSocket-Extensions| header field and this
	// header field indicates the use of an extension that was not present
	// in the client's handshake ... the client MUST _Fail the WebSocket
	// Connection_" (RFC 6455 §4.1).
	errUnofferedExtension handshakeError = "handshake_unoffered_extension"
	// The server's permessage-deflate answer is malformed or has a
	// parameter the client cannot honour (§7.1: "If a received extension
	// negotiation response includes an extension parameter ... that the
	// client does not support, the client MUST _Fail the WebSocket
	// Connection_"), or lacks server_no_context_takeover, without which
	// wsbench's stateless inflater would mis-read the second message.
	errDeflateResponse handshakeError = "handshake_bad_deflate_response"
)

// parseDeflateResponse reads the value of the server's
// Sec-WebSocket-Extensions (nil: none) for a client that offered
// deflateOffer, or offered nothing when offered is false. accepted reports
// whether permessage-deflate is in use.
//
// An offer can be answered by one extension only. Its parameters are those
// of §7.1 for a response: server_no_context_takeover and
// client_no_context_takeover without values, server_max_window_bits and
// client_max_window_bits with a value (8 to 15). Each may appear once.
func parseDeflateResponse(value []byte, offered bool) (accepted bool, err error) {
	value = bytes.TrimSpace(value)
	if len(value) == 0 {
		return false, nil
	}
	if !offered {
		return false, errUnofferedExtension
	}
	if bytes.IndexByte(value, ',') >= 0 { // one extension answers one offer
		return false, errDeflateResponse
	}
	parts := bytes.Split(value, []byte{';'})
	if !bytes.EqualFold(bytes.TrimSpace(parts[0]), []byte("permessage-deflate")) {
		return false, errUnofferedExtension
	}
	var seen [4]bool
	serverNoContext := false
	for _, p := range parts[1:] {
		name, val, hasValue := bytes.Cut(p, []byte{'='})
		name, val = bytes.TrimSpace(name), bytes.Trim(bytes.TrimSpace(val), `"`)
		i := -1
		switch {
		case bytes.EqualFold(name, []byte("server_no_context_takeover")):
			i, serverNoContext = 0, true
		case bytes.EqualFold(name, []byte("client_no_context_takeover")):
			i = 1
		case bytes.EqualFold(name, []byte("server_max_window_bits")):
			i = 2
		case bytes.EqualFold(name, []byte("client_max_window_bits")):
			i = 3
		}
		if i < 0 || seen[i] || (i < 2) == hasValue || i >= 2 && !validWindowBits(val) {
			return false, errDeflateResponse
		}
		seen[i] = true
	}
	if !serverNoContext {
		return false, errDeflateResponse
	}
	return true, nil
}

// validWindowBits: "a decimal integer value without leading zeroes between
// 8 to 15, inclusive" (§7.1.2.1, §7.1.2.2).
func validWindowBits(v []byte) bool {
	switch len(v) {
	case 1:
		return v[0] == '8' || v[0] == '9'
	case 2:
		return v[0] == '1' && v[1] >= '0' && v[1] <= '5'
	}
	return false
}
