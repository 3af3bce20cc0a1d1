package e2e

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
)

// What a client connecting directly may claim about itself: nothing. A
// node believes forwarding headers and PROXY protocol headers only from
// the peers of --trusted-proxies, and there the right-most address not
// itself trusted is the client.

// A client at 127.0.0.2, outside --trusted-proxies (127.0.0.9/32), sends
// a different forged X-Forwarded-For (and Forwarded) with each handshake:
// the node still counts all of them as 127.0.0.2's, and with
// --max-conns-per-ip 2 refuses the third. The trusted 127.0.0.9, on the
// other hand, is believed, for the right-most address it does not trust.
func TestSpoofedForwardedForFromUntrustedPeerIsIgnored(t *testing.T) {
	n := startNode(t, "--max-conns-per-ip", "2", "--trusted-proxies", "127.0.0.9/32")
	for i, spoof := range []string{"1.2.3.4", "1.2.3.5", "1.2.3.6"} {
		h := wsDial(t, "127.0.0.2", n.ws, nil, "X-Forwarded-For: "+spoof, "Forwarded: for="+spoof)
		if want := []int{101, 101, 503}[i]; h.status != want {
			t.Fatalf("127.0.0.2's connection %d claiming %s: %d %q, want %d: the forged header was believed", i+1, spoof, h.status, h.body, want)
		}
	}
	// The control: through the trusted 127.0.0.9, each address named is
	// its own client, 127.0.0.9 itself never counts, and in a chain the
	// right-most untrusted address is the client, whatever the client
	// prepended: here 127.0.0.2, already at its cap.
	for i, c := range []struct {
		xff  string
		want int
	}{
		{"1.2.3.4", 101}, {"1.2.3.4", 101}, {"1.2.3.4", 503},
		{"1.2.3.5", 101},
		{"1.2.3.5, 127.0.0.2", 503},
		{"127.0.0.2, 1.2.3.6, 127.0.0.9", 101},
	} {
		h := wsDial(t, "127.0.0.9", n.ws, nil, "X-Forwarded-For: "+c.xff)
		if h.status != c.want {
			t.Fatalf("trusted 127.0.0.9's connection %d for X-Forwarded-For %q: %d %q, want %d", i+1, c.xff, h.status, h.body, c.want)
		}
	}
	if got := n.connections(t); got != 6 {
		t.Fatalf("the node holds %d connections, want 6", got)
	}
}

// proxyV2 is a PROXY protocol v2 header (PROXY command, TCP over IPv4)
// naming src as the client.
func proxyV2(src, dst netip.AddrPort) []byte {
	h := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
	s, d := src.Addr().As4(), dst.Addr().As4()
	h = append(h, s[:]...)
	h = append(h, d[:]...)
	h = binary.BigEndian.AppendUint16(h, src.Port())
	return binary.BigEndian.AppendUint16(h, dst.Port())
}

// With --proxy-protocol v2, a peer outside --trusted-proxies is refused
// (--proxy-protocol-untrusted refuse, the default) whatever it sends: with
// a forged PROXY header naming another client, or with none. Each refusal
// is counted; the trusted peer's header is believed.
func TestSpoofedProxyHeaderFromUntrustedPeerIsRefused(t *testing.T) {
	n := startNode(t, "--proxy-protocol", "v2", "--trusted-proxies", "127.0.0.9/32", "--max-conns-per-ip", "1")
	dst := netip.MustParseAddrPort(n.ws)
	forged := proxyV2(netip.MustParseAddrPort("203.0.113.5:40000"), dst)
	for _, prefix := range [][]byte{forged, nil} {
		h, err := tryWS("127.0.0.2", n.ws, nil, prefix)
		if err == nil {
			if h.conn != nil {
				h.conn.Close()
			}
			t.Fatalf("untrusted 127.0.0.2 (PROXY header %v): answered %d %q, want the connection closed unanswered", prefix != nil, h.status, h.body)
		}
	}
	testkit.Eventually(t, 5*time.Second, "two untrusted_proxy refusals counted", func() bool {
		refused, _ := n.stats(t)["stats"].(map[string]any)["sockets_refused"].(map[string]any)
		v, _ := refused["untrusted_proxy"].(float64)
		return v == 2
	})
	// The trusted proxy's headers name the clients: 203.0.113.5 once (the
	// cap is 1), then another client.
	for i, c := range []struct {
		client string
		want   int
	}{{"203.0.113.5:40000", 101}, {"203.0.113.5:40001", 503}, {"203.0.113.6:40000", 101}} {
		h, err := tryWS("127.0.0.9", n.ws, nil, proxyV2(netip.MustParseAddrPort(c.client), dst))
		if err != nil {
			t.Fatalf("trusted 127.0.0.9's connection %d for %s: %v", i+1, c.client, err)
		}
		if h.conn != nil {
			t.Cleanup(func() { h.conn.Close() })
		}
		if h.status != c.want {
			t.Fatalf("trusted 127.0.0.9's connection %d for %s: %d %q, want %d", i+1, c.client, h.status, h.body, c.want)
		}
	}
}
