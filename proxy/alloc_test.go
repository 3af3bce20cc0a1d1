package proxy

import (
	"net/netip"
	"testing"
)

// The calls that run on an event loop for every connection or request must
// not allocate.
func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation changes allocations")
	}
	v1 := []byte("PROXY TCP6 2001:db8::1 2001:db8::2 51234 443\r\nGET /")
	v1Partial := v1[:30]
	http := []byte("GET / HTTP/1.1")
	v2 := append(v2Header(1, 0x21, addressBlock("[2001:db8::1]:51234", "[2001:db8::2]:443"), tlv(0x04, "xx")), "GET /"...)
	trusted, _ := ParseTrusted("10.0.0.0/8, 2001:db8::/32")
	peer := netip.MustParseAddr("10.0.0.1")
	xff := [][]byte{[]byte("6.6.6.6, [2001:db9::7]:443, 10.0.0.2:80")}
	forwarded := [][]byte{[]byte(`for=6.6.6.6, For="[2001:db9::7]:443";proto=https, for=10.0.0.2`)}
	var sink netip.Addr
	for _, c := range []struct {
		name string
		run  func()
	}{
		{"ParseHeader v1", func() { h, _, _ := ParseHeader(v1, Any); sink = h.Source.Addr() }},
		{"ParseHeader v1 partial", func() { h, _, _ := ParseHeader(v1Partial, Any); sink = h.Source.Addr() }},
		{"ParseHeader v2", func() { h, _, _ := ParseHeader(v2, Any); sink = h.Source.Addr() }},
		{"ParseHeader refused", func() { _, _, err := ParseHeader(http, Any); _ = err }},
		{"Trusted.Contains", func() { _ = trusted.Contains(peer) }},
		{"ClientFromForwarded XFF", func() { sink, _ = ClientFromForwarded(peer, trusted, xff, nil) }},
		{"ClientFromForwarded Forwarded", func() { sink, _ = ClientFromForwarded(peer, trusted, nil, forwarded) }},
	} {
		if n := testing.AllocsPerRun(100, c.run); n != 0 {
			t.Errorf("%s: %.1f allocations per call, want 0", c.name, n)
		}
	}
	_ = sink
}
