package proxy_test

import (
	"fmt"
	"net/netip"

	"github.com/wsgate/wsgate/proxy"
)

// A listener behind a load balancer reads the header from the bytes
// received so far, waiting while it is incomplete.
func ExampleParseHeader() {
	received := []byte("PROXY TCP4 192.0.2.1 198.51.100.7 51234 443\r\nGET / HTTP/1.1\r\n")
	for _, upTo := range []int{20, len(received)} {
		h, n, err := proxy.ParseHeader(received[:upTo], proxy.Any)
		switch {
		case err != nil:
			fmt.Println("close:", err)
		case n == 0:
			fmt.Println("need more bytes")
		default:
			fmt.Printf("client %v, request starts %q\n", h.Source, received[n:n+3])
		}
	}
	_, _, err := proxy.ParseHeader([]byte("GET / HTTP/1.1\r\n"), proxy.Any)
	fmt.Println("close:", err)
	// Output:
	// need more bytes
	// client 192.0.2.1:51234, request starts "GET"
	// close: proxy: no PROXY protocol header
}

// The right-most entry not written by a trusted proxy is the client; what
// the client itself wrote further left is ignored.
func ExampleClientFromForwarded() {
	trusted, _ := proxy.ParseTrusted("10.0.0.0/8")
	peer := netip.MustParseAddr("10.0.0.1")
	xff := [][]byte{[]byte("1.1.1.1, 192.0.2.7, 10.0.0.2")}
	fmt.Println(proxy.ClientFromForwarded(peer, trusted, xff, nil))
	fmt.Println(proxy.ClientFromForwarded(netip.MustParseAddr("198.51.100.9"), trusted, xff, nil))
	// Output:
	// 192.0.2.7 true
	// invalid IP false
}
