package proxy

import (
	"net/netip"
	"strings"
	"testing"
)

// lines splits a test's header value into header lines at '|'.
func lines(s string) [][]byte {
	if s == "" {
		return nil
	}
	var out [][]byte
	for _, line := range strings.Split(s, "|") {
		out = append(out, []byte(line))
	}
	return out
}

func TestClientFromForwarded(t *testing.T) {
	trusted, err := ParseTrusted("10.0.0.0/8, 2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	many := strings.Repeat("10.0.0.9, ", MaxForwardedEntries)
	for _, c := range []struct {
		name, peer, xff, forwarded string
		want                       string // "" means ok is false
	}{
		{name: "spoofed XFF from an untrusted peer", peer: "198.51.100.1", xff: "1.1.1.1"},
		{name: "no headers", peer: "10.0.0.1"},
		{name: "one hop", peer: "10.0.0.1", xff: "192.0.2.7", want: "192.0.2.7"},
		{name: "right-most untrusted", peer: "10.0.0.1", xff: "6.6.6.6, 192.0.2.7, 10.0.0.2", want: "192.0.2.7"},
		{name: "spoofed left entry ignored", peer: "10.0.0.1", xff: "10.0.0.5, 192.0.2.7", want: "192.0.2.7"},
		{name: "all trusted: the left-most", peer: "10.0.0.1", xff: "10.0.0.3,10.0.0.2", want: "10.0.0.3"},
		{name: "several lines in order", peer: "10.0.0.1", xff: "6.6.6.6|192.0.2.7, 10.0.0.2", want: "192.0.2.7"},
		{name: "ports and brackets", peer: "10.0.0.1", xff: "[2001:db8::5]:443, 192.0.2.7:1234, [2001:db8::6]", want: "192.0.2.7"},
		{name: "bare IPv6", peer: "2001:db8::1", xff: "2001:db9::7", want: "2001:db9::7"},
		{name: "mapped peer and entry", peer: "::ffff:10.0.0.1", xff: "::ffff:192.0.2.7, ::ffff:10.1.1.1", want: "::ffff:192.0.2.7"},
		{name: "empty elements and tabs", peer: "10.0.0.1", xff: " ,\t192.0.2.7 ,, ", want: "192.0.2.7"},
		{name: "malformed entry to read", peer: "10.0.0.1", xff: "192.0.2.7, 10.0.0.300"},
		{name: "malformed entry left of the client", peer: "10.0.0.1", xff: "garbage!, 192.0.2.7", want: "192.0.2.7"},
		{name: "hostname", peer: "10.0.0.1", xff: "client.example"},
		{name: "zone", peer: "10.0.0.1", xff: "fe80::1%eth0"},
		{name: "empty XFF", peer: "10.0.0.1", xff: " , "},
		{name: "entries past the bound all trusted", peer: "10.0.0.1", xff: "192.0.2.7, " + many + "10.0.0.9"},
		{name: "client within the bound", peer: "10.0.0.1", xff: "6.6.6.6, 192.0.2.7, " + many[:len(many)-10*2], want: "192.0.2.7"},
		{name: "more lines than entries examined", peer: "10.0.0.1", xff: strings.Repeat("|", MaxForwardedEntries) + "192.0.2.7"},
		{name: "value over the byte bound", peer: "10.0.0.1", xff: strings.Repeat(" ", MaxForwardedBytes) + "192.0.2.7"},

		{name: "Forwarded", peer: "10.0.0.1", forwarded: "for=192.0.2.60;proto=http;by=203.0.113.43", want: "192.0.2.60"},
		{name: "Forwarded preferred", peer: "10.0.0.1", xff: "6.6.6.6", forwarded: "for=192.0.2.60", want: "192.0.2.60"},
		{name: "Forwarded quoted IPv6 with port", peer: "10.0.0.1", forwarded: `for="[2001:db9:cafe::17]:4711"`, want: "2001:db9:cafe::17"},
		{name: "Forwarded quoted IPv4 with port", peer: "10.0.0.1", forwarded: `for="192.0.2.43:47011"`, want: "192.0.2.43"},
		{name: "Forwarded obfuscated port", peer: "10.0.0.1", forwarded: `for="192.0.2.43:_p1"`, want: "192.0.2.43"},
		{name: "Forwarded mixed case", peer: "10.0.0.1", forwarded: `For="[2001:db8::3]", FOR=192.0.2.8;Proto=https, for=10.1.1.1`, want: "192.0.2.8"},
		{name: "Forwarded comma inside quotes", peer: "10.0.0.1", forwarded: `for=192.0.2.8;by="a,b;c", for=10.1.1.1`, want: "192.0.2.8"},
		{name: "Forwarded unknown", peer: "10.0.0.1", forwarded: "for=192.0.2.8, for=unknown, for=10.1.1.1"},
		{name: "Forwarded obfuscated node", peer: "10.0.0.1", forwarded: "for=_hidden"},
		{name: "Forwarded unquoted IPv6", peer: "10.0.0.1", forwarded: "for=[2001:db9::1]"},
		{name: "Forwarded IPv6 without brackets", peer: "10.0.0.1", forwarded: `for="2001:db9::1"`},
		{name: "Forwarded element without for", peer: "10.0.0.1", forwarded: "for=192.0.2.8, proto=https"},
		{name: "Forwarded two fors", peer: "10.0.0.1", forwarded: "for=192.0.2.8;for=192.0.2.9"},
		{name: "Forwarded unterminated quote", peer: "10.0.0.1", forwarded: `for="192.0.2.8`},
		{name: "Forwarded syntax error left of a good line", peer: "10.0.0.1", forwarded: `for="6.6.6.6|for=192.0.2.8`, want: "192.0.2.8"},
		{name: "Forwarded syntax error to read", peer: "10.0.0.1", forwarded: `for=192.0.2.8|for=192.0.2.9 junk`},
		{name: "Forwarded quoted-pair", peer: "10.0.0.1", forwarded: `for="192.0.2.\8"`},
		{name: "Forwarded empty falls back to XFF", peer: "10.0.0.1", xff: "192.0.2.7", forwarded: " , ", want: "192.0.2.7"},
		{name: "Forwarded from an untrusted peer", peer: "192.0.2.1", forwarded: "for=192.0.2.60"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ClientFromForwarded(netip.MustParseAddr(c.peer), trusted, lines(c.xff), lines(c.forwarded))
			switch {
			case c.want == "" && ok:
				t.Fatalf("got %v, want ok false", got)
			case c.want != "" && (!ok || got != netip.MustParseAddr(c.want)):
				t.Fatalf("got %v %v, want %s", got, ok, c.want)
			}
		})
	}
}
