package reactor

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/proxy"
)

// proxyV2 is a PROXY protocol v2 header for a TCP/IPv4 connection from src.
func proxyV2(src string) []byte {
	a := netip.MustParseAddrPort(src)
	h := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
	s, d := a.Addr().As4(), [4]byte{127, 0, 0, 1}
	h = append(h, s[:]...)
	h = append(h, d[:]...)
	h = binary.BigEndian.AppendUint16(h, a.Port())
	return binary.BigEndian.AppendUint16(h, 8080)
}

// proxyV2Local is a v2 LOCAL header: the proxy's own health check.
var proxyV2Local = []byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00")

func trusted(t *testing.T, list string) proxy.Trusted {
	t.Helper()
	tr, err := proxy.ParseTrusted(list)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// upgradeFrom opens a connection to e from the local address from
// (127.0.0.x), writes prefix (a PROXY header or nothing) and an upgrade
// request with the extra header lines, in pieces of split bytes when split
// > 0, and returns the response's status (-1: the connection closed
// without one) and the connection, left open (nil when reset at once).
func upgradeFrom(t *testing.T, e *Engine, from string, prefix []byte, extra string, split int) (int, net.Conn) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", e.Addr().String())
	if errors.Is(err, syscall.ECONNRESET) {
		return -1, nil // reset at accept, before the dial returned
	}
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	req := append(append([]byte{}, prefix...), "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+extra+"\r\n"...)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	for len(req) > 0 {
		n := len(req)
		if split > 0 {
			n = min(n, split)
		}
		if _, err := c.Write(req[:n]); err != nil {
			return -1, c
		}
		req = req[n:]
		if split > 0 {
			time.Sleep(time.Millisecond) // separate reads on the server
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return -1, c
	}
	return resp.StatusCode, c
}

// TestProxyV2ClientAddressCountsPerClient: behind a trusted proxy sending
// PROXY v2, MaxConnsPerIP counts the client the header names, not the
// proxy: a client's third connection is refused while another client, and
// the proxy's LOCAL health check, get through. The header may arrive one
// byte at a time.
func TestProxyV2ClientAddressCountsPerClient(t *testing.T) {
	e := gateway(t, Config{ProxyProtocol: proxy.V2, TrustedProxies: trusted(t, "127.0.0.1/32"), MaxConnsPerIP: 2})
	for i, split := range []int{0, 1} {
		if s, _ := upgradeFrom(t, e, "127.0.0.1", proxyV2("10.1.1.1:4000"), "", split); s != 101 {
			t.Fatalf("client 10.1.1.1, connection %d: status %d, want 101", i+1, s)
		}
	}
	if s, _ := upgradeFrom(t, e, "127.0.0.1", proxyV2("10.1.1.1:4002"), "", 0); s != 503 {
		t.Fatalf("client 10.1.1.1, third connection: status %d, want 503", s)
	}
	if s, _ := upgradeFrom(t, e, "127.0.0.1", proxyV2("10.2.2.2:4000"), "", 0); s != 101 {
		t.Fatalf("client 10.2.2.2: status %d, want 101", s)
	}
	for i := range 3 { // not counted against anyone
		if s, _ := upgradeFrom(t, e, "127.0.0.1", proxyV2Local, "", 0); s != 101 {
			t.Fatalf("LOCAL %d: status %d, want 101", i, s)
		}
	}
}

// TestProxyProtocolRefusesUntrustedPeers: with the PROXY protocol on, a
// peer outside TrustedProxies is reset at accept and counted; with
// AllowUntrustedDirect it is served as a direct client, no header read.
func TestProxyProtocolRefusesUntrustedPeers(t *testing.T) {
	e := gateway(t, Config{ProxyProtocol: proxy.Any, TrustedProxies: trusted(t, "127.0.0.1/32")})
	if s, _ := upgradeFrom(t, e, "127.0.0.2", proxyV2("10.1.1.1:4000"), "", 0); s != -1 {
		t.Fatalf("untrusted peer with a header: status %d, want the connection reset", s)
	}
	testkit.Eventually(t, waitTimeout, "the refusal counted", func() bool {
		return e.Stats().SocketsRefused["untrusted_proxy"] == 1
	})

	e = gateway(t, Config{ProxyProtocol: proxy.Any, TrustedProxies: trusted(t, "127.0.0.1/32"), AllowUntrustedDirect: true, MaxConnsPerIP: 1})
	if s, _ := upgradeFrom(t, e, "127.0.0.2", nil, "", 0); s != 101 {
		t.Fatalf("untrusted peer, allowed direct: status %d, want 101", s)
	}
	if s, _ := upgradeFrom(t, e, "127.0.0.2", nil, "", 0); s != 503 {
		t.Fatalf("untrusted peer's second connection: status %d, want 503 (counted as itself)", s)
	}
}

// TestProxyHeaderErrorsClose: a trusted peer that sends no header, a
// header of the other version, or a broken one is closed without an HTTP
// answer (there is no client to answer) and counted.
func TestProxyHeaderErrorsClose(t *testing.T) {
	e := gateway(t, Config{ProxyProtocol: proxy.V1, TrustedProxies: trusted(t, "127.0.0.1/32")})
	for i, prefix := range [][]byte{nil, proxyV2("10.1.1.1:1"), []byte("PROXY TCP4 10.1.1.1 nonsense\r\n")} {
		if s, _ := upgradeFrom(t, e, "127.0.0.1", prefix, "", 0); s != -1 {
			t.Fatalf("case %d: status %d, want the connection closed", i, s)
		}
	}
	testkit.Eventually(t, waitTimeout, "the errors counted", func() bool { return e.Stats().ProxyHeaderErrors == 3 })
	if s, _ := upgradeFrom(t, e, "127.0.0.1", []byte("PROXY TCP4 10.1.1.1 127.0.0.1 4000 8080\r\n"), "", 3); s != 101 {
		t.Fatalf("a v1 header in pieces: status %d, want 101", s)
	}
}

// TestForwardedForFromTrustedProxyOnly: X-Forwarded-For names the client
// only when the peer is a trusted proxy (the right-most untrusted entry);
// from anyone else it changes nothing.
func TestForwardedForFromTrustedProxyOnly(t *testing.T) {
	e := gateway(t, Config{TrustedProxies: trusted(t, "127.0.0.1/32"), MaxConnsPerIP: 1})
	// Through the proxy: clients told apart, the left (client-written) entry ignored.
	if s, _ := upgradeFrom(t, e, "127.0.0.1", nil, "X-Forwarded-For: 6.6.6.6, 10.0.0.1\r\n", 0); s != 101 {
		t.Fatalf("client 10.0.0.1: status %d, want 101", s)
	}
	if s, _ := upgradeFrom(t, e, "127.0.0.1", nil, "X-Forwarded-For: 7.7.7.7, 10.0.0.1\r\n", 0); s != 503 {
		t.Fatalf("client 10.0.0.1 again, another spoofed entry: status %d, want 503", s)
	}
	// Forwarded is not read unless configured: the proxy passes it through,
	// so a client could name anyone with it.
	if s, _ := upgradeFrom(t, e, "127.0.0.1", nil, "Forwarded: for=10.0.0.2\r\nX-Forwarded-For: 10.0.0.1\r\n", 0); s != 503 {
		t.Fatalf("client 10.0.0.1 with a Forwarded header of its own: status %d, want 503", s)
	}
	// Straight from a client: its own header is not believed.
	if s, _ := upgradeFrom(t, e, "127.0.0.2", nil, "X-Forwarded-For: 10.0.0.3\r\n", 0); s != 101 {
		t.Fatalf("untrusted peer: status %d, want 101", s)
	}
	for i := range 3 {
		spoof := fmt.Sprintf("X-Forwarded-For: 10.9.9.%d\r\n", i)
		if s, _ := upgradeFrom(t, e, "127.0.0.2", nil, spoof, 0); s != 503 {
			t.Fatalf("untrusted peer, spoofed %q: status %d, want 503", spoof, s)
		}
	}
}

// TestForwardedHeaderRFC7239: with ForwardedRFC7239 the node reads
// Forwarded (quoted IPv6, ports, several lines) and ignores X-Forwarded-For.
func TestForwardedHeaderRFC7239(t *testing.T) {
	e := gateway(t, Config{TrustedProxies: trusted(t, "127.0.0.1/32"), ForwardedHeader: ForwardedRFC7239, MaxConnsPerIP: 1})
	if s, _ := upgradeFrom(t, e, "127.0.0.1", nil, "Forwarded: for=6.6.6.6\r\nForwarded: for=\"[2001:db8::1]:4711\";proto=https\r\n", 0); s != 101 {
		t.Fatalf("client 2001:db8::1: status %d, want 101", s)
	}
	if s, _ := upgradeFrom(t, e, "127.0.0.1", nil, "Forwarded: for=\"[2001:db8::2]\"\r\n", 0); s != 503 {
		t.Fatalf("2001:db8::2, the same /64: status %d, want 503", s)
	}
	if s, _ := upgradeFrom(t, e, "127.0.0.1", nil, "X-Forwarded-For: 10.0.0.9\r\nForwarded: For=10.0.0.8\r\n", 0); s != 101 {
		t.Fatalf("client 10.0.0.8: status %d, want 101", s)
	}
	// No client named: the proxy itself is never throttled as one client.
	for i := range 2 {
		if s, _ := upgradeFrom(t, e, "127.0.0.1", nil, "X-Forwarded-For: 10.0.0.7\r\n", 0); s != 101 {
			t.Fatalf("X-Forwarded-For only, %d: status %d, want 101", i, s)
		}
	}
}

// TestProxyV2HandshakeRatePerClient: the handshake rate limit, skipped at
// accept for the proxy, applies to each client once the header names it.
func TestProxyV2HandshakeRatePerClient(t *testing.T) {
	e := gateway(t, Config{ProxyProtocol: proxy.V2, TrustedProxies: trusted(t, "127.0.0.1/32"),
		HandshakeRatePerIP: 0.001, HandshakeBurstPerIP: 1})
	if s, _ := upgradeFrom(t, e, "127.0.0.1", proxyV2("10.1.1.1:1"), "", 0); s != 101 {
		t.Fatalf("first attempt: status %d, want 101", s)
	}
	if s, _ := upgradeFrom(t, e, "127.0.0.1", proxyV2("10.1.1.1:2"), "", 0); s != 429 {
		t.Fatalf("second attempt of the client: status %d, want 429", s)
	}
	if s, _ := upgradeFrom(t, e, "127.0.0.1", proxyV2("10.1.1.2:1"), "", 0); s != 101 {
		t.Fatalf("another client through the same proxy: status %d, want 101", s)
	}
}

// TestProxyProtocolNeedsTrustedProxies: a configuration that would refuse
// every connection is an error.
func TestProxyProtocolNeedsTrustedProxies(t *testing.T) {
	if err := (Config{ProxyProtocol: proxy.V2}).Validate(); err == nil {
		t.Fatal("PROXY protocol without trusted proxies: no error")
	}
}

// TestProxyHeaderStallTimesOut: a trusted peer that sends part of a
// header and stops is closed at the handshake timeout, like any silent
// socket, and leaves no handshake slot behind.
func TestProxyHeaderStallTimesOut(t *testing.T) {
	e := gateway(t, Config{ProxyProtocol: proxy.V2, TrustedProxies: trusted(t, "127.0.0.1/32"),
		HandshakeTimeout: 300 * time.Millisecond, CloseTimeout: 300 * time.Millisecond, MaxHandshakesPerIP: 1})
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(proxyV2("10.1.1.1:1")[:10]); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 512)); err == nil {
		// The 408 answer may come first; the close follows.
		_, _ = c.Read(make([]byte, 512))
	}
	c.Close()
	testkit.Eventually(t, waitTimeout, "the stalled header timed out and its slot freed", func() bool {
		st := e.Stats()
		return st.HandshakeTimeouts == 1 && st.Handshaking == 0
	})
	if s, _ := upgradeFrom(t, e, "127.0.0.1", proxyV2("10.1.1.1:2"), "", 0); s != 101 {
		t.Fatalf("after the stall: status %d, want 101", s)
	}
}
