package proxy

import (
	"fmt"
	"net/netip"
	"strings"
)

// MaxTrusted bounds the entries of a Trusted list. Contains scans them in
// order on every connection, so the bound is also the worst-case cost of a
// lookup; proxies are normally covered by a handful of prefixes.
const MaxTrusted = 256

// Trusted is a set of CIDR prefixes: the proxies whose word about the client
// the node takes. The zero value trusts no one. A Trusted is immutable once
// parsed and may be shared by every event loop.
type Trusted struct {
	prefixes []netip.Prefix // masked; IPv4 ones in IPv4 form, never 4in6
}

// ParseTrusted reads a comma-separated list of CIDR prefixes and bare
// addresses, such as "10.0.0.0/8, 127.0.0.1, ::1". Spaces around entries
// are ignored; an empty list trusts no one. Host bits in a prefix are
// cleared ("10.1.2.3/8" is 10.0.0.0/8), and an IPv4-mapped IPv6 entry
// ("::ffff:10.0.0.0/104") becomes its IPv4 form, as the addresses it is
// matched against do. Zones, empty entries and more than MaxTrusted entries
// are refused, and the error names the bad entry.
func ParseTrusted(list string) (Trusted, error) {
	if strings.TrimSpace(list) == "" {
		return Trusted{}, nil
	}
	entries := strings.Split(list, ",")
	if len(entries) > MaxTrusted {
		return Trusted{}, fmt.Errorf("proxy: %d trusted proxy entries, at most %d", len(entries), MaxTrusted)
	}
	t := Trusted{prefixes: make([]netip.Prefix, 0, len(entries))}
	for i, entry := range entries {
		p, err := parseTrustedEntry(strings.TrimSpace(entry))
		if err != nil {
			return Trusted{}, fmt.Errorf("proxy: trusted proxy entry %d %q: %w", i+1, entry, err)
		}
		t.prefixes = append(t.prefixes, p)
	}
	return t, nil
}

func parseTrustedEntry(s string) (netip.Prefix, error) {
	var p netip.Prefix
	switch {
	case s == "":
		return p, fmt.Errorf("empty entry")
	case strings.Contains(s, "/"):
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, err
		}
	default:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, err
		}
		if a.Zone() != "" {
			return p, fmt.Errorf("zones are not allowed")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return p, fmt.Errorf("an IPv4-mapped prefix needs at least 96 bits")
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Contains reports whether a is in one of the prefixes. An IPv4-mapped IPv6
// address (a dual-stack socket's view of an IPv4 peer) is matched as IPv4.
// It does not allocate and may be called from any goroutine.
func (t Trusted) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Empty reports whether t trusts no one.
func (t Trusted) Empty() bool { return len(t.prefixes) == 0 }

// String lists the prefixes in ParseTrusted's form, each as a CIDR prefix.
func (t Trusted) String() string {
	var b strings.Builder
	for i, p := range t.prefixes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}
