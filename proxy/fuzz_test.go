package proxy

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseHeader checks ParseHeader's contract on any bytes, including the
// split-feed rules: a success is reproducible from buf[:n], every shorter
// prefix needs more bytes, and a prefix that is refused stays refused.
func FuzzParseHeader(f *testing.F) {
	for _, c := range allHeaderCases() {
		f.Add([]byte(c.in), uint8(c.accept), uint16(len(c.in)/2))
	}
	f.Fuzz(func(t *testing.T, buf []byte, acceptByte uint8, split uint16) {
		accept := Version(acceptByte % 5) // includes one invalid value
		h, n, err := ParseHeader(buf, accept)
		if n < 0 || n > len(buf) || n > MaxHeader {
			t.Fatalf("n = %d for %d bytes", n, len(buf))
		}
		if err != nil && (n != 0 || h != (Header{})) {
			t.Fatalf("refused with n=%d h=%+v", n, h)
		}
		if k := int(split) % (len(buf) + 1); k < len(buf) {
			ph, pn, perr := ParseHeader(buf[:k], accept)
			switch {
			case perr != nil && err == nil:
				t.Fatalf("prefix of %d refused (%v) but %d bytes accepted", k, perr, len(buf))
			case pn > 0 && (ph != h || pn != n || err != nil):
				t.Fatalf("prefix of %d gave %+v n=%d, whole %+v n=%d err=%v", k, ph, pn, h, n, err)
			}
		}
		if err != nil || n == 0 {
			return
		}
		if rh, rn, rerr := ParseHeader(buf[:n], accept); rh != h || rn != n || rerr != nil {
			t.Fatalf("buf[:n] gave %+v n=%d err=%v, whole %+v n=%d", rh, rn, rerr, h, n)
		}
		for k := range n {
			if n > 200 && k != int(split)%n && k != n-1 {
				continue // long v2 headers: sample rather than O(n²)
			}
			if ph, pn, perr := ParseHeader(buf[:k], accept); pn != 0 || perr != nil || ph != (Header{}) {
				t.Fatalf("prefix of %d bytes of a %d-byte header: %+v n=%d err=%v", k, n, ph, pn, perr)
			}
		}
		checkHeader(t, buf[:n], h, accept)
	})
}

// checkHeader checks what a success says against the bytes it came from.
func checkHeader(t *testing.T, header []byte, h Header, accept Version) {
	t.Helper()
	if (h.Version != V1 && h.Version != V2) || !accept.accepts(h.Version) {
		t.Fatalf("version %v on a %v listener", h.Version, accept)
	}
	if h.Local {
		if h.Source.IsValid() || h.Dest.IsValid() {
			t.Fatalf("Local header with addresses: %+v", h)
		}
		return
	}
	if !h.Source.IsValid() || !h.Dest.IsValid() || h.Source.Addr().Is4() != h.Dest.Addr().Is4() {
		t.Fatalf("addresses %v %v", h.Source, h.Dest)
	}
	if h.Version == V1 && h.Source.Addr().Is4() {
		// Strict parsing leaves one way to write an IPv4 line.
		want := fmt.Sprintf("PROXY TCP4 %s %s %d %d\r\n", h.Source.Addr(), h.Dest.Addr(), h.Source.Port(), h.Dest.Port())
		if string(header) != want {
			t.Fatalf("%q parsed as %+v", header, h)
		}
	}
}

// FuzzClientFromForwarded checks ClientFromForwarded never panics, answers
// only for a trusted peer, returns only valid addresses, and, for
// X-Forwarded-For alone, agrees with a slow reference built on strings and
// net/netip.
func FuzzClientFromForwarded(f *testing.F) {
	f.Add([]byte("6.6.6.6, 192.0.2.7:80, 10.0.0.2"), []byte(""), uint8(0))
	f.Add([]byte("[2001:db8::5]:443,\t[2001:db9::6]\n192.0.2.7"), []byte(""), uint8(1))
	f.Add([]byte("192.0.2.7"), []byte(`for=192.0.2.60;proto=http, For="[2001:db9:cafe::17]:4711"`), uint8(0))
	f.Add([]byte(""), []byte(`for=unknown, for="_x:_y";by="a,b", for=10.1.1.1`), uint8(3))
	f.Add([]byte("1.1.1.1"), []byte(""), uint8(2))
	trusted, err := ParseTrusted("10.0.0.0/8, 2001:db8::/32")
	if err != nil {
		f.Fatal(err)
	}
	peers := []netip.Addr{
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:10.0.0.1"),
	}
	f.Fuzz(func(t *testing.T, xff, forwarded []byte, peerIndex uint8) {
		peer := peers[int(peerIndex)%len(peers)]
		xffLines, forwardedLines := splitLines(xff), splitLines(forwarded)
		got, ok := ClientFromForwarded(peer, trusted, xffLines, forwardedLines)
		if ok && (!got.IsValid() || got.Zone() != "") {
			t.Fatalf("ok with %v", got)
		}
		if ok && !trusted.Contains(peer) {
			t.Fatalf("answered %v for untrusted peer %v", got, peer)
		}
		if forwardedLines != nil {
			return
		}
		want, wantOK := referenceXFF(peer, trusted, xffLines)
		if ok != wantOK || got != want {
			t.Fatalf("X-Forwarded-For %q: got %v %v, reference %v %v", xff, got, ok, want, wantOK)
		}
	})
}

func splitLines(b []byte) [][]byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Split(b, []byte("\n"))
}

// referenceXFF is ClientFromForwarded for X-Forwarded-For alone, written
// for clarity rather than speed.
func referenceXFF(peer netip.Addr, t Trusted, lines [][]byte) (netip.Addr, bool) {
	if !t.Contains(peer) || !fits(lines) {
		return netip.Addr{}, false
	}
	var all []string
	for _, line := range lines {
		for _, e := range strings.Split(string(line), ",") {
			if e = strings.Trim(e, " \t"); e != "" {
				all = append(all, e)
			}
		}
	}
	var client netip.Addr
	for i := len(all) - 1; i >= 0; i-- {
		if len(all)-1-i == MaxForwardedEntries {
			return netip.Addr{}, false
		}
		a, ok := referenceNode(all[i])
		if !ok {
			return netip.Addr{}, false
		}
		if !t.Contains(a) {
			return a, true
		}
		client = a
	}
	return client, len(all) > 0
}

func referenceNode(s string) (netip.Addr, bool) {
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host, port = s[1:end], s[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return netip.Addr{}, false
		}
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return netip.Addr{}, false
		}
	case strings.Count(s, ":") == 1:
		host, port = s[:strings.IndexByte(s, ':')], s[strings.IndexByte(s, ':'):]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return netip.Addr{}, false
		}
	}
	if port != "" {
		digits := port[1:]
		if len(digits) == 0 || len(digits) > 5 || strings.Trim(digits, "0123456789") != "" {
			return netip.Addr{}, false
		}
		if n, _ := strconv.Atoi(digits); n > 65535 {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// FuzzTextAddr holds the byte parsers to net/netip on any text, and the
// prefix checks to never refusing the start of an address netip accepts.
func FuzzTextAddr(f *testing.F) {
	for _, s := range addrTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAgainstNetip(t, s)
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return
		}
		check := ipv6Prefix
		if a.Is4() {
			check = ipv4Prefix
		}
		for k := 0; k <= len(s); k++ {
			if !check([]byte(s[:k])) {
				t.Fatalf("%q: prefix %q refused", s, s[:k])
			}
		}
	})
}
