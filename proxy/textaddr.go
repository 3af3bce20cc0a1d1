package proxy

import "net/netip"

// Addresses and ports in text, parsed straight from the connection's bytes.
// netip.ParseAddr(string(b)) allocates the string on every call (measured:
// one allocation per address, because the string escapes into its error
// value), and these parsers run on every connection and every forwarded
// entry, so they work on the bytes. They accept exactly what netip.ParseAddr
// accepts without a zone (the differential test holds them to it): IPv4 in
// four decimal octets without leading zeros, IPv6 in RFC 4291 §2.2 form
// including "::" and an embedded IPv4 tail.

// parseIPv4 parses dotted decimal "a.b.c.d".
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	field, digits := 0, 0
	value := 0
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && value == 0 {
				return netip.Addr{}, false // leading zero: octal to some parsers
			}
			value = value*10 + int(c-'0')
			digits++
			if value > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digits == 0 || field == 3 || i == len(b)-1 {
				return netip.Addr{}, false
			}
			ip[field] = byte(value)
			field++
			value, digits = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if field != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(value)
	return netip.AddrFrom4(ip), true
}

// parseIPv6 parses RFC 4291 §2.2 text without a zone. It follows
// net/netip's parseIPv6 step for step, on bytes.
func parseIPv6(b []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // index in ip where "::" stands
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		ellipsis = 0
		b = b[2:]
		if len(b) == 0 {
			return netip.IPv6Unspecified(), true
		}
	}
	i := 0
	for i < 16 {
		off, group := 0, 0
		for ; off < len(b); off++ {
			d, ok := hexDigit(b[off])
			if !ok {
				break
			}
			if off > 3 {
				return netip.Addr{}, false // more than four digits in a group
			}
			group = group<<4 | d
		}
		if off == 0 {
			return netip.Addr{}, false
		}
		if off < len(b) && b[off] == '.' {
			// The IPv4 tail replaces the last two groups, and only those.
			if (ellipsis < 0 && i != 12) || i+4 > 16 {
				return netip.Addr{}, false
			}
			v4, ok := parseIPv4(b)
			if !ok {
				return netip.Addr{}, false
			}
			tail := v4.As4()
			copy(ip[i:], tail[:])
			b = nil
			i += 4
			break
		}
		ip[i], ip[i+1] = byte(group>>8), byte(group)
		i += 2
		b = b[off:]
		if len(b) == 0 {
			break
		}
		if b[0] != ':' || len(b) == 1 {
			return netip.Addr{}, false
		}
		b = b[1:]
		if b[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false // a second "::"
			}
			ellipsis = i
			b = b[1:]
			if len(b) == 0 {
				break
			}
		}
	}
	if len(b) != 0 {
		return netip.Addr{}, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		n := 16 - i
		for j := i - 1; j >= ellipsis; j-- {
			ip[j+n] = ip[j]
		}
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return netip.Addr{}, false // "::" must stand for at least one group
	}
	return netip.AddrFrom16(ip), true
}

func hexDigit(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// parsePort parses a decimal port, 0 to 65535. With strict set (the PROXY
// v1 line, written by a program with %u) a leading zero is refused; RFC
// 7239's node-port is 1*5DIGIT and allows one.
func parsePort(b []byte, strict bool) (uint16, bool) {
	if len(b) == 0 || len(b) > 5 || (strict && len(b) > 1 && b[0] == '0') {
		return 0, false
	}
	value := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		value = value*10 + int(c-'0')
	}
	return uint16(value), value <= 65535
}
