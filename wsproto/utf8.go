package wsproto

import "encoding/binary"

// utf8State is the position of an incremental UTF-8 validator inside a code
// point, so a text message can be checked piece by piece as it arrives
// (RFC 6455 §8.1) and fail on the first invalid byte rather than at the end.
type utf8State uint8

// The states after a lead byte name what the next byte must be (RFC 3629 §4,
// which excludes overlongs, surrogates and code points above U+10FFFF).
const (
	utf8Accept  utf8State = iota // between code points
	utf8Tail1                    // 1 continuation byte 80..BF left
	utf8Tail2                    // 2 continuation bytes left
	utf8Tail3                    // 3 continuation bytes left
	utf8AfterE0                  // next A0..BF, then 1 more
	utf8AfterED                  // next 80..9F, then 1 more
	utf8AfterF0                  // next 90..BF, then 2 more
	utf8AfterF4                  // next 80..8F, then 2 more
	utf8Reject
)

// leadState is the state after each possible first byte of a code point.
var leadState = func() (t [256]utf8State) {
	for c := range 256 {
		switch {
		case c < 0x80:
			t[c] = utf8Accept
		case c >= 0xC2 && c <= 0xDF:
			t[c] = utf8Tail1
		case c == 0xE0:
			t[c] = utf8AfterE0
		case c == 0xED:
			t[c] = utf8AfterED
		case c >= 0xE1 && c <= 0xEF:
			t[c] = utf8Tail2
		case c == 0xF0:
			t[c] = utf8AfterF0
		case c >= 0xF1 && c <= 0xF3:
			t[c] = utf8Tail3
		case c == 0xF4:
			t[c] = utf8AfterF4
		default: // 80..C1 (continuation or overlong lead), F5..FF
			t[c] = utf8Reject
		}
	}
	return t
}()

// next advances the validator over p. It returns utf8Reject at the first
// invalid byte; the message is complete and valid only if the final state is
// utf8Accept.
func (s utf8State) next(p []byte) utf8State {
	for len(p) > 0 {
		if s == utf8Accept {
			// Skip ASCII eight bytes at a time: most text is ASCII.
			for len(p) >= 8 && binary.LittleEndian.Uint64(p)&0x8080808080808080 == 0 {
				p = p[8:]
			}
			if len(p) == 0 {
				return s
			}
		}
		c := p[0]
		p = p[1:]
		switch s {
		case utf8Accept:
			s = leadState[c]
			if s == utf8Reject {
				return s
			}
			continue
		case utf8AfterE0:
			s = inRange(c, 0xA0, 0xBF, utf8Tail1)
		case utf8AfterED:
			s = inRange(c, 0x80, 0x9F, utf8Tail1)
		case utf8AfterF0:
			s = inRange(c, 0x90, 0xBF, utf8Tail2)
		case utf8AfterF4:
			s = inRange(c, 0x80, 0x8F, utf8Tail2)
		default: // utf8Tail1..3
			s = inRange(c, 0x80, 0xBF, s-1)
		}
		if s == utf8Reject {
			return s
		}
	}
	return s
}

func inRange(c, lo, hi byte, then utf8State) utf8State {
	if c < lo || c > hi {
		return utf8Reject
	}
	return then
}

// ValidUTF8 reports whether p is entirely valid UTF-8.
func ValidUTF8(p []byte) bool { return utf8Accept.next(p) == utf8Accept }
