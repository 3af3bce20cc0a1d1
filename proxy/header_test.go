package proxy

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// headerCase is one input to ParseHeader. A success parses in[:n]; a failure
// must appear at failAt bytes exactly: every shorter prefix needs more bytes.
type headerCase struct {
	name   string
	in     string
	accept Version
	want   Header
	n      int   // header length on success (0: len(in))
	err    error // expected refusal
	failAt int   // the first prefix length that is refused (0: len(in))
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

const request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

var v1Cases = []headerCase{
	{name: "TCP4", in: "PROXY TCP4 192.0.2.1 198.51.100.7 51234 443\r\n" + request, accept: V1,
		want: Header{Source: ap("192.0.2.1:51234"), Dest: ap("198.51.100.7:443"), Version: V1}, n: 45},
	{name: "TCP6", in: "PROXY TCP6 2001:db8::1 2001:db8::2 51234 443\r\n", accept: Any,
		want: Header{Source: ap("[2001:db8::1]:51234"), Dest: ap("[2001:db8::2]:443"), Version: V1}},
	{name: "TCP6 mapped IPv4 kept as given", in: "PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n", accept: V1,
		want: Header{Source: ap("[::ffff:192.0.2.1]:1"), Dest: ap("[::1]:2"), Version: V1}},
	{name: "ports 0 and 65535", in: "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", accept: V1,
		want: Header{Source: ap("0.0.0.0:0"), Dest: ap("255.255.255.255:65535"), Version: V1}},
	{name: "longest TCP6", in: "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", accept: V1,
		want: Header{Source: ap("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"), Dest: ap("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"), Version: V1}},
	{name: "UNKNOWN alone", in: "PROXY UNKNOWN\r\n" + request, accept: V1, want: Header{Local: true, Version: V1}, n: 15},
	{name: "UNKNOWN with addresses", in: "PROXY UNKNOWN ffff:f::1 ffff:f::2 1 2\r\n", accept: Any, want: Header{Local: true, Version: V1}},
	{name: "UNKNOWN at 107 bytes", in: "PROXY UNKNOWN " + strings.Repeat("x", 91) + "\r\n", accept: V1, want: Header{Local: true, Version: V1}},

	{name: "HTTP request", in: request, accept: V1, err: ErrNotProxy, failAt: 1},
	{name: "POST looks like neither", in: "POST / HTTP/1.1\r\n", accept: V1, err: ErrNotProxy, failAt: 2},
	{name: "lower case", in: "proxy TCP4", accept: V1, err: ErrNotProxy, failAt: 1},
	{name: "v1 on a v2 listener", in: "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", accept: V2, err: ErrVersion, failAt: 1},
	{name: "unknown protocol", in: "PROXY TCP5 1.2.3.4", accept: V1, err: ErrMalformed, failAt: 10},
	{name: "UDP4", in: "PROXY UDP4 1.2.3.4", accept: V1, err: ErrMalformed, failAt: 8},
	{name: "octet over 255", in: "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", accept: V1, err: ErrMalformed, failAt: 20},
	{name: "leading zero octet", in: "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", accept: V1, err: ErrMalformed, failAt: 13},
	{name: "IPv6 under TCP4", in: "PROXY TCP4 2001:db8::1 ::2 1 2\r\n", accept: V1, err: ErrMalformed, failAt: 15},
	{name: "IPv4 under TCP6", in: "PROXY TCP6 1.2.3.4 ::2 1 2\r\n", accept: V1, err: ErrMalformed, failAt: 19},
	{name: "zone", in: "PROXY TCP6 fe80::1%eth0 ::2 1 2\r\n", accept: V1, err: ErrMalformed, failAt: 19},
	{name: "triple colon", in: "PROXY TCP6 1:::2 ::2 1 2\r\n", accept: V1, err: ErrMalformed, failAt: 15},
	{name: "port over 65535", in: "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", accept: V1, err: ErrMalformed, failAt: 32},
	{name: "port leading zero", in: "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", accept: V1, err: ErrMalformed, failAt: 29},
	{name: "two spaces", in: "PROXY TCP4  1.2.3.4", accept: V1, err: ErrMalformed, failAt: 12},
	{name: "missing ports", in: "PROXY TCP4 1.2.3.4 5.6.7.8\r\n", accept: V1, err: ErrMalformed, failAt: 27},
	{name: "extra field", in: "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", accept: V1, err: ErrMalformed, failAt: 31},
	{name: "LF without CR", in: "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", accept: V1, err: ErrMalformed, failAt: 31},
	{name: "CR without LF", in: "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", accept: V1, err: ErrMalformed, failAt: 32},
	{name: "UNKNOWN glued", in: "PROXY UNKNOWNX\r\n", accept: V1, err: ErrMalformed, failAt: 14},
	{name: "UNKNOWN past 107 bytes", in: "PROXY UNKNOWN " + strings.Repeat("x", 92) + "\r\n", accept: V1, err: ErrTooLong, failAt: 107},
}

// v2Header builds a v2 header: signature, version 2 and command, family
// and transport, length, then body.
func v2Header(command, familyTransport byte, body ...[]byte) []byte {
	b := []byte(v2Signature)
	b = append(b, 0x20|command, familyTransport)
	n := 0
	for _, part := range body {
		n += len(part)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	for _, part := range body {
		b = append(b, part...)
	}
	return b
}

// addressBlock is the v2 address block for two address-port pairs.
func addressBlock(src, dst string) []byte {
	s, d := ap(src), ap(dst)
	b := s.Addr().AsSlice()
	b = append(b, d.Addr().AsSlice()...)
	b = binary.BigEndian.AppendUint16(b, s.Port())
	return binary.BigEndian.AppendUint16(b, d.Port())
}

// tlv encodes one type-length-value.
func tlv(typ byte, value string) []byte {
	return append(binary.BigEndian.AppendUint16([]byte{typ}, uint16(len(value))), value...)
}

func v2Cases() []headerCase {
	inet := addressBlock("192.0.2.1:51234", "198.51.100.7:443")
	inet6 := addressBlock("[2001:db8::1]:51234", "[2001:db8::2]:443")
	awsVPCE := tlv(0xEA, "\x01vpce-08d2bf15fac5001c9")
	return []headerCase{
		{name: "PROXY TCP4", in: string(v2Header(1, 0x11, inet)) + request, accept: V2,
			want: Header{Source: ap("192.0.2.1:51234"), Dest: ap("198.51.100.7:443"), Version: V2}, n: 28},
		{name: "PROXY TCP6", in: string(v2Header(1, 0x21, inet6)), accept: Any,
			want: Header{Source: ap("[2001:db8::1]:51234"), Dest: ap("[2001:db8::2]:443"), Version: V2}},
		{name: "mapped IPv4 kept as given", in: string(v2Header(1, 0x21, addressBlock("[::ffff:192.0.2.1]:1", "[::1]:2"))), accept: V2,
			want: Header{Source: ap("[::ffff:192.0.2.1]:1"), Dest: ap("[::1]:2"), Version: V2}},
		{name: "TLVs skipped", in: string(v2Header(1, 0x11, inet, awsVPCE, tlv(0x04, "\x00\x00\x00"))) + request, accept: V2,
			want: Header{Source: ap("192.0.2.1:51234"), Dest: ap("198.51.100.7:443"), Version: V2}, n: 16 + 12 + 26 + 6},
		{name: "header of MaxHeader bytes", in: string(v2Header(1, 0x21, inet6, tlv(0x04, strings.Repeat("\x00", MaxHeader-16-36-3)))), accept: V2,
			want: Header{Source: ap("[2001:db8::1]:51234"), Dest: ap("[2001:db8::2]:443"), Version: V2}},
		{name: "LOCAL", in: string(v2Header(0, 0x00)) + request, accept: V2, want: Header{Local: true, Version: V2}, n: 16},
		{name: "LOCAL with addresses", in: string(v2Header(0, 0x11, inet)), accept: V2, want: Header{Local: true, Version: V2}},
		{name: "LOCAL for UNIX", in: string(v2Header(0, 0x31)), accept: V2, want: Header{Local: true, Version: V2}},
		{name: "PROXY UNSPEC", in: string(v2Header(1, 0x00, awsVPCE)), accept: V2, want: Header{Local: true, Version: V2}},
		{name: "PROXY INET unspecified transport", in: string(v2Header(1, 0x10, inet)), accept: V2, want: Header{Local: true, Version: V2}},

		{name: "v2 on a v1 listener", in: string(v2Header(1, 0x11, inet)), accept: V1, err: ErrVersion, failAt: 1},
		{name: "signature broken", in: "\r\n\r\nX", accept: V2, err: ErrNotProxy, failAt: 5},
		{name: "version 1 nibble", in: v2Signature + "\x11\x11", accept: V2, err: ErrMalformed, failAt: 13},
		{name: "command 2", in: v2Signature + "\x22\x11", accept: V2, err: ErrMalformed, failAt: 13},
		{name: "family 4", in: v2Signature + "\x21\x41", accept: V2, err: ErrMalformed, failAt: 14},
		{name: "transport 3", in: v2Signature + "\x21\x13", accept: V2, err: ErrMalformed, failAt: 14},
		{name: "PROXY UNIX", in: string(v2Header(1, 0x31, make([]byte, 216))), accept: V2, err: ErrUnsupported, failAt: 14},
		{name: "PROXY UDP4", in: string(v2Header(1, 0x12, inet)), accept: V2, err: ErrUnsupported, failAt: 14},
		{name: "length short of the addresses", in: string(v2Header(1, 0x21, inet)), accept: V2, err: ErrMalformed, failAt: 16},
		{name: "longer than MaxHeader", in: string(v2Header(1, 0x11, inet, tlv(0x04, strings.Repeat("\x00", MaxHeader-16-12-3+1)))), accept: V2, err: ErrTooLong, failAt: 16},
		{name: "64 KiB announced", in: v2Signature + "\x21\x11\xff\xff", accept: Any, err: ErrTooLong, failAt: 16},
	}
}

func allHeaderCases() []headerCase {
	return append(append([]headerCase(nil), v1Cases...), v2Cases()...)
}

func TestParseHeaderWhole(t *testing.T) {
	for _, c := range allHeaderCases() {
		t.Run(c.name, func(t *testing.T) {
			h, n, err := ParseHeader([]byte(c.in), c.accept)
			if c.err != nil {
				if !errors.Is(err, c.err) || n != 0 {
					t.Fatalf("got n=%d err=%v, want %v", n, err, c.err)
				}
				return
			}
			want := c.n
			if want == 0 {
				want = len(c.in)
			}
			if err != nil || n != want || h != c.want {
				t.Fatalf("got %+v n=%d err=%v, want %+v n=%d", h, n, err, c.want, want)
			}
		})
	}
}

// TestParseHeaderByteByByte feeds every header one more byte at a time: it
// must need more until complete, then give the whole result; a bad header
// must fail at its first impossible byte and not before.
func TestParseHeaderByteByByte(t *testing.T) {
	for _, c := range allHeaderCases() {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.in)
			whole, wholeN, wholeErr := ParseHeader(in, c.accept)
			end := wholeN
			if c.err != nil {
				end = c.failAt
				if end == 0 {
					end = len(in)
				}
			}
			for k := 0; k < end; k++ {
				if h, n, err := ParseHeader(in[:k], c.accept); n != 0 || err != nil || h != (Header{}) {
					t.Fatalf("prefix of %d bytes: got %+v n=%d err=%v, want more needed", k, h, n, err)
				}
			}
			h, n, err := ParseHeader(in[:end], c.accept)
			if h != whole || n != wholeN || err != wholeErr {
				t.Fatalf("at %d bytes: got %+v n=%d err=%v, want %+v n=%d err=%v", end, h, n, err, whole, wholeN, wholeErr)
			}
		})
	}
}

func TestParseHeaderOff(t *testing.T) {
	for _, accept := range []Version{Off, Any + 1} {
		if _, _, err := ParseHeader([]byte("PROXY UNKNOWN\r\n"), accept); err != ErrVersion {
			t.Errorf("accept %v: err %v, want ErrVersion", accept, err)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for _, v := range []Version{Off, V1, V2, Any} {
		got, err := ParseVersion(v.String())
		if err != nil || got != v {
			t.Errorf("ParseVersion(%q) = %v, %v", v.String(), got, err)
		}
	}
	_, err := ParseVersion("V3")
	if err == nil || !strings.Contains(err.Error(), "off, v1, v2 or any") {
		t.Errorf("ParseVersion(V3) error %v does not name the valid values", err)
	}
	if s := Version(9).String(); s != "Version(9)" {
		t.Errorf("Version(9).String() = %q", s)
	}
}
