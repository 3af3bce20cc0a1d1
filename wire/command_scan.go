package wire

import (
	"encoding/json"
	"unsafe"
)

// scanSimple reads the frames clients send most, allocating nothing: a
// flat object of the keys "type", "channel", "id", "token", "limit" and
// "idempotency_key", each at most once, whose values are strings of
// printable ASCII without escapes, integers written in digits, or null.
// The clientFrame it fills aliases payload; Command.own copies what the
// command keeps. Anything else ("data", "since", an escape, another key or
// a repeated one, another kind of value, a byte out of place) reports
// false, and ParseCommand decodes the frame with encoding/json instead:
// the scanner only ever answers for frames whose meaning is plain, and
// FuzzScanSimpleAgreesWithEncodingJSON holds it to encoding/json's result.
func scanSimple(payload []byte) (f clientFrame, ok bool) {
	s := scanner{p: payload}
	if !s.take('{') {
		return f, false
	}
	s.space()
	if s.take('}') {
		return f, s.end()
	}
	var seen uint8
	for {
		key, kind := s.value()
		if kind != kindString {
			return f, false
		}
		field := fieldOf(key)
		if field < 0 || seen&(1<<field) != 0 {
			return f, false
		}
		seen |= 1 << field
		s.space()
		if !s.take(':') {
			return f, false
		}
		s.space()
		raw, kind := s.value()
		switch {
		case kind == kindNone:
			return f, false
		case field == fieldID:
			f.ID = raw
		case field == fieldLimit:
			f.Limit = raw
		case field == fieldKey:
			f.Key = raw
		case kind == kindNull: // a string field left empty, as encoding/json does
		case kind != kindString:
			return f, false // encoding/json refuses a number for a string
		default:
			str := unquoted(raw)
			switch field {
			case fieldType:
				f.Type = str
			case fieldChannel:
				f.Channel = str
			case fieldToken:
				f.Token = str
			}
		}
		s.space()
		switch {
		case s.take(','):
			s.space()
		case s.take('}'):
			return f, s.end()
		default:
			return f, false
		}
	}
}

// The keys scanSimple reads, as bits of its seen set.
const (
	fieldType = iota
	fieldChannel
	fieldID
	fieldToken
	fieldLimit
	fieldKey
)

func fieldOf(quoted []byte) int {
	switch string(quoted) { // no allocation: the compiler compares in place
	case `"type"`:
		return fieldType
	case `"channel"`:
		return fieldChannel
	case `"id"`:
		return fieldID
	case `"token"`:
		return fieldToken
	case `"limit"`:
		return fieldLimit
	case `"idempotency_key"`:
		return fieldKey
	}
	return -1
}

// unquoted returns a scanned string's contents, aliasing its bytes: they
// hold no escape, so they are the string.
func unquoted(raw []byte) string {
	if len(raw) == 2 {
		return ""
	}
	return unsafe.String(&raw[1], len(raw)-2)
}

type valueKind uint8

const (
	kindNone   valueKind = iota // not one scanSimple reads
	kindString                  // "…" of 0x20-0x7e, no quote or backslash inside
	kindNumber                  // 0, or digits from 1-9
	kindNull
)

type scanner struct {
	p []byte
	i int
}

func (s *scanner) take(c byte) bool {
	if s.i < len(s.p) && s.p[s.i] == c {
		s.i++
		return true
	}
	return false
}

// space skips JSON whitespace.
func (s *scanner) space() {
	for s.i < len(s.p) {
		switch s.p[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end reports whether only whitespace is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.p)
}

// value scans the value at s.i and returns its bytes as sent.
func (s *scanner) value() ([]byte, valueKind) {
	start := s.i
	if s.i >= len(s.p) {
		return nil, kindNone
	}
	switch c := s.p[s.i]; {
	case c == '"':
		for s.i++; s.i < len(s.p); s.i++ {
			switch c := s.p[s.i]; {
			case c == '"':
				s.i++
				return s.p[start:s.i], kindString
			case c < 0x20 || c > 0x7e || c == '\\':
				return nil, kindNone
			}
		}
		return nil, kindNone
	case c >= '0' && c <= '9':
		for s.i++; s.i < len(s.p) && s.p[s.i] >= '0' && s.p[s.i] <= '9'; s.i++ {
		}
		if c == '0' && s.i-start > 1 {
			return nil, kindNone // a leading zero: not JSON
		}
		if s.i < len(s.p) {
			switch s.p[s.i] {
			case ' ', '\t', '\n', '\r', ',', '}':
			default:
				return nil, kindNone // a fraction, an exponent, or worse
			}
		}
		return s.p[start:s.i], kindNumber
	case len(s.p)-s.i >= 4 && string(s.p[s.i:s.i+4]) == "null":
		s.i += 4
		return s.p[start:s.i], kindNull
	}
	return nil, kindNone
}

// own returns c with its own copy of everything it aliases (a frame read
// by scanSimple), in one allocation.
func (c Command) own() Command {
	n := len(c.Channel) + len(c.ID) + len(c.Token) + len(c.Key)
	if n == 0 {
		return c
	}
	b := make([]byte, 0, n)
	keep := func(s string) string {
		if s == "" {
			return ""
		}
		b = append(b, s...)
		return unsafe.String(&b[len(b)-len(s)], len(s))
	}
	c.Channel, c.Token, c.Key = keep(c.Channel), keep(c.Token), keep(c.Key)
	if len(c.ID) > 0 {
		b = append(b, c.ID...)
		c.ID = json.RawMessage(b[len(b)-len(c.ID):])
	}
	return c
}
