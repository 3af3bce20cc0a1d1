package bench

import (
	"strings"
	"testing"

	"github.com/wsgate/wsgate/wsproto"
)

// TestUpgradeRequest: the request is wsproto's client handshake for the
// target's path with the connection's channel, which the server side
// parses back, and building it allocates nothing once dst has room.
func TestUpgradeRequest(t *testing.T) {
	tg, err := ParseTarget("ws://127.0.0.1:8080/ws?token=x")
	if err != nil {
		t.Fatal(err)
	}
	key := connKey(7, 42)
	req := appendUpgrade(nil, &tg, "bench.", 3, &key, nil)
	r, err := wsproto.ParseRequest(req)
	if err != nil {
		t.Fatalf("ParseRequest(%q): %v", req, err)
	}
	if string(r.Path) != "/ws" || string(r.Query) != "token=x&channels=bench.3" || string(r.Host) != "127.0.0.1:8080" || string(r.Key) != string(key[:]) {
		t.Errorf("parsed back: path %q query %q host %q key %q", r.Path, r.Query, r.Host, r.Key)
	}
	buf := make([]byte, 0, 1024)
	lines := handshakeLines([]string{"Authorization: Bearer a.b.c", "X-Trace: 1"}, []string{ProtocolJSON, "p2"}, true)
	if n := testing.AllocsPerRun(100, func() { buf = appendUpgrade(buf[:0], &tg, "bench.", 3, &key, lines) }); n != 0 {
		t.Errorf("appendUpgrade allocates %.0f times per request", n)
	}
}

// TestUpgradeResponseKinds: each way a handshake fails is counted under
// its own kind in the report's error table.
func TestUpgradeResponseKinds(t *testing.T) {
	key := connKey(7, 42)
	accept := "Sec-WebSocket-Accept: " + string(wsproto.AcceptKey(key[:]))
	head := func(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n") }
	good := wsproto.AppendAccept(nil, key[:], nil)
	for _, c := range []struct {
		name  string
		buf   []byte
		wantN int
		kind  string
	}{
		{"incomplete", good[:len(good)-1], 0, ""},
		{"accepted, a frame behind", append(good, 0x81, 0x00), len(good), ""},
		{"refused", wsproto.AppendReject(nil, wsproto.ErrBadVersion), -1, "http_426"},
		{"wrong accept", head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: x"), -1, "handshake_bad_accept"},
		{"no Upgrade", head("HTTP/1.1 101 Switching Protocols", "Connection: Upgrade", accept), -1, "handshake_no_upgrade"},
		{"malformed", head("HTTP/1.1 abc"), -1, "handshake_malformed_response"},
		{"too large", []byte("HTTP/1.1 101 OK\r\n" + strings.Repeat("X: y\r\n", maxResponseHeader/6+1)), 0, "handshake_response_too_large"},
	} {
		n, _, err := parseUpgradeResponse(c.buf, &key, false, nil)
		kind := ""
		if err != nil {
			kind = err.Error()
		}
		if kind != c.kind || c.wantN >= 0 && n != c.wantN {
			t.Errorf("%s: n %d, kind %q; want n %d, kind %q", c.name, n, kind, c.wantN, c.kind)
		}
	}
}

// TestUpgradeRequestOffersDeflate: with deflate the request carries the
// browser's offer, which wsproto's server side accepts with the answer
// wsgate sends, and that answer parses back as accepted.
func TestUpgradeRequestOffersDeflate(t *testing.T) {
	tg, err := ParseTarget("ws://127.0.0.1:8080/ws")
	if err != nil {
		t.Fatal(err)
	}
	key := connKey(7, 42)
	r, err := wsproto.ParseRequest(appendUpgrade(nil, &tg, "bench.", 3, &key, handshakeLines(nil, nil, true)))
	if err != nil {
		t.Fatal(err)
	}
	ext, ok := wsproto.NegotiateDeflate(r.Values("Sec-WebSocket-Extensions"))
	if !ok {
		t.Fatalf("the server side declines the offer %q", deflateOffer)
	}
	resp := wsproto.AppendAcceptExtensions(nil, key[:], nil, ext)
	n, accepted, err := parseUpgradeResponse(resp, &key, true, nil)
	if err != nil || !accepted || n != len(resp) {
		t.Fatalf("response %q: n %d, accepted %v, err %v", resp, n, accepted, err)
	}
}

// TestDeflateResponse: what a client that offered permessage-deflate (or
// nothing) makes of each Sec-WebSocket-Extensions answer.
func TestDeflateResponse(t *testing.T) {
	for _, c := range []struct {
		value    string
		offered  bool
		accepted bool
		err      error
	}{
		{"", true, false, nil},
		{"", false, false, nil},
		{"permessage-deflate; server_no_context_takeover; client_no_context_takeover", true, true, nil},
		{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15", true, true, nil},
		{"Permessage-Deflate;server_no_context_takeover;client_max_window_bits=\"10\"", true, true, nil},
		{"permessage-deflate; server_no_context_takeover", false, false, errUnofferedExtension},
		{"x-webkit-deflate-frame", true, false, errUnofferedExtension},
		{"permessage-deflate; client_no_context_takeover", true, false, errDeflateResponse}, // context kept: cannot inflate
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", true, false, errDeflateResponse},
		{"permessage-deflate; server_no_context_takeover=1", true, false, errDeflateResponse},
		{"permessage-deflate; server_no_context_takeover; server_max_window_bits", true, false, errDeflateResponse},
		{"permessage-deflate; server_no_context_takeover; client_max_window_bits=16", true, false, errDeflateResponse},
		{"permessage-deflate; server_no_context_takeover; client_max_window_bits=09", true, false, errDeflateResponse},
		{"permessage-deflate; server_no_context_takeover; foo", true, false, errDeflateResponse},
		{"permessage-deflate; server_no_context_takeover, permessage-deflate", true, false, errDeflateResponse},
	} {
		accepted, err := parseDeflateResponse([]byte(c.value), c.offered)
		if accepted != c.accepted || err != c.err {
			t.Errorf("%q (offered %v): accepted %v, err %v; want %v, %v", c.value, c.offered, accepted, err, c.accepted, c.err)
		}
	}
}
