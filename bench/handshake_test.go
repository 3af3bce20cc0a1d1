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
	req := appendUpgrade(nil, &tg, "bench.", 3, &key)
	r, err := wsproto.ParseRequest(req)
	if err != nil {
		t.Fatalf("ParseRequest(%q): %v", req, err)
	}
	if string(r.Path) != "/ws" || string(r.Query) != "token=x&channels=bench.3" || string(r.Host) != "127.0.0.1:8080" || string(r.Key) != string(key[:]) {
		t.Errorf("parsed back: path %q query %q host %q key %q", r.Path, r.Query, r.Host, r.Key)
	}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = appendUpgrade(buf[:0], &tg, "bench.", 3, &key) }); n != 0 {
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
		n, err := parseUpgradeResponse(c.buf, &key)
		kind := ""
		if err != nil {
			kind = err.Error()
		}
		if kind != c.kind || c.wantN >= 0 && n != c.wantN {
			t.Errorf("%s: n %d, kind %q; want n %d, kind %q", c.name, n, kind, c.wantN, c.kind)
		}
	}
}
