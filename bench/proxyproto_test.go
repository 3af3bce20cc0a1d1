package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// proxyHeader is what a server learns from a PROXY header.
type proxyHeader struct {
	version  int
	src, dst netip.AddrPort
}

// readProxyHeader is a test's own PROXY parser (HAProxy's
// proxy-protocol.txt), independent of the encoder: it reads exactly the
// header from r, v1 or v2, TCP only, so what follows stays unread.
func readProxyHeader(r io.Reader) (proxyHeader, error) {
	var head [16]byte // shorter than any v1 header, the fixed part of v2
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return proxyHeader{}, err
	}
	if string(head[:12]) == "\r\n\r\n\x00\r\nQUIT\n" {
		return readProxyV2(r, head)
	}
	line := append([]byte(nil), head[:]...)
	for !bytes.HasSuffix(line, []byte("\r\n")) {
		if len(line) > 107 { // §2.1: at most 107 bytes
			return proxyHeader{}, errors.New("v1 header too long")
		}
		var b [1]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return proxyHeader{}, err
		}
		line = append(line, b[0])
	}
	f := strings.Fields(string(line))
	if len(f) != 6 || f[0] != "PROXY" || (f[1] != "TCP4" && f[1] != "TCP6") {
		return proxyHeader{}, errors.New("bad v1 header " + strconv.Quote(string(line)))
	}
	src, err1 := netip.ParseAddrPort(net.JoinHostPort(f[2], f[4]))
	dst, err2 := netip.ParseAddrPort(net.JoinHostPort(f[3], f[5]))
	if err := errors.Join(err1, err2); err != nil {
		return proxyHeader{}, err
	}
	if src.Addr().Is4() != (f[1] == "TCP4") || dst.Addr().Is4() != (f[1] == "TCP4") {
		return proxyHeader{}, errors.New("v1 address family mismatch")
	}
	return proxyHeader{version: 1, src: src, dst: dst}, nil
}

func readProxyV2(r io.Reader, head [16]byte) (proxyHeader, error) {
	if head[12] != 0x21 {
		return proxyHeader{}, errors.New("v2: not version 2, PROXY")
	}
	body := make([]byte, binary.BigEndian.Uint16(head[14:]))
	if _, err := io.ReadFull(r, body); err != nil {
		return proxyHeader{}, err
	}
	size := map[byte]int{0x11: 4, 0x21: 16}[head[13]]
	if size == 0 || len(body) < 2*size+4 {
		return proxyHeader{}, errors.New("v2: not TCP over IPv4 or IPv6, or short")
	}
	s, _ := netip.AddrFromSlice(body[:size])
	d, _ := netip.AddrFromSlice(body[size : 2*size])
	ports := body[2*size:]
	return proxyHeader{version: 2,
		src: netip.AddrPortFrom(s, binary.BigEndian.Uint16(ports)),
		dst: netip.AddrPortFrom(d, binary.BigEndian.Uint16(ports[2:]))}, nil
}

// TestProxyV2Bytes: the encoder against headers computed by hand from
// §2.2: signature, 0x21, family and transport, length, addresses, ports.
func TestProxyV2Bytes(t *testing.T) {
	sig := []byte{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	zeros := func(n int) []byte { return make([]byte, n) }
	for _, c := range []struct {
		name     string
		src, dst string
		want     []byte
	}{
		{"ipv4", "10.1.2.3:40000", "127.0.0.1:8080", cat(sig,
			[]byte{0x21, 0x11, 0x00, 0x0C, 10, 1, 2, 3, 127, 0, 0, 1, 0x9C, 0x40, 0x1F, 0x90})},
		{"ipv6", "[2001:db8::1]:443", "[::1]:8443", cat(sig,
			[]byte{0x21, 0x21, 0x00, 0x24, 0x20, 0x01, 0x0D, 0xB8}, zeros(11), []byte{1}, zeros(15), []byte{1},
			[]byte{0x01, 0xBB, 0x20, 0xFB})},
		{"mixed families go as IPv6", "10.0.0.1:1", "[::1]:2", cat(sig,
			[]byte{0x21, 0x21, 0x00, 0x24}, zeros(10), []byte{0xFF, 0xFF, 10, 0, 0, 1}, zeros(15), []byte{1},
			[]byte{0, 1, 0, 2})},
		{"mapped IPv4 goes as IPv4", "[::ffff:10.0.0.1]:1", "127.0.0.1:2", cat(sig,
			[]byte{0x21, 0x11, 0x00, 0x0C, 10, 0, 0, 1, 127, 0, 0, 1, 0, 1, 0, 2})},
	} {
		got := appendProxyV2([]byte("x"), netip.MustParseAddrPort(c.src), netip.MustParseAddrPort(c.dst))
		if !bytes.Equal(got, append([]byte("x"), c.want...)) {
			t.Errorf("%s: got\n% x\nwant\n% x", c.name, got[1:], c.want)
		}
	}
}

// TestProxyV1Text: §2.1's line, family named by the addresses.
func TestProxyV1Text(t *testing.T) {
	for _, c := range []struct{ src, dst, want string }{
		{"10.1.2.3:40000", "127.0.0.1:8080", "PROXY TCP4 10.1.2.3 127.0.0.1 40000 8080\r\n"},
		{"[2001:db8::1]:443", "[::1]:8443", "PROXY TCP6 2001:db8::1 ::1 443 8443\r\n"},
		{"10.0.0.1:1", "[::1]:2", "PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n"},
	} {
		if got := string(appendProxyV1(nil, netip.MustParseAddrPort(c.src), netip.MustParseAddrPort(c.dst))); got != c.want {
			t.Errorf("%s → %s: %q, want %q", c.src, c.dst, got, c.want)
		}
	}
}

// TestProxyHeaderRoundTrip: random addresses and ports of both families,
// encoded in both versions, come back whole through the test's parser,
// which reads exactly the header.
func TestProxyHeaderRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	addr := func(v6 bool) netip.AddrPort {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		a := netip.AddrFrom16(b)
		if !v6 {
			a = netip.AddrFrom4([4]byte(b[:4]))
		}
		if a.Is4In6() {
			a = a.Unmap()
		}
		return netip.AddrPortFrom(a, uint16(rng.Uint32()))
	}
	for i := range 2000 {
		v6 := i%2 == 1
		src, dst := addr(v6), addr(v6)
		for _, enc := range []func([]byte, netip.AddrPort, netip.AddrPort) []byte{appendProxyV1, appendProxyV2} {
			wire := append(enc(nil, src, dst), "GET / HTTP/1.1\r\n"...)
			r := bytes.NewReader(wire)
			h, err := readProxyHeader(r)
			if err != nil || h.src != src || h.dst != dst {
				t.Fatalf("%s → %s: parsed %+v, %v from %q", src, dst, h, err, wire)
			}
			if rest, _ := io.ReadAll(r); string(rest) != "GET / HTTP/1.1\r\n" {
				t.Fatalf("%s → %s: %q left after the header", src, dst, rest)
			}
		}
	}
}

// TestProxySourcePerConnection: connection i claims 10.(i>>16).(i>>8).(i)
// from its socket's port, to the socket's peer; publishers count down
// from 10.255.255.255; --proxy-source overrides both.
func TestProxySourcePerConnection(t *testing.T) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 5), Port: 51000}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	for _, c := range []struct {
		o    ProxyOptions
		id   uint32
		want string
	}{
		{ProxyOptions{Version: ProxyV2}, 0, "10.0.0.0:51000"},
		{ProxyOptions{Version: ProxyV2}, 0x012345, "10.1.35.69:51000"},
		{ProxyOptions{Version: ProxyV2}, 1<<24 + 7, "10.0.0.7:51000"},
		{ProxyOptions{Version: ProxyV2}, publisherProxyID(1), "10.255.255.254:51000"},
		{ProxyOptions{Version: ProxyV1, Source: netip.MustParseAddr("198.51.100.7")}, 99, "198.51.100.7:51000"},
	} {
		b, err := c.o.appendProxyHeader(nil, c.id, local, remote)
		if err != nil {
			t.Fatal(err)
		}
		h, err := readProxyHeader(bytes.NewReader(b))
		if err != nil || h.src.String() != c.want || h.dst.String() != "127.0.0.1:8080" || h.version != int(c.o.Version[1]-'0') {
			t.Errorf("%s id %#x: %+v %v, want v%s from %s to 127.0.0.1:8080", c.o.Version, c.id, h, err, c.o.Version[1:], c.want)
		}
	}
}
