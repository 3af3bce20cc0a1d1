package proxy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseTrusted(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"", ""},
		{"  ", ""},
		{"10.0.0.0/8, 127.0.0.1, ::1", "10.0.0.0/8, 127.0.0.1/32, ::1/128"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"2001:db8::/32,0.0.0.0/0", "2001:db8::/32, 0.0.0.0/0"},
	} {
		tr, err := ParseTrusted(c.in)
		if err != nil || tr.String() != c.want || tr.Empty() != (c.want == "") {
			t.Errorf("ParseTrusted(%q) = %q (empty %v), %v; want %q", c.in, tr.String(), tr.Empty(), err, c.want)
		}
	}
}

func TestParseTrustedErrorsNameTheEntry(t *testing.T) {
	for _, c := range []struct{ in, mention string }{
		{"10.0.0.0/8, 10.0.0.300", `"10.0.0.300"`},
		{"10.0.0.0/33", `"10.0.0.0/33"`},
		{"10.0.0.0/8,,::1", "entry 2"},
		{"fe80::1%eth0", `"fe80::1%eth0"`},
		{"::ffff:0.0.0.0/80", `"::ffff:0.0.0.0/80"`},
		{"proxy.example", `"proxy.example"`},
		{strings.Repeat("10.0.0.1,", MaxTrusted) + "10.0.0.1", "at most 256"},
	} {
		_, err := ParseTrusted(c.in)
		if err == nil || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("ParseTrusted(%.40q) error %v, want one mentioning %s", c.in, err, c.mention)
		}
	}
	if _, err := ParseTrusted(strings.Repeat("10.0.0.1,", MaxTrusted-1) + "10.0.0.1"); err != nil {
		t.Errorf("%d entries refused: %v", MaxTrusted, err)
	}
}

func TestTrustedContains(t *testing.T) {
	tr, err := ParseTrusted("10.0.0.0/8, 2001:db8::/32, 127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true}, {"11.0.0.1", false}, {"127.0.0.1", true}, {"127.0.0.2", false},
		{"::ffff:10.9.9.9", true}, {"2001:db8:1::5", true}, {"2001:db9::1", false},
	} {
		if got := tr.Contains(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Contains(%s) = %v", c.addr, got)
		}
	}
	if tr.Contains(netip.Addr{}) {
		t.Error("the zero Addr is trusted")
	}
	var zero Trusted
	if !zero.Empty() || zero.Contains(netip.MustParseAddr("127.0.0.1")) || zero.String() != "" {
		t.Error("the zero Trusted trusts someone")
	}
}
