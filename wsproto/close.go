package wsproto

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// ValidCloseCode reports whether code may appear in a close frame on the
// wire: 1000–1003 and 1007–1014 (the IANA-registered codes of RFC 6455
// §7.4), and 3000–4999 (registered and private use). 1004–1006 and 1015 are
// reserved for local use only and are never sent (§7.4.1).
func ValidCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	default:
		return code >= 3000 && code <= 4999
	}
}

// ParseClose splits a close frame payload into code and reason (§5.5.1). An
// empty payload is code 1005 (no status received), which is valid. A
// one-byte payload, a code that may not be sent, or a reason that is not
// UTF-8 is an error. reason aliases payload.
func ParseClose(payload []byte) (code ws.StatusCode, reason []byte, err error) {
	switch {
	case len(payload) == 0:
		return ws.StatusNoStatusRcvd, nil, nil
	case len(payload) == 1:
		return 0, nil, ErrCloseTooShort
	}
	code = ws.StatusCode(binary.BigEndian.Uint16(payload))
	reason = payload[2:]
	if !ValidCloseCode(code) {
		return code, reason, ErrCloseCodeInvalid
	}
	if !ValidUTF8(reason) {
		return code, reason, ErrCloseReasonUTF8
	}
	return code, reason, nil
}
