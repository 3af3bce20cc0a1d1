package wsproto

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// The reference for every test here is unicode/utf8, which implements the
// same definition (RFC 3629: no overlongs, no surrogates, nothing above
// U+10FFFF).

// validPrefix reports whether q is the start of some valid UTF-8 text: valid
// itself, or valid once its last code point is completed. Completing with
// 80, 90 or A0 is enough: every lead byte accepts one of them next
// (E0 needs A0..BF, ED 80..9F, F0 90..BF, F4 80..8F) and 80 as any later byte.
func validPrefix(q []byte) bool {
	if utf8.Valid(q) {
		return true
	}
	candidates := []byte{0x80, 0x90, 0xa0}
	var try func(q []byte, left int) bool
	try = func(q []byte, left int) bool {
		if left == 0 {
			return false
		}
		for _, c := range candidates {
			next := append(q[:len(q):len(q)], c)
			if utf8.Valid(next) || try(next, left-1) {
				return true
			}
		}
		return false
	}
	return try(q, utf8.UTFMax-1)
}

// firstInvalid is the index of the first byte at which p stops being the
// start of valid UTF-8, or -1 when p is valid or merely ends inside a code
// point. An incremental validator that fails fast must reject exactly there.
func firstInvalid(p []byte) int {
	for pos := 0; pos < len(p); {
		r, size := utf8.DecodeRune(p[pos:])
		if r != utf8.RuneError || size > 1 {
			pos += size
			continue
		}
		for k := pos; k < len(p) && k < pos+utf8.UTFMax; k++ {
			if !validPrefix(p[pos : k+1]) {
				return k
			}
		}
		return -1 // an unfinished code point at the end
	}
	return -1
}

// validIncremental runs the validator over p cut at the given offsets and
// reports the final verdict.
func validIncremental(p []byte, cuts ...int) bool {
	s, prev := utf8Accept, 0
	for _, c := range append(cuts, len(p)) {
		if s = s.next(p[prev:c]); s == utf8Reject {
			return false
		}
		prev = c
	}
	return s == utf8Accept
}

// rejectsAt feeds p one byte at a time and returns the index of the byte
// that made the validator reject, or -1.
func rejectsAt(p []byte) int {
	s := utf8Accept
	for i := range p {
		if s = s.next(p[i : i+1]); s == utf8Reject {
			return i
		}
	}
	return -1
}

// checkUTF8 compares ValidUTF8 and the incremental validator at every split
// point with utf8.Valid, and the byte-wise rejection point with firstInvalid.
func checkUTF8(t *testing.T, p []byte) {
	t.Helper()
	want := utf8.Valid(p)
	if got := ValidUTF8(p); got != want {
		t.Fatalf("ValidUTF8(% x) = %v, want %v", p, got, want)
	}
	for cut := 0; cut <= len(p); cut++ {
		if got := validIncremental(p, cut); got != want {
			t.Fatalf("% x split at %d: %v, want %v", p, cut, got, want)
		}
	}
	if got, want := rejectsAt(p), firstInvalid(p); got != want {
		t.Fatalf("% x fed byte by byte: rejected at %d, want %d", p, got, want)
	}
}

func TestValidUTF8Exhaustive1And2Bytes(t *testing.T) {
	t.Parallel()
	p := make([]byte, 2)
	for a := range 256 {
		p[0] = byte(a)
		checkUTF8(t, p[:1])
		for b := range 256 {
			p[1] = byte(b)
			checkUTF8(t, p)
		}
	}
}

// TestValidUTF8LeadBytesWithEveryNextByte covers every lead byte of a 3- or
// 4-byte sequence (and the never-valid F5..F7) against every second byte,
// with later bytes drawn from each edge of the continuation sub-ranges.
func TestValidUTF8LeadBytesWithEveryNextByte(t *testing.T) {
	t.Parallel()
	later := []byte{0x00, 0x7f, 0x80, 0x8f, 0x90, 0xa0, 0xbf, 0xc0}
	for lead := 0xe0; lead <= 0xf7; lead++ {
		for second := range 256 {
			for _, third := range later {
				checkUTF8(t, []byte{byte(lead), byte(second), third})
				if lead < 0xf0 {
					continue
				}
				for _, fourth := range later {
					checkUTF8(t, []byte{byte(lead), byte(second), third, fourth})
				}
			}
		}
	}
}

// utf8Edges are the code points at each edge of the encoding's ranges,
// valid and not, as raw bytes.
var utf8Edges = []struct {
	name  string
	bytes string
	valid bool
}{
	{name: "U+0000", bytes: "\x00", valid: true},
	{name: "U+007F", bytes: "\x7f", valid: true},
	{name: "U+0080", bytes: "\xc2\x80", valid: true},
	{name: "U+07FF", bytes: "\xdf\xbf", valid: true},
	{name: "U+0800", bytes: "\xe0\xa0\x80", valid: true},
	{name: "U+D7FF", bytes: "\xed\x9f\xbf", valid: true},
	{name: "U+D800 surrogate", bytes: "\xed\xa0\x80", valid: false},
	{name: "U+DBFF surrogate", bytes: "\xed\xaf\xbf", valid: false},
	{name: "U+DC00 surrogate", bytes: "\xed\xb0\x80", valid: false},
	{name: "U+DFFF surrogate", bytes: "\xed\xbf\xbf", valid: false},
	{name: "surrogate pair", bytes: "\xed\xa0\x80\xed\xb0\x80", valid: false},
	{name: "U+E000", bytes: "\xee\x80\x80", valid: true},
	{name: "U+FFFD", bytes: "\xef\xbf\xbd", valid: true},
	{name: "U+FFFF", bytes: "\xef\xbf\xbf", valid: true},
	{name: "U+10000", bytes: "\xf0\x90\x80\x80", valid: true},
	{name: "U+10FFFF", bytes: "\xf4\x8f\xbf\xbf", valid: true},
	{name: "U+110000", bytes: "\xf4\x90\x80\x80", valid: false},
	{name: "U+1FFFFF", bytes: "\xf7\xbf\xbf\xbf", valid: false},
	{name: "overlong C0 80", bytes: "\xc0\x80", valid: false},
	{name: "overlong C1 BF", bytes: "\xc1\xbf", valid: false},
	{name: "overlong E0 80 80", bytes: "\xe0\x80\x80", valid: false},
	{name: "overlong E0 9F BF", bytes: "\xe0\x9f\xbf", valid: false},
	{name: "overlong F0 80 80 80", bytes: "\xf0\x80\x80\x80", valid: false},
	{name: "overlong F0 8F BF BF", bytes: "\xf0\x8f\xbf\xbf", valid: false},
	{name: "lone continuation 80", bytes: "\x80", valid: false},
	{name: "lone continuation BF", bytes: "\xbf", valid: false},
	{name: "truncated 2-byte", bytes: "\xc2", valid: false},
	{name: "truncated 3-byte", bytes: "\xe2\x82", valid: false},
	{name: "truncated 4-byte", bytes: "\xf0\x9f\x98", valid: false},
	{name: "5-byte lead F8", bytes: "\xf8\x88\x80\x80\x80", valid: false},
	{name: "FE", bytes: "\xfe", valid: false},
	{name: "FF", bytes: "\xff", valid: false},
}

func TestValidUTF8EdgeCodePoints(t *testing.T) {
	t.Parallel()
	for _, e := range utf8Edges {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidUTF8([]byte(e.bytes)); got != e.valid {
				t.Fatalf("ValidUTF8(% x) = %v, want %v", e.bytes, got, e.valid)
			}
			// In every position relative to the 8-byte ASCII fast path.
			for pre := range 18 {
				for _, post := range []string{"", "a", "abcdefgh", "\xc3\xa9"} {
					checkUTF8(t, []byte(string(bytes.Repeat([]byte{'x'}, pre))+e.bytes+post))
				}
			}
		})
	}
}

// TestValidUTF8ASCIIFastPath puts a single non-ASCII byte at every offset
// of a long ASCII run, so the 8-byte skip must stop at it wherever it is.
func TestValidUTF8ASCIIFastPath(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"\x80", "\xff", "\xc3\xa9", "\xe2\x82"} {
		for at := range 40 {
			p := []byte(string(bytes.Repeat([]byte{'a'}, at)) + bad + "0123456789abcdef")
			checkUTF8(t, p)
		}
	}
}

// TestValidUTF8Random mixes valid code points of every length with random
// bytes and checks every split point against unicode/utf8.
func TestValidUTF8Random(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(6455, 3629))
	runes := []rune{'a', 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0x20ac, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff}
	for range 20000 {
		var p []byte
		for range rng.IntN(24) {
			switch rng.IntN(8) {
			case 0:
				p = append(p, byte(rng.IntN(256)))
			case 1:
				p = append(p, utf8Edges[rng.IntN(len(utf8Edges))].bytes...)
			default:
				p = utf8.AppendRune(p, runes[rng.IntN(len(runes))])
			}
		}
		checkUTF8(t, p)
	}
}
