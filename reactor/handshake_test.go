package reactor_test

// The opening handshake over real sockets: every refusal with its status,
// and the upgrades that must succeed.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/wsproto"
)

func TestHandshakeRejections(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})
	k := wsproto.NewKey()
	key := string(k[:])
	valid := string(request(reactor.EchoPath, k[:]))
	without := func(header string) string {
		var kept []string
		for line := range strings.SplitSeq(valid, "\r\n") {
			if !strings.HasPrefix(line, header+":") {
				kept = append(kept, line)
			}
		}
		return strings.Join(kept, "\r\n")
	}
	with := func(header string) string { return strings.Replace(valid, "\r\n\r\n", "\r\n"+header+"\r\n\r\n", 1) }
	replace := func(old, new string) string { return strings.Replace(valid, old, new, 1) }
	other := wsproto.NewKey()

	for _, tc := range []struct {
		name    string
		request string
		status  int
		header  [2]string // a header the response must carry
	}{
		{"MethodPOST", replace("GET ", "POST "), http.StatusMethodNotAllowed, [2]string{"Allow", "GET"}},
		{"HTTP10", replace("HTTP/1.1", "HTTP/1.0"), http.StatusHTTPVersionNotSupported, [2]string{}},
		{"MissingHost", without("Host"), http.StatusBadRequest, [2]string{}},
		{"EmptyHost", replace("Host: 127.0.0.1", "Host:"), http.StatusBadRequest, [2]string{}},
		{"DuplicateHost", with("Host: other"), http.StatusBadRequest, [2]string{}},
		{"MissingUpgrade", without("Upgrade"), http.StatusBadRequest, [2]string{}},
		{"MissingConnection", without("Connection"), http.StatusBadRequest, [2]string{}},
		{"MissingKey", without("Sec-WebSocket-Key"), http.StatusBadRequest, [2]string{}},
		{"ShortKey", replace(key, "c2hvcnQ="), http.StatusBadRequest, [2]string{}},
		{"Key17Bytes", replace(key, "AAAAAAAAAAAAAAAAAAAAAAA="), http.StatusBadRequest, [2]string{}},
		{"DuplicateKey", with("Sec-WebSocket-Key: " + string(other[:])), http.StatusBadRequest, [2]string{}},
		{"Version8", replace("Version: 13", "Version: 8"), http.StatusUpgradeRequired, [2]string{"Sec-WebSocket-Version", "13"}},
		{"MissingVersion", without("Sec-WebSocket-Version"), http.StatusUpgradeRequired, [2]string{"Sec-WebSocket-Version", "13"}},
		{"UnknownPath", replace("/echo", "/nope"), http.StatusNotFound, [2]string{}},
		{"EchoPrefix", replace("/echo", "/echox"), http.StatusNotFound, [2]string{}},
		{"EchoSubpath", replace("/echo", "/echo/"), http.StatusNotFound, [2]string{}},
		{"MalformedRequestLine", "garbage\r\n\r\n", http.StatusBadRequest, [2]string{}},
		{"MalformedHeader", with("No colon here"), http.StatusBadRequest, [2]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, e)
			c.write([]byte(tc.request))
			resp, _ := c.expectRejection(tc.status)
			if !resp.Close { // net/http turns "Connection: close" into Close
				t.Errorf("response does not carry Connection: close")
			}
			if name := tc.header[0]; name != "" {
				if got := resp.Header.Get(name); got != tc.header[1] {
					t.Errorf("%s = %q, want %q", name, got, tc.header[1])
				}
			}
		})
	}

	t.Run("HeaderTooLarge", func(t *testing.T) {
		t.Parallel()
		const limit = 512
		small := startEcho(t, reactor.Config{Limits: wsproto.Limits{MaxHeaderBytes: limit}})
		fits := valid
		pad := limit - len(fits) - len("X-Pad: \r\n")
		atLimit := strings.Replace(fits, "\r\n\r\n", "\r\nX-Pad: "+strings.Repeat("p", pad)+"\r\n\r\n", 1)
		if len(atLimit) != limit {
			t.Fatalf("request is %d bytes, want %d", len(atLimit), limit)
		}
		ok := dialRaw(t, small)
		ok.write([]byte(atLimit))
		ok.expectUpgrade(k[:])
		ok.closeHandshake()

		overLimit := strings.Replace(atLimit, "X-Pad: ", "X-Pad: p", 1)
		big := dialRaw(t, small)
		big.write([]byte(overLimit))
		big.expectRejection(http.StatusRequestHeaderFieldsTooLarge)

		// Without a blank line, the server gives up once the limit is reached.
		endless := dialRaw(t, small)
		endless.write([]byte("GET /echo HTTP/1.1\r\nX-Pad: " + strings.Repeat("p", 2*limit)))
		endless.expectRejection(http.StatusRequestHeaderFieldsTooLarge)
	})
}

func TestHandshakeAccepted(t *testing.T) {
	t.Parallel()
	e := startEcho(t, reactor.Config{})

	t.Run("RFCSampleKey", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		// The worked example of RFC 6455 §1.3.
		key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
		c.write(request(reactor.EchoPath, key))
		resp := c.expectUpgrade(key)
		if got := string(resp.Header("Sec-WebSocket-Accept")); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("Sec-WebSocket-Accept = %q, want s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", got)
		}
		c.closeHandshake()
	})

	t.Run("OneBytePerWrite", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		key := wsproto.NewKey()
		c.writeSplit(request(reactor.EchoPath, key[:]), 1)
		c.expectUpgrade(key[:])
		c.send(ws.OpText, true, []byte("after a slow handshake"))
		c.expectMessage(ws.OpText, []byte("after a slow handshake"))
		c.closeHandshake()
	})

	t.Run("FirstFrameInSameWrite", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		key := wsproto.NewKey()
		wire := request(reactor.EchoPath, key[:])
		wire = append(wire, c.frame(ws.OpText, true, []byte("pipelined"))...)
		c.write(wire)
		c.expectUpgrade(key[:])
		c.expectMessage(ws.OpText, []byte("pipelined"))
		c.closeHandshake()
	})

	t.Run("WholeSessionInOneWrite", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		key := wsproto.NewKey()
		wire := request(reactor.EchoPath, key[:])
		wire = append(wire, c.frame(ws.OpBinary, true, binaryPayload(70000, 1))...)
		wire = append(wire, c.frame(ws.OpPing, true, []byte("p"))...)
		wire = append(wire, c.frame(ws.OpClose, true, closePayload(ws.StatusNormalClosure, ""))...)
		c.write(wire)
		c.expectUpgrade(key[:])
		c.expectMessage(ws.OpBinary, binaryPayload(70000, 1))
		c.expectMessage(ws.OpPong, []byte("p"))
		c.expectCloseFrame(ws.StatusNormalClosure)
		c.expectEOF()
	})

	t.Run("BadFrameInSameWrite", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		key := wsproto.NewKey()
		wire := request(reactor.EchoPath, key[:])
		wire = append(wire, wsproto.AppendFrame(nil, ws.OpText, true, []byte("unmasked"))...)
		c.write(wire)
		c.expectUpgrade(key[:])
		c.expectClose(closeProtocol)
	})

	t.Run("QueryAndCaseInsensitiveHeaders", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, e)
		key := wsproto.NewKey()
		req := "GET /echo?token=abc HTTP/1.1\r\n" +
			"host: 127.0.0.1\r\n" +
			"upgrade: WebSocket\r\n" +
			"connection: keep-alive, Upgrade\r\n" +
			"sec-websocket-key: " + string(key[:]) + "\r\n" +
			"sec-websocket-version: 13\r\n\r\n"
		c.write([]byte(req))
		c.expectUpgrade(key[:])
		c.closeHandshake()
	})
}
