package wsproto_test

import (
	"fmt"
	"strings"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wsproto"
)

// The decoder loop of one connection: bytes arrive in reads of any size;
// Next is called until each read is consumed. A message is returned as soon
// as it completes, control frames even in the middle of a fragmented one.
func ExampleDecoder_Next() {
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	var stream []byte // what a client sent
	stream = wsproto.AppendMaskedFrame(stream, ws.OpText, false, mask, []byte("Hello, "))
	stream = wsproto.AppendMaskedFrame(stream, ws.OpPing, true, mask, []byte("are you there?"))
	stream = wsproto.AppendMaskedFrame(stream, ws.OpContinuation, true, mask, []byte("world"))
	stream = wsproto.AppendMaskedFrame(stream, ws.OpText, true, mask, []byte("bad \xff byte"))

	d := wsproto.NewDecoder(wsproto.ServerSide, nil)
	defer d.Reset() // when the connection ends: buffers back to the pool

	// The reads the event loop happens to get: cut anywhere.
	reads := [][]byte{stream[:5], stream[5:30], stream[30:]}
	for _, in := range reads {
		for len(in) > 0 {
			m, n, err := d.Next(in)
			in = in[n:]
			if err != nil {
				fmt.Printf("fail the connection with %d: %v\n", wsproto.CloseCode(err), err)
				return
			}
			switch m.Op {
			case ws.OpText, ws.OpBinary:
				// m.Payload is valid until the next call: copy to keep it.
				fmt.Printf("message %q\n", m.Payload)
			case ws.OpPing:
				fmt.Printf("ping %q: answer with a pong\n", m.Payload)
			case ws.OpClose:
				fmt.Println("close")
			}
			// ws.OpContinuation (zero): no message yet, only progress.
		}
	}
	// Output:
	// ping "are you there?": answer with a pong
	// message "Hello, world"
	// fail the connection with 1007: wsproto: text message is not valid UTF-8
}

// The opening handshake: find the end of the request across reads, validate
// it, answer it. Bytes after the request belong to the frame decoder.
func ExampleParseRequest() {
	buf := []byte("GET /chat HTTP/1.1\r\n" +
		"Host: example.com\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Protocol: chat.v2, chat.v1\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n")

	var s wsproto.HandshakeScanner
	end, err := s.Scan(buf, wsproto.DefaultMaxHeaderBytes)
	if err != nil || end == 0 {
		fmt.Println("reject or wait:", err)
		return
	}
	r, err := wsproto.ParseRequest(buf[:end])
	if err != nil {
		fmt.Printf("%s", wsproto.AppendReject(nil, err))
		return
	}
	var proto []byte
	for p := range r.Tokens("Sec-WebSocket-Protocol") {
		proto = p // the client's first preference
		break
	}
	resp := wsproto.AppendAccept(nil, r.Key, proto)
	fmt.Printf("path %s\n%s", r.Path, strings.ReplaceAll(string(resp), "\r\n", "\n")) // CRLF shown as newlines
	// Output:
	// path /chat
	// HTTP/1.1 101 Switching Protocols
	// Upgrade: websocket
	// Connection: Upgrade
	// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
	// Sec-WebSocket-Protocol: chat.v2
}
