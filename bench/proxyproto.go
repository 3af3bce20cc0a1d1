package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// The PROXY protocol (HAProxy's proxy-protocol.txt): a load balancer's
// header, before the client's first byte, naming the client's address.
// wsbench sends it as a load balancer would, so a node run with
// --proxy-protocol sees each connection from its own synthetic client.
// The encoder is written here, not borrowed from the server: bench is a
// client and never imports it (deps_test.go).
const (
	ProxyV1 = "v1"
	ProxyV2 = "v2"
)

// proxyV2Sig is the v2 header's 12-byte signature (§2.2).
const proxyV2Sig = "\r\n\r\n\x00\r\nQUIT\n"

const (
	proxyV2Cmd   = 0x21 // version 2, command PROXY
	proxyV2TCP4  = 0x11 // AF_INET, STREAM
	proxyV2TCP6  = 0x21 // AF_INET6, STREAM
	proxyV2Len4  = 12   // two IPv4 addresses and two ports
	proxyV2Len16 = 36   // two IPv6 addresses and two ports
)

// ProxyOptions make every connection start with a PROXY header. They
// travel in a Plan to worker processes.
type ProxyOptions struct {
	Version string     `json:"version,omitempty"` // "", ProxyV1 or ProxyV2
	Source  netip.Addr `json:"source,omitzero"`   // every connection's client address; zero: proxySource
}

// check reports an unknown version.
func (o ProxyOptions) check() error {
	switch o.Version {
	case "", ProxyV1, ProxyV2:
		return nil
	}
	return fmt.Errorf("--proxy-protocol %q: want v1 or v2", o.Version)
}

// Describe says, for the report, what the headers claimed.
func (o ProxyOptions) Describe() string {
	if o.Version == "" {
		return ""
	}
	if o.Source.IsValid() {
		return o.Version + ", every connection from " + o.Source.String()
	}
	return o.Version + ", connection i from 10.0.0.0/8 + (i mod 2^24)"
}

// proxySource is connection id's synthetic client address,
// 10.(id>>16).(id>>8).(id): a distinct one for each of 2^24 connections,
// so no per-address limit of the server trips.
func proxySource(id uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(id >> 16), byte(id >> 8), byte(id)})
}

// publisherProxyID numbers publisher i's connection for proxySource: from
// 10.255.255.255 down, apart from the subscribers'.
func publisherProxyID(i int) uint32 { return 1<<24 - 1 - uint32(i) }

// appendProxyHeader appends the header for connection id, whose socket
// runs from local to remote: the client is o.Source or id's synthetic
// address, on local's port; the destination is remote.
func (o ProxyOptions) appendProxyHeader(dst []byte, id uint32, local, remote net.Addr) ([]byte, error) {
	la, lok := local.(*net.TCPAddr)
	ra, rok := remote.(*net.TCPAddr)
	if !lok || !rok {
		return dst, errors.New("bench: PROXY header: not a TCP connection")
	}
	src := o.Source
	if !src.IsValid() {
		src = proxySource(id)
	}
	from := netip.AddrPortFrom(src, uint16(la.Port))
	to := ra.AddrPort()
	if o.Version == ProxyV1 {
		return appendProxyV1(dst, from, to), nil
	}
	return appendProxyV2(dst, from, to), nil
}

// sameFamily returns the two addresses both as IPv4 when they are (an
// IPv4-mapped IPv6 address counts as IPv4), else both as IPv6: a header
// carries one family.
func sameFamily(a, b netip.Addr) (netip.Addr, netip.Addr, bool) {
	a, b = a.Unmap(), b.Unmap()
	if a.Is4() && b.Is4() {
		return a, b, true
	}
	return netip.AddrFrom16(a.As16()), netip.AddrFrom16(b.As16()), false
}

// appendProxyV2 appends a v2 PROXY header (§2.2): signature, version and
// command, family and transport, length, then source and destination
// addresses and ports, big-endian.
func appendProxyV2(dst []byte, src, to netip.AddrPort) []byte {
	s, d, v4 := sameFamily(src.Addr(), to.Addr())
	dst = append(dst, proxyV2Sig...)
	if v4 {
		dst = append(dst, proxyV2Cmd, proxyV2TCP4, 0, proxyV2Len4)
		s4, d4 := s.As4(), d.As4()
		dst = append(append(dst, s4[:]...), d4[:]...)
	} else {
		dst = append(dst, proxyV2Cmd, proxyV2TCP6, 0, proxyV2Len16)
		s16, d16 := s.As16(), d.As16()
		dst = append(append(dst, s16[:]...), d16[:]...)
	}
	dst = binary.BigEndian.AppendUint16(dst, src.Port())
	return binary.BigEndian.AppendUint16(dst, to.Port())
}

// appendProxyV1 appends a v1 header (§2.1):
// "PROXY TCP4 10.0.0.7 127.0.0.1 40000 8080\r\n".
func appendProxyV1(dst []byte, src, to netip.AddrPort) []byte {
	s, d, v4 := sameFamily(src.Addr(), to.Addr())
	family := "TCP6 "
	if v4 {
		family = "TCP4 "
	}
	dst = append(append(dst, "PROXY "...), family...)
	dst = s.AppendTo(dst)
	dst = append(dst, ' ')
	dst = d.AppendTo(dst)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(src.Port()), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(to.Port()), 10)
	return append(dst, "\r\n"...)
}
