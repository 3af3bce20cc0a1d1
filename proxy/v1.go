package proxy

import (
	"bytes"
	"net/netip"
)

// The v1 (text) header, §2.1 of the PROXY protocol specification:
//
//	"PROXY TCP4 192.0.2.1 198.51.100.7 51234 443\r\n"
//	"PROXY TCP6 2001:db8::1 2001:db8::2 51234 443\r\n"
//	"PROXY UNKNOWN<anything>\r\n"
//
// Fields are separated by exactly one space. "The maximum line lengths the
// receiver must support including the CRLF are [...] 107 bytes" for the
// worst case, so a line without CRLF within 107 bytes is refused.

const (
	v1Signature = "PROXY "
	v1MaxLine   = 107
)

// errMore tells parseV1 that the received bytes end inside a field that can
// still become valid. It never leaves the package.
const errMore Error = "proxy: more bytes needed"

func parseV1(buf []byte) (Header, int, error) {
	h, n, err := readV1(buf)
	if err == errMore {
		return Header{}, 0, nil
	}
	return h, n, err
}

func readV1(buf []byte) (Header, int, error) {
	if len(buf) < len(v1Signature) {
		return Header{}, 0, errMore // startsLike has checked these bytes
	}
	l := v1Line{line: buf, pos: len(v1Signature)}
	if len(buf) >= v1MaxLine {
		l.line, l.full = buf[:v1MaxLine], true
	}
	proto, sep, err := l.field(protoPrefix)
	if err != nil {
		return Header{}, 0, err
	}
	h := Header{Version: V1}
	switch string(proto) {
	case "UNKNOWN":
		// "the receiver must ignore anything presented before the CRLF"
		h.Local = true
		if sep == ' ' {
			if err := l.skipToCR(); err != nil {
				return Header{}, 0, err
			}
		}
		return l.end(h)
	case "TCP4", "TCP6":
		if sep != ' ' {
			return Header{}, 0, ErrMalformed
		}
	default:
		return Header{}, 0, ErrMalformed
	}
	v6 := proto[3] == '6'
	src, err := l.addr(v6)
	if err != nil {
		return Header{}, 0, err
	}
	dst, err := l.addr(v6)
	if err != nil {
		return Header{}, 0, err
	}
	sport, err := l.port(' ')
	if err != nil {
		return Header{}, 0, err
	}
	dport, err := l.port('\r')
	if err != nil {
		return Header{}, 0, err
	}
	h.Source = netip.AddrPortFrom(src, sport)
	h.Dest = netip.AddrPortFrom(dst, dport)
	return l.end(h)
}

// v1Line walks the fields of a v1 header in the bytes received so far.
type v1Line struct {
	line []byte // the received bytes, cut at v1MaxLine
	pos  int    // the start of the next field
	full bool   // line was cut: no byte beyond it may belong to the header
}

// field returns the bytes up to the next space or CR and moves past that
// separator. When the received bytes end first, it returns errMore if
// possible says the field can still grow into a valid one, ErrMalformed if
// not, and ErrTooLong if the line has no room left.
func (l *v1Line) field(possible func([]byte) bool) (f []byte, sep byte, err error) {
	rest := l.line[l.pos:]
	for i, c := range rest {
		if c == ' ' || c == '\r' {
			l.pos += i + 1
			return rest[:i], c, nil
		}
	}
	l.pos = len(l.line)
	switch {
	case !possible(rest):
		return nil, 0, ErrMalformed
	case l.full:
		return nil, 0, ErrTooLong
	}
	return nil, 0, errMore
}

// addr reads an address and the space after it.
func (l *v1Line) addr(v6 bool) (netip.Addr, error) {
	possible, parse := ipv4Prefix, parseIPv4
	if v6 {
		possible, parse = ipv6Prefix, parseIPv6
	}
	f, sep, err := l.field(possible)
	if err != nil {
		return netip.Addr{}, err
	}
	a, ok := parse(f)
	if !ok || sep != ' ' {
		return netip.Addr{}, ErrMalformed
	}
	return a, nil
}

// port reads a port and the separator that must follow it.
func (l *v1Line) port(want byte) (uint16, error) {
	f, sep, err := l.field(portPrefix)
	if err != nil {
		return 0, err
	}
	p, ok := parsePort(f, true)
	if !ok || sep != want {
		return 0, ErrMalformed
	}
	return p, nil
}

// skipToCR moves past the next CR, within the line.
func (l *v1Line) skipToCR() error {
	i := bytes.IndexByte(l.line[l.pos:], '\r')
	if i < 0 {
		l.pos = len(l.line)
		if l.full {
			return ErrTooLong
		}
		return errMore
	}
	l.pos += i + 1
	return nil
}

// end expects the LF after the CR the last field consumed, and returns the
// header's length.
func (l *v1Line) end(h Header) (Header, int, error) {
	switch {
	case l.pos < len(l.line) && l.line[l.pos] == '\n':
		return h, l.pos + 1, nil
	case l.pos < len(l.line):
		return Header{}, 0, ErrMalformed
	case l.full:
		return Header{}, 0, ErrTooLong
	}
	return Header{}, 0, errMore
}

// protoPrefix reports whether b can start a v1 protocol name.
func protoPrefix(b []byte) bool {
	for _, w := range [...]string{"TCP4", "TCP6", "UNKNOWN"} {
		if len(b) <= len(w) && string(b) == w[:len(b)] {
			return true
		}
	}
	return false
}
