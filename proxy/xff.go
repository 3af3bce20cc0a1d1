package proxy

import (
	"bytes"
	"net/netip"
)

// X-Forwarded-For has no specification; this reads what proxies write: a
// comma-separated list (optional whitespace, empty elements ignored as in
// RFC 9110 §5.6.1) whose entries are an IPv4 address with an optional
// ":port", or an IPv6 address, bare or as "[v6]" with an optional ":port".

// scanXFF adds the entries of one header line.
func scanXFF(line []byte, index int, list *entries) {
	start := 0
	for start <= len(line) {
		end := bytes.IndexByte(line[start:], ',')
		if end < 0 {
			end = len(line)
		} else {
			end += start
		}
		s, e := trimOWS(line, start, end)
		if s < e {
			list.add(index, s, e, false)
		}
		start = end + 1
	}
}

// xffNode parses one X-Forwarded-For entry.
func xffNode(b []byte) (netip.Addr, bool) {
	if len(b) > 0 && b[0] == '[' {
		return bracketedNode(b, false)
	}
	colon := bytes.IndexByte(b, ':')
	switch {
	case colon < 0:
		return parseIPv4(b)
	case bytes.IndexByte(b[colon+1:], ':') >= 0:
		return parseIPv6(b) // bare IPv6 has no port: "::1:80" is an address
	}
	a, ok := parseIPv4(b[:colon])
	if _, portOK := parsePort(b[colon+1:], false); !portOK {
		return netip.Addr{}, false
	}
	return a, ok
}

// bracketedNode parses "[v6]" with an optional ":port" after it; obfuscated
// ports ("_abc", RFC 7239 §6.3) are accepted when obfuscated is set.
func bracketedNode(b []byte, obfuscated bool) (netip.Addr, bool) {
	end := bytes.IndexByte(b, ']')
	if end < 0 {
		return netip.Addr{}, false
	}
	a, ok := parseIPv6(b[1:end])
	if !ok || !nodePort(b[end+1:], obfuscated) {
		return netip.Addr{}, false
	}
	return a, true
}

// nodePort accepts nothing, or ":" and a port.
func nodePort(b []byte, obfuscated bool) bool {
	if len(b) == 0 {
		return true
	}
	if b[0] != ':' {
		return false
	}
	if obfuscated && len(b) > 1 && b[1] == '_' {
		return obfuscatedPort(b[2:])
	}
	_, ok := parsePort(b[1:], false)
	return ok
}

// trimOWS narrows line[start:end] past spaces and tabs on both sides.
func trimOWS(line []byte, start, end int) (int, int) {
	for start < end && (line[start] == ' ' || line[start] == '\t') {
		start++
	}
	for end > start && (line[end-1] == ' ' || line[end-1] == '\t') {
		end--
	}
	return start, end
}
