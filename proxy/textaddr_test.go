package proxy

import (
	"net/netip"
	"testing"
)

var addrTexts = []string{
	"0.0.0.0", "1.2.3.4", "255.255.255.255", "10.0.0.1", "192.0.2.10",
	"::", "::1", "1::", "2001:db8::1", "2001:DB8::A:b", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8",
	"1::8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4",
	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
	// refused by both
	"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "256.1.1.1", "1..2.3", ".1.2.3", "1.2.3.4.",
	"1.2.3.-4", " 1.2.3.4", "1:2:3:4:5:6:7:8:9", "1:::2", "1::2::3", ":1::", "1:", "12345::",
	"::ffff:1.2.3.256", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "fe80::1%eth0", "::g", "1:2:3:4:5:6:7:8::",
	"[::1]", "0x1.2.3.4", "1.2.3.4:80",
}

// TestTextAddrMatchesNetip holds the byte parsers to net/netip: the same
// answer on every text, valid or not (zones aside, which both refuse here).
func TestTextAddrMatchesNetip(t *testing.T) {
	for _, s := range addrTexts {
		checkAgainstNetip(t, s)
	}
}

func checkAgainstNetip(t *testing.T, s string) {
	t.Helper()
	want, err := netip.ParseAddr(s)
	wantOK := err == nil && want.Zone() == ""
	v4, ok4 := parseIPv4([]byte(s))
	v6, ok6 := parseIPv6([]byte(s))
	switch {
	case !wantOK && (ok4 || ok6):
		t.Errorf("%q: netip refuses it, parseIPv4 %v %v, parseIPv6 %v %v", s, v4, ok4, v6, ok6)
	case wantOK && want.Is4() && (!ok4 || v4 != want || ok6):
		t.Errorf("%q: want IPv4 %v, got parseIPv4 %v %v, parseIPv6 ok %v", s, want, v4, ok4, ok6)
	case wantOK && want.Is6() && (!ok6 || v6 != want || ok4):
		t.Errorf("%q: want IPv6 %v, got parseIPv6 %v %v, parseIPv4 ok %v", s, want, v6, ok6, ok4)
	}
}

// TestPrefixChecksNeverRefuseAValidStart: every prefix of a valid field
// passes its prefix check, or ParseHeader would refuse a header arriving in
// pieces.
func TestPrefixChecksNeverRefuseAValidStart(t *testing.T) {
	for _, s := range addrTexts {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			continue
		}
		check := ipv6Prefix
		if a.Is4() {
			check = ipv4Prefix
		}
		for k := 0; k <= len(s); k++ {
			if !check([]byte(s[:k])) {
				t.Errorf("%q: prefix %q refused", s, s[:k])
			}
		}
	}
	for _, s := range []string{"0", "1", "80", "443", "65535", "10000"} {
		for k := 0; k <= len(s); k++ {
			if !portPrefix([]byte(s[:k])) {
				t.Errorf("port %q: prefix %q refused", s, s[:k])
			}
		}
	}
}

func TestParsePort(t *testing.T) {
	for _, c := range []struct {
		in     string
		strict bool
		want   uint16
		ok     bool
	}{
		{"0", true, 0, true}, {"65535", true, 65535, true}, {"65536", false, 0, false},
		{"080", true, 0, false}, {"080", false, 80, true}, {"", false, 0, false},
		{"123456", false, 0, false}, {"+80", false, 0, false}, {"8a", false, 0, false},
	} {
		got, ok := parsePort([]byte(c.in), c.strict)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("parsePort(%q, %v) = %d %v, want %d %v", c.in, c.strict, got, ok, c.want, c.ok)
		}
	}
}
