package reactor_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/wsproto"
)

// deflateClient is a raw client that offers permessage-deflate and reads
// frames as they are, RSV1 included.
type deflateClient struct {
	nc  net.Conn
	br  *bufio.Reader
	ext string // the server's Sec-WebSocket-Extensions
}

func dialDeflate(t *testing.T, e *reactor.Engine, path, offer string) *deflateClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", e.Addr().String(), ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if offer != "" {
		req += "Sec-WebSocket-Extensions: " + offer + "\r\n"
	}
	_ = nc.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := nc.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return &deflateClient{nc: nc, br: br, ext: resp.Header.Get("Sec-WebSocket-Extensions")}
}

// next reads one whole frame: its header and its payload, inflated when
// RSV1 says it is compressed.
func (c *deflateClient) next(t *testing.T) (ws.Header, []byte) {
	t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		t.Fatalf("read header: %v", err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, p); err != nil {
		t.Fatalf("read payload: %v", err)
	}
	if h.Rsv&0x4 != 0 {
		r := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
		var out bytes.Buffer
		if _, err := io.Copy(&out, r); err != nil && err != io.ErrUnexpectedEOF {
			t.Fatalf("inflate: %v", err)
		}
		p = out.Bytes()
	}
	return h, p
}

// sendCompressed writes data deflated as one masked message (RSV1 set on
// its first frame), in one frame.
func (c *deflateClient) sendCompressed(t *testing.T, op ws.OpCode, data []byte) {
	c.sendCompressedIn(t, op, data, 1)
}

// sendCompressedIn writes data deflated as one masked message cut into
// frames frames, written one byte-slice at a time in two halves (split
// reads on the server).
func (c *deflateClient) sendCompressedIn(t *testing.T, op ws.OpCode, data []byte, frames int) {
	t.Helper()
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	_, _ = w.Write(data)
	_ = w.Flush()
	p := bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
	var buf bytes.Buffer
	for i := range frames {
		part := p[len(p)*i/frames : len(p)*(i+1)/frames]
		h := ws.Header{Fin: i == frames-1, OpCode: ws.OpContinuation, Masked: true, Length: int64(len(part))}
		if i == 0 {
			h.OpCode, h.Rsv = op, 0x4
		}
		_, _ = rand.Read(h.Mask[:])
		_ = ws.WriteHeader(&buf, h)
		masked := append([]byte{}, part...)
		ws.Cipher(masked, h.Mask, 0)
		buf.Write(masked)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	all := buf.Bytes()
	for _, half := range [][]byte{all[:len(all)/2], all[len(all)/2:]} {
		if _, err := c.nc.Write(half); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

const deflateResponse = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// TestDeflateNegotiation: browsers' and libraries' usual offers get the
// one response the node gives; offers it cannot honour are declined, an
// acceptable later offer taken; Compression off declines everything.
func TestDeflateNegotiation(t *testing.T) {
	e := gatewaytest.Start(t, reactor.Config{})
	for _, tc := range []struct{ offer, want string }{
		{"", ""},
		{"permessage-deflate", deflateResponse},
		{"permessage-deflate; client_max_window_bits", deflateResponse},
		{"permessage-deflate; server_no_context_takeover; client_no_context_takeover", deflateResponse},
		{"x-webkit-deflate-frame, permessage-deflate", deflateResponse},
		{"permessage-deflate; bogus=1", ""},
		{"permessage-deflate; server_max_window_bits=16", ""},
		{"permessage-deflate; client_max_window_bits=7", ""},
	} {
		c := dialDeflate(t, e, "/echo", tc.offer)
		if !sameExtension(c.ext, tc.want) {
			t.Errorf("offer %q: response %q, want %q", tc.offer, c.ext, tc.want)
		}
	}
	// A window the compressor cannot keep under: declined, the fallback taken.
	c := dialDeflate(t, e, "/echo", "permessage-deflate; server_max_window_bits=10, permessage-deflate")
	if !strings.HasPrefix(c.ext, "permessage-deflate") || strings.Contains(c.ext, "=10") {
		t.Errorf("a too-small window then a plain offer: response %q", c.ext)
	}
	off := gatewaytest.Start(t, reactor.Config{Compression: reactor.CompressionOff})
	if c := dialDeflate(t, off, "/echo", "permessage-deflate"); c.ext != "" {
		t.Errorf("compression off: response %q", c.ext)
	}
}

// sameExtension compares responses parameter by parameter, ignoring an
// echoed server_max_window_bits=15 (RFC 7692 lets the server name it).
func sameExtension(got, want string) bool {
	norm := func(s string) string {
		var parts []string
		for _, p := range strings.Split(s, ";") {
			if p = strings.TrimSpace(p); p != "" && p != "server_max_window_bits=15" {
				parts = append(parts, p)
			}
		}
		return strings.Join(parts, ";")
	}
	return norm(got) == norm(want)
}

// TestDeflateEchoWithGorilla: gorilla with compression both ways sends
// and gets back text and binary of every size through /echo.
func TestDeflateEchoWithGorilla(t *testing.T) {
	e := gatewaytest.Start(t, reactor.Config{ByteRate: -1, MessageRate: -1})
	d := gorilla.Dialer{HandshakeTimeout: ioTimeout, EnableCompression: true}
	c, resp, err := d.Dial(wsURL(e, reactor.EchoPath), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("not negotiated: %q", resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	c.EnableWriteCompression(true)
	for _, size := range []int{0, 1, 100, 300, 4096, 70_000, 900_000} {
		for _, op := range []int{gorilla.TextMessage, gorilla.BinaryMessage} {
			payload := []byte(strings.Repeat(fmt.Sprintf(`{"n":%d,"x":"abc"}`, size), size/16+1)[:size])
			if op == gorilla.BinaryMessage {
				payload = make([]byte, size)
				_, _ = rand.Read(payload[:size/2]) // half noise, half zeros
			}
			_ = c.SetWriteDeadline(time.Now().Add(ioTimeout))
			if err := c.WriteMessage(op, payload); err != nil {
				t.Fatalf("write %d B: %v", size, err)
			}
			_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
			gotOp, got, err := c.ReadMessage()
			if err != nil || gotOp != op || !bytes.Equal(got, payload) {
				t.Fatalf("echo of %d B (op %d): op %d, %d B, %v", size, op, gotOp, len(got), err)
			}
		}
	}
}

// TestDeflateBroadcastCompressesOnce: deflate and plain subscribers of one
// channel get the same publications; each is compressed once however many
// deflate subscribers get it, and one under the minimum size goes plain.
func TestDeflateBroadcastCompressesOnce(t *testing.T) {
	e := gatewaytest.Start(t, reactor.Config{})
	var zipped, plain []*deflateClient
	for range 20 {
		zipped = append(zipped, dialDeflate(t, e, "/ws?channels=news", "permessage-deflate; client_max_window_bits"))
	}
	for range 5 {
		plain = append(plain, dialDeflate(t, e, "/ws?channels=news", ""))
	}
	for _, c := range append(zipped, plain...) {
		if _, p := c.next(t); !bytes.Contains(p, []byte(`"connected"`)) {
			t.Fatalf("first frame %s", p)
		}
	}
	const pubs = 10
	for i := range pubs {
		data := fmt.Appendf(nil, `{"i":%d,"text":%q}`, i, strings.Repeat("lorem ipsum ", 80)) // ~1 KB
		if err := e.Publish("news", data); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Publish("news", []byte(`"short"`)); err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for range pubs + 1 {
		h, p := plain[0].next(t)
		if h.Rsv != 0 {
			t.Fatalf("plain subscriber got RSV %b", h.Rsv)
		}
		want = append(want, p)
	}
	for _, c := range plain[1:] {
		for i := range pubs + 1 {
			if _, p := c.next(t); !bytes.Equal(p, want[i]) {
				t.Fatalf("plain subscribers disagree at %d", i)
			}
		}
	}
	for n, c := range zipped {
		for i := range pubs + 1 {
			h, p := c.next(t)
			if compressed := h.Rsv&0x4 != 0; compressed != (i < pubs) {
				t.Fatalf("deflate subscriber %d, publication %d: compressed %v, %d B", n, i, compressed, h.Length)
			}
			if !bytes.Equal(p, want[i]) {
				t.Fatalf("deflate subscriber %d, publication %d: %q, want %q", n, i, p, want[i])
			}
			if i == 0 && n == 0 {
				t.Logf("a %d-byte message frame travels as %d bytes", len(p), h.Length)
			}
		}
	}
	if got := e.Stats().Compressions; got != pubs {
		t.Fatalf("compressions = %d, want %d (once per publication)", got, pubs)
	}
}

// TestDeflateBombClosed1009: a compressed message that would inflate past
// the message size limit closes the connection with 1009, and the node
// goes on serving.
func TestDeflateBombClosed1009(t *testing.T) {
	e := gatewaytest.Start(t, reactor.Config{Limits: wsproto.Limits{MaxFrameSize: 1 << 20, MaxMessageSize: 1 << 20}})
	c := dialDeflate(t, e, "/echo", "permessage-deflate")
	c.sendCompressed(t, ws.OpBinary, make([]byte, 10<<20)) // ~10 KB on the wire
	h, p := c.next(t)
	if h.OpCode != ws.OpClose || len(p) < 2 || binary.BigEndian.Uint16(p) != 1009 {
		t.Fatalf("got %v %q, want close 1009", h.OpCode, p)
	}
	c.nc.Close()
	ok := dialDeflate(t, e, "/echo", "permessage-deflate")
	ok.sendCompressed(t, ws.OpText, []byte("still here"))
	if _, p := ok.next(t); string(p) != "still here" {
		t.Fatalf("echo after the bomb: %q", p)
	}
	testkit.Eventually(t, 5*time.Second, "the bomb's connection gone", func() bool { return e.Stats().Upgraded == 1 })
}

// TestDeflateConformance is the RFC 7692 part of the conformance suite,
// after Autobahn's sections 12 and 13: for every kind of offer (context
// takeover or not, every window size either side may name), messages of
// 16 B to 128 KiB, text and binary, whole or in three frames, go through
// /echo. The node's answer must be its one response for offers it can
// honour (and no extension for a server window under 15 bits), every
// echo must be exact, and answers of 256 bytes or more to a deflate
// client compressed.
func TestDeflateConformance(t *testing.T) {
	e := gatewaytest.Start(t, reactor.Config{ByteRate: -1, MessageRate: -1})
	offers := []string{
		"permessage-deflate",
		"permessage-deflate; client_no_context_takeover",
		"permessage-deflate; server_no_context_takeover",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_max_window_bits=15",
	}
	for bits := 8; bits <= 15; bits++ {
		offers = append(offers, fmt.Sprintf("permessage-deflate; client_max_window_bits=%d", bits))
	}
	for bits := 8; bits < 15; bits++ {
		offers = append(offers, fmt.Sprintf("permessage-deflate; server_max_window_bits=%d", bits))
	}
	sizes := []int{16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072}
	for _, offer := range offers {
		c := dialDeflate(t, e, "/echo", offer)
		declined := strings.Contains(offer, "server_max_window_bits=") && !strings.Contains(offer, "=15")
		if declined != (c.ext == "") || (!declined && !sameExtension(c.ext, deflateResponse)) {
			t.Fatalf("offer %q: response %q", offer, c.ext)
		}
		for _, size := range sizes {
			for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
				payload := []byte(strings.Repeat("wsgate conformance ", size/19+1)[:size])
				if op == ws.OpBinary {
					payload = make([]byte, size)
					_, _ = rand.Read(payload[:size/4])
				}
				frames := 1
				if size >= 1024 {
					frames = 3
				}
				if declined {
					continue // no extension: the RFC 6455 suite covers plain echo
				}
				c.sendCompressedIn(t, op, payload, frames)
				h, got := c.next(t)
				if h.OpCode != op || !bytes.Equal(got, payload) {
					t.Fatalf("offer %q, %v of %d B: got %v of %d B", offer, op, size, h.OpCode, len(got))
				}
				if compressed := h.Rsv&0x4 != 0; compressed != (size >= 256) {
					t.Fatalf("offer %q, %d B: answer compressed %v", offer, size, compressed)
				}
			}
		}
	}
}
