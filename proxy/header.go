package proxy

import "net/netip"

// MaxHeader is the longest header ParseHeader accepts, and so the most a
// caller ever needs to hold before deciding. A v1 line is at most 107 bytes
// (the specification's worst case, §2.1). A v2 header is 16 bytes plus the
// length it announces; that field is 16 bits, so a peer could announce 64
// KiB and make the node buffer it. 1024 leaves 972 bytes of TLVs after an
// IPv6 address block: room for every TLV the common proxies send (AWS's VPC
// endpoint id, GCP's PSC id, Azure's link id, HAProxy's ALPN, authority,
// unique id and TLS fields), which together stay well under 600 bytes.
// Longer headers fail with ErrTooLong as soon as their length is read.
const MaxHeader = 1024

// Header is what a proxy in front of the node says about the connection.
type Header struct {
	Source netip.AddrPort // the client as the proxy saw it; zero when Local
	Dest   netip.AddrPort // the address the client connected to; zero when Local
	// Local is true for a v2 LOCAL command, a v1 "UNKNOWN" line and a v2
	// header whose family or transport is unspecified: the proxy speaks for
	// itself (a health check) or has no address to give, so the socket's
	// peer is the client.
	Local   bool
	Version Version // V1 or V2: which form the header took
}

// ParseHeader reads a PROXY protocol header at the start of buf, which holds
// every byte received so far on the connection: the header may arrive split
// over many reads, and the caller calls again with more bytes.
//
// It returns n == 0 and a nil error when more bytes are needed; n > 0, the
// header's length, when it is complete (the client's own bytes start at
// buf[n]); and one of the Err constants when buf cannot start with a header
// accept allows. It decides as early as it can: a buffer that cannot be the
// start of an acceptable header fails at the first byte that shows it (a
// plain "GET / HTTP/1.1" fails on its first byte, not after 107). It never
// reads beyond buf[:MaxHeader], never allocates, and keeps no state, so
// calling it again after each read costs at most MaxHeader bytes of
// scanning and is safe on any goroutine.
//
// A buffer that starts like the other version's signature fails with
// ErrVersion, anything else with ErrNotProxy; with the first read holding
// several bytes (as it does in practice) the two are told apart exactly.
func ParseHeader(buf []byte, accept Version) (h Header, n int, err error) {
	if accept == Off || accept > Any {
		return Header{}, 0, ErrVersion
	}
	if len(buf) == 0 {
		return Header{}, 0, nil
	}
	got := Off
	switch {
	case startsLike(buf, v1Signature):
		got = V1
	case startsLike(buf, v2Signature):
		got = V2
	default:
		return Header{}, 0, ErrNotProxy
	}
	if !accept.accepts(got) {
		return Header{}, 0, ErrVersion
	}
	if got == V1 {
		return parseV1(buf)
	}
	return parseV2(buf)
}

// startsLike reports whether buf and sig agree on their common length: buf
// may be a prefix of sig (more bytes to come) or sig a prefix of buf.
func startsLike(buf []byte, sig string) bool {
	n := min(len(buf), len(sig))
	return string(buf[:n]) == sig[:n]
}
