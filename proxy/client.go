package proxy

import "net/netip"

// The bounds of ClientFromForwarded. Each keeps the work per request, and
// the stack it uses, fixed whatever a client sends.
const (
	// MaxForwardedEntries is how many entries, from the right, are examined
	// (and how many header lines of one kind are read). A chain of trusted
	// proxies is a few hops long; past this many, the left-most entries are
	// not looked at, and if all that were examined are trusted the answer
	// is "unknown" rather than a guess.
	MaxForwardedEntries = 64
	// MaxForwardedBytes bounds the header values, all lines of the header
	// used together. A larger value is refused whole (ok is false), so such a
	// client is known only by its peer, the proxy.
	MaxForwardedBytes = 8 << 10
)

// ClientFromForwarded returns the client address from X-Forwarded-For and
// Forwarded header values, given the peer that sent the request. Each
// element of xff and forwarded is the raw value of one header line; a
// request may carry several lines of each, passed in the order received.
//
// Forwarded (RFC 7239) is used when it has any element, else
// X-Forwarded-For. Only the trusted proxies' own entries are believed, so the
// caller must pass only a header its proxies write: a proxy that appends
// to X-Forwarded-For and passes a client's Forwarded through unchanged lets
// that client choose its address, unless the caller passes forwarded as nil.
//
// Walking from the right-most entry leftwards, entries that are trusted
// proxies are skipped and the first untrusted one is the client. ok is false,
// and the caller should use the peer, when the peer itself is not trusted,
// when there are no entries, when an entry that must be read is not an
// address (malformed, "unknown" or an obfuscated identifier: never guess),
// or when a bound (MaxForwardedEntries, MaxForwardedBytes) is passed before
// the answer is found. When every entry is trusted, the left-most is the
// client. Entries left of the client are never parsed. The address is
// returned as written (an IPv4-mapped IPv6 address stays mapped; trust is
// checked on its IPv4 form).
//
// It does not allocate, keeps nothing of its arguments, and may be called
// from any goroutine.
func ClientFromForwarded(peer netip.Addr, t Trusted, xff [][]byte, forwarded [][]byte) (netip.Addr, bool) {
	if !t.Contains(peer) {
		return netip.Addr{}, false
	}
	var list entries
	if !fits(forwarded) {
		return netip.Addr{}, false
	}
	for i, line := range forwarded {
		scanForwarded(line, i, &list)
	}
	if list.count > 0 {
		return list.client(forwarded, t, forwardedNode)
	}
	if !fits(xff) {
		return netip.Addr{}, false
	}
	for i, line := range xff {
		scanXFF(line, i, &list)
	}
	return list.client(xff, t, xffNode)
}

// fits reports whether lines are within the bounds.
func fits(lines [][]byte) bool {
	if len(lines) > MaxForwardedEntries {
		return false
	}
	total := 0
	for _, line := range lines {
		total += len(line)
	}
	return total <= MaxForwardedBytes
}

// entry is one hop: the bytes of its node, found but not yet parsed.
type entry struct {
	line       uint8  // index of the header line
	bad        bool   // no readable node: syntax error, no for=, or two
	start, end uint16 // the node is lines[line][start:end]
}

// entries keeps the last MaxForwardedEntries entries of a header, in a
// ring, so the value is read once left to right (the only direction its
// quoting can be read in) and walked right to left.
type entries struct {
	ring  [MaxForwardedEntries]entry
	count int // entries seen, including those the ring has dropped
}

func (l *entries) add(line, start, end int, bad bool) {
	l.ring[l.count%len(l.ring)] = entry{line: uint8(line), bad: bad, start: uint16(start), end: uint16(end)}
	l.count++
}

// client walks the entries from the right: see ClientFromForwarded.
func (l *entries) client(lines [][]byte, t Trusted, node func([]byte) (netip.Addr, bool)) (netip.Addr, bool) {
	var client netip.Addr
	for i := range min(l.count, len(l.ring)) {
		e := l.ring[(l.count-1-i)%len(l.ring)]
		if e.bad {
			return netip.Addr{}, false
		}
		a, ok := node(lines[e.line][e.start:e.end])
		if !ok {
			return netip.Addr{}, false
		}
		if !t.Contains(a) {
			return a, true
		}
		client = a
	}
	if l.count == 0 || l.count > len(l.ring) {
		return netip.Addr{}, false // nothing, or a left-most entry never examined
	}
	return client, true
}
