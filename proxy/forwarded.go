package proxy

import (
	"bytes"
	"net/netip"
	"strings"
)

// Forwarded, RFC 7239 §4:
//
//	Forwarded         = 1#forwarded-element
//	forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//	forwarded-pair    = token "=" value
//	value             = token / quoted-string
//
// Each element is one hop; its for= parameter names the node the proxy
// received the request from (§6):
//
//	node     = nodename [ ":" node-port ]
//	nodename = IPv4address / "[" IPv6address "]" / "unknown" / obfnode
//
// An IPv6 node or any port needs quotes (':' and '[' are not token
// characters): for="[2001:db8::1]:4711". A quoted-string may hold commas
// and semicolons, so a line can only be split reading left to right.

// scanForwarded adds one entry per element of a header line. An element
// without a for= parameter, or with two ("MUST NOT occur more than once
// per forwarded-element", §4), is a bad entry: the hop it stands for is not
// known. So is a syntax error, which ends the line: nothing right of it
// can be split reliably, while the elements left of it were.
func scanForwarded(line []byte, index int, list *entries) {
	i := 0
	for i <= len(line) {
		pairs, fors := 0, 0
		start, end := 0, 0
		for {
			i = skipOWS(line, i)
			if i < len(line) && line[i] != ',' && line[i] != ';' {
				name, value, quoted, next, ok := forwardedPair(line, i)
				if !ok {
					list.add(index, 0, 0, true)
					return
				}
				pairs++
				if bytes.EqualFold(line[name:value-1], []byte("for")) {
					fors++
					start, end = value, next
					if quoted {
						start, end = value+1, next-1
					}
				}
				i = skipOWS(line, next)
			}
			if i < len(line) && line[i] == ';' {
				i++
				continue
			}
			break
		}
		if pairs > 0 {
			list.add(index, start, end, fors != 1)
		}
		if i < len(line) && line[i] != ',' {
			list.add(index, 0, 0, true)
			return
		}
		i++ // past the comma, or past the end
	}
}

// forwardedPair reads token "=" value at line[i:]. name is where the name
// starts, value where the value starts (just after '='), next where the
// value ends; quoted says the value is a quoted-string, quotes included.
func forwardedPair(line []byte, i int) (name, value int, quoted bool, next int, ok bool) {
	name = i
	for i < len(line) && isTokenChar(line[i]) {
		i++
	}
	if i == name || i == len(line) || line[i] != '=' {
		return 0, 0, false, 0, false
	}
	value = i + 1
	i = value
	if i < len(line) && line[i] == '"' {
		for i++; i < len(line); i++ {
			switch c := line[i]; {
			case c == '"':
				return name, value, true, i + 1, true
			case c == '\\':
				i++ // quoted-pair: the next byte is literal
			case c < ' ' && c != '\t' || c == 0x7f:
				return 0, 0, false, 0, false
			}
		}
		return 0, 0, false, 0, false // unterminated
	}
	for i < len(line) && isTokenChar(line[i]) {
		i++
	}
	if i == value {
		return 0, 0, false, 0, false
	}
	return name, value, false, i, true
}

// forwardedNode parses a for= value, quotes removed. "unknown" and
// obfuscated identifiers are not addresses and fail, as does a quoted-pair
// (no address needs one).
func forwardedNode(b []byte) (netip.Addr, bool) {
	if len(b) > 0 && b[0] == '[' {
		return bracketedNode(b, true)
	}
	name, port := b, []byte(nil)
	if colon := bytes.IndexByte(b, ':'); colon >= 0 {
		name, port = b[:colon], b[colon:]
	}
	a, ok := parseIPv4(name)
	if !ok || !nodePort(port, true) {
		return netip.Addr{}, false
	}
	return a, true
}

// obfuscatedPort checks what follows the '_' of an obfport (§6.3).
func obfuscatedPort(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// isTokenChar is RFC 9110 §5.6.2's tchar.
func isTokenChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func skipOWS(line []byte, i int) int {
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i
}
