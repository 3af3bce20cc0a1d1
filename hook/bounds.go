package hook

import (
	"slices"
	"strings"
)

// Bounds of a request: one client's handshake cannot make the gateway send
// a large connect body.
const (
	// MaxHeaderNames caps the header names a connect request carries.
	MaxHeaderNames = 64
	// MaxHeaderBytes caps the bytes of header names and values a connect
	// request carries.
	MaxHeaderBytes = 8 << 10
)

// Bounds of an answer, checked by the parsers; an answer past one is
// ErrAnswer, never cut to fit, except a reason.
const (
	// MaxUserBytes caps the "user" of a connect answer.
	MaxUserBytes = 256
	// MaxPatterns caps the patterns of a connect answer's "subscribe" and
	// of its "publish" (the same cap the auth package puts on a token's).
	MaxPatterns = 64
	// MaxPatternBytes caps one pattern of a connect answer.
	MaxPatternBytes = 256
	// MaxReasonBytes caps a deny's reason: RFC 6455 §5.5, "All control
	// frames MUST have a payload length of 125 bytes or less", less the
	// 2-byte status code of a close frame, so the same reason fits a
	// handshake refusal, an error frame and a close frame.
	MaxReasonBytes = 123
)

// capHeaders returns h bounded by MaxHeaderNames and MaxHeaderBytes. Names
// are taken in sorted order, and a value that would pass the byte budget is
// left out (the budget may still take a shorter one after it), so the same
// headers always give the same result. h itself is returned when it fits,
// and never modified; nil becomes an empty map, so the body always carries
// an object.
func capHeaders(h map[string][]string) map[string][]string {
	if h == nil {
		return map[string][]string{}
	}
	if fits(h) {
		return h
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make(map[string][]string, min(len(h), MaxHeaderNames))
	budget := MaxHeaderBytes
	for _, name := range names {
		if len(out) == MaxHeaderNames {
			break
		}
		if len(name) > budget {
			continue
		}
		var kept []string
		left := budget - len(name)
		for _, v := range h[name] {
			if len(v) <= left {
				kept = append(kept, v)
				left -= len(v)
			}
		}
		if len(kept) > 0 || len(h[name]) == 0 {
			out[name] = kept
			budget = left
		}
	}
	return out
}

// fits reports whether h is within both header bounds as it is.
func fits(h map[string][]string) bool {
	if len(h) > MaxHeaderNames {
		return false
	}
	n := 0
	for name, values := range h {
		n += len(name)
		for _, v := range values {
			n += len(v)
		}
	}
	return n <= MaxHeaderBytes
}

// sanitizeReason makes a backend's reason safe for a handshake status line,
// an error frame and a close frame: each character outside printable ASCII
// (and each byte of invalid UTF-8) becomes '?', and the result is cut to
// MaxReasonBytes.
func sanitizeReason(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), MaxReasonBytes))
	for _, r := range s {
		if b.Len() == MaxReasonBytes {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteByte(byte(r))
	}
	return b.String()
}

// validName reports whether s (a user or a pattern) is 1 to limit bytes
// without control characters: it goes into logs, frames and events as it
// is.
func validName(s string, limit int) bool {
	if len(s) == 0 || len(s) > limit {
		return false
	}
	for i := range len(s) {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}
