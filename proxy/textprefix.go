package proxy

// Prefix checks let ParseHeader refuse a v1 field on the byte that makes it
// impossible instead of waiting for the space or CRLF after it. Each
// reports whether b could still grow into a valid field; it must never
// refuse the start of a valid one (the tests feed every prefix of valid
// fields), and it may let through a few hopeless ones, which the parser then
// refuses when the field is complete.

// ipv4Prefix reports whether b can start a dotted decimal IPv4 address.
func ipv4Prefix(b []byte) bool {
	dots, digits, value := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && value == 0 {
				return false
			}
			value = value*10 + int(c-'0')
			digits++
			if value > 255 {
				return false
			}
		case c == '.':
			if digits == 0 || dots == 3 {
				return false
			}
			dots++
			value, digits = 0, 0
		default:
			return false
		}
	}
	return true
}

// ipv6Prefix reports whether b can start an IPv6 address in text: hex
// groups of at most four digits, at most eight colons, one "::" at most,
// and an IPv4 tail that is itself a valid start.
func ipv6Prefix(b []byte) bool {
	if len(b) >= 2 && b[0] == ':' && b[1] != ':' {
		return false
	}
	colons, ellipses, run := 0, 0, 0
	for i, c := range b {
		if c == '.' {
			// From the first dot on, the rest after the last colon is IPv4.
			start := i
			for start > 0 && b[start-1] != ':' {
				start--
			}
			return ipv4Prefix(b[start:])
		}
		if c == ':' {
			colons++
			if i > 0 && b[i-1] == ':' {
				ellipses++
				if i > 1 && b[i-2] == ':' {
					return false
				}
			}
			run = 0
			continue
		}
		if _, ok := hexDigit(c); !ok {
			return false
		}
		run++
		if run > 4 {
			return false
		}
	}
	return colons <= 8 && ellipses <= 1
}

// portPrefix reports whether b can start a strict decimal port.
func portPrefix(b []byte) bool {
	if len(b) > 1 && b[0] == '0' {
		return false
	}
	value := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
		value = value*10 + int(c-'0')
		if value > 65535 {
			return false
		}
	}
	return true
}
