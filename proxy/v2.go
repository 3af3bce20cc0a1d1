package proxy

import (
	"encoding/binary"
	"net/netip"
)

// The v2 (binary) header, §2.2 of the PROXY protocol specification:
//
//	offset 0   12-byte signature "\r\n\r\n\x00\r\nQUIT\n"
//	offset 12  version (high nibble, must be 2) and command (0 LOCAL, 1 PROXY)
//	offset 13  address family (high nibble: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX)
//	           and transport (low nibble: 0 UNSPEC, 1 STREAM, 2 DGRAM)
//	offset 14  length of what follows, big endian
//	offset 16  addresses: source, destination, source port, destination port;
//	           then TLVs, which are skipped
//
// Each byte is judged as soon as it arrives, so a bad version, command,
// family or length fails before the rest of the header is waited for.

const (
	v2Signature  = "\r\n\r\n\x00\r\nQUIT\n"
	v2FixedLen   = 16
	v2Version    = 0x2
	v2Local      = 0x0
	v2Proxy      = 0x1
	familyUnspec = 0x0
	familyInet   = 0x1
	familyInet6  = 0x2
	familyUnix   = 0x3
	transportAny = 0x0 // AF_UNSPEC's transport: "unknown, unspecified or unsupported"
	transportTCP = 0x1
	transportUDP = 0x2
	inetAddrLen  = 4 + 4 + 2 + 2
	inet6AddrLen = 16 + 16 + 2 + 2
)

func parseV2(buf []byte) (Header, int, error) {
	if len(buf) <= 12 {
		return Header{}, 0, nil // startsLike has checked these bytes
	}
	// "Receivers must drop connections presenting unexpected values here."
	command := buf[12] & 0x0f
	if buf[12]>>4 != v2Version || (command != v2Local && command != v2Proxy) {
		return Header{}, 0, ErrMalformed
	}
	if len(buf) <= 13 {
		return Header{}, 0, nil
	}
	// Other family and transport values "must be rejected as invalid by receivers".
	family, transport := buf[13]>>4, buf[13]&0x0f
	if family > familyUnix || transport > transportUDP {
		return Header{}, 0, ErrMalformed
	}
	// With LOCAL "the receiver must [...] use the real connection endpoints
	// and discard the protocol block including the family"; with PROXY and
	// an unspecified family or transport it "is free to accept the connection
	// anyway and use the real endpoint addresses". UNIX and UDP clients
	// cannot be behind a WebSocket node.
	h := Header{Version: V2, Local: true}
	addrLen := 0
	if command == v2Proxy {
		switch {
		case family == familyUnix || transport == transportUDP:
			return Header{}, 0, ErrUnsupported
		case family == familyInet && transport == transportTCP:
			h.Local, addrLen = false, inetAddrLen
		case family == familyInet6 && transport == transportTCP:
			h.Local, addrLen = false, inet6AddrLen
		}
	}
	if len(buf) < v2FixedLen {
		return Header{}, 0, nil
	}
	length := int(binary.BigEndian.Uint16(buf[14:16]))
	if v2FixedLen+length > MaxHeader {
		return Header{}, 0, ErrTooLong
	}
	if length < addrLen {
		return Header{}, 0, ErrMalformed
	}
	n := v2FixedLen + length
	if len(buf) < n {
		return Header{}, 0, nil
	}
	addrs := buf[v2FixedLen:n]
	switch addrLen {
	case inetAddrLen:
		h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(addrs[0:4])), binary.BigEndian.Uint16(addrs[8:10]))
		h.Dest = netip.AddrPortFrom(netip.AddrFrom4([4]byte(addrs[4:8])), binary.BigEndian.Uint16(addrs[10:12]))
	case inet6AddrLen:
		h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(addrs[0:16])), binary.BigEndian.Uint16(addrs[32:34]))
		h.Dest = netip.AddrPortFrom(netip.AddrFrom16([16]byte(addrs[16:32])), binary.BigEndian.Uint16(addrs[34:36]))
	}
	return h, n, nil
}
