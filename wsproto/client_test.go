package wsproto

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestClientRequestParsesOnServer: what AppendRequest writes is a request
// ParseRequest accepts, with the target, host, key and extra fields the
// client asked for, and nothing after the blank line.
func TestClientRequestParsesOnServer(t *testing.T) {
	key := NewKey()
	req := AppendRequest([]byte("junk before"), "127.0.0.1:8080", []byte("/ws?channels=a,b"), key[:],
		"Origin: https://app.example", "Sec-WebSocket-Protocol: v2, v1")
	req = bytes.TrimPrefix(req, []byte("junk before"))
	var s HandshakeScanner
	end, err := s.Scan(req, DefaultMaxHeaderBytes)
	if err != nil || end != len(req) {
		t.Fatalf("Scan = %d, %v; want the whole %d-byte request", end, err, len(req))
	}
	r, err := ParseRequest(req)
	if err != nil {
		t.Fatalf("ParseRequest(%q): %v", req, err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"path", string(r.Path), "/ws"},
		{"query", string(r.Query), "channels=a,b"},
		{"host", string(r.Host), "127.0.0.1:8080"},
		{"key", string(r.Key), string(key[:])},
		{"origin", string(r.Origin), "https://app.example"},
		{"protocol", string(r.Header("Sec-WebSocket-Protocol")), "v2, v1"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

// TestNewKeyIsANonce: 24 base64 characters of 16 bytes, fresh every call.
func TestNewKeyIsANonce(t *testing.T) {
	seen := map[[KeyLen]byte]bool{}
	for range 100 {
		k := NewKey()
		raw, err := base64.StdEncoding.DecodeString(string(k[:]))
		if err != nil || len(raw) != 16 || !validKey(k[:]) {
			t.Fatalf("NewKey() = %q: not the base64 of 16 bytes (%v)", k, err)
		}
		if seen[k] {
			t.Fatalf("NewKey() returned %q twice", k)
		}
		seen[k] = true
	}
}

// TestParseResponseAccept: the server's own 101 for the key is accepted
// whole, byte by byte (n == 0 until the blank line) and with the first
// frame in the same read; n always ends the head.
func TestParseResponseAccept(t *testing.T) {
	key := []byte(sampleKey)
	head := AppendAccept(nil, key, []byte("v1"))
	frame := AppendFrame(nil, 0x1, true, []byte("hello"))
	stream := append(bytes.Clone(head), frame...)
	for i := 1; i < len(head); i++ {
		if _, n, err := ParseResponse(stream[:i], key, 0); n != 0 || err != nil {
			t.Fatalf("after %d of %d bytes: n %d, %v; want 0, nil (incomplete)", i, len(head), n, err)
		}
	}
	for _, buf := range [][]byte{head, stream} {
		resp, n, err := ParseResponse(buf, key, 0)
		if err != nil || n != len(head) || resp.Status != 101 {
			t.Fatalf("ParseResponse(%q) = %d, %d, %v; want 101, %d, nil", buf, resp.Status, n, err, len(head))
		}
		if got := string(resp.Header("sec-websocket-protocol")); got != "v1" {
			t.Errorf("protocol %q, want v1", got)
		}
	}
	// RFC 6455 §1.3's example answer.
	if _, _, err := ParseResponse([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"+
		"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: "+sampleAccept+"\r\n\r\n"), key, 0); err != nil {
		t.Errorf("the RFC's example response: %v", err)
	}
}

// TestParseResponseRefusal: a refusal written by AppendReject comes back
// as ErrUpgradeRefused with its status, its header fields, and its body
// right after n.
func TestParseResponseRefusal(t *testing.T) {
	for _, re := range []*RejectError{ErrBadVersion, ErrMethodNotGet, ErrHeaderTooLarge, {Status: 429, Reason: "slow down", Header: "Retry-After: 1\r\n"}} {
		buf := AppendReject(nil, re)
		resp, n, err := ParseResponse(buf, []byte(sampleKey), 0)
		if !errors.Is(err, ErrUpgradeRefused) || resp.Status != re.Status {
			t.Errorf("%d: status %d, %v; want %d, ErrUpgradeRefused", re.Status, resp.Status, err, re.Status)
			continue
		}
		length, _ := strconv.Atoi(string(resp.Header("Content-Length")))
		if body := string(buf[n:]); len(body) != length || strings.TrimSpace(body) != re.Reason {
			t.Errorf("%d: body %q (Content-Length %d), want %q", re.Status, body, length, re.Reason+"\n")
		}
		if re.Header != "" {
			name, value, _ := strings.Cut(strings.TrimSpace(re.Header), ": ")
			if got := string(resp.Header(name)); got != strings.Split(value, "\r\n")[0] {
				t.Errorf("%d: %s = %q, want %q", re.Status, name, got, value)
			}
		}
	}
}

// TestParseResponseFailures: every response after which a client must
// fail the connection, one rule each.
func TestParseResponseFailures(t *testing.T) {
	key := []byte(sampleKey)
	accept := "Sec-WebSocket-Accept: " + sampleAccept
	resp := func(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n") }
	for _, c := range []struct {
		name string
		buf  []byte
		want error
	}{
		{"no accept", resp("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade"), ErrBadAccept},
		{"accept of another key", resp("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
			"Sec-WebSocket-Accept: "+string(AcceptKey([]byte("AAAAAAAAAAAAAAAAAAAAAA==")))), ErrBadAccept},
		{"accept with a trailing byte", resp("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", accept+"x"), ErrBadAccept},
		{"no Upgrade", resp("HTTP/1.1 101 Switching Protocols", "Connection: Upgrade", accept), ErrResponseNoUpgrade},
		{"Upgrade: h2c", resp("HTTP/1.1 101 Switching Protocols", "Upgrade: h2c", "Connection: Upgrade", accept), ErrResponseNoUpgrade},
		{"no Connection", resp("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", accept), ErrResponseNoUpgrade},
		{"HTTP/2 status line", resp("HTTP/2 101", "Upgrade: websocket", "Connection: Upgrade", accept), ErrMalformedResponse},
		{"HTTP/0.9", resp("HTTP/0.9 101 Switching Protocols"), ErrMalformedResponse},
		{"two-digit status", resp("HTTP/1.1 10 Switching", "Upgrade: websocket", "Connection: Upgrade", accept), ErrMalformedResponse},
		{"status with a letter", resp("HTTP/1.1 1o1 Switching", "Upgrade: websocket", "Connection: Upgrade", accept), ErrMalformedResponse},
		{"no status", resp("HTTP/1.1"), ErrMalformedResponse},
		{"garbage", resp("\x00\x01garbage"), ErrMalformedResponse},
		{"header without colon", resp("HTTP/1.1 101 Switching Protocols", "Upgrade websocket", "Connection: Upgrade", accept), ErrMalformedResponse},
		{"control byte in a value", resp("HTTP/1.1 101 Switching Protocols", "Upgrade: web\x01socket", "Connection: Upgrade", accept), ErrMalformedResponse},
	} {
		if _, n, err := ParseResponse(c.buf, key, 0); !errors.Is(err, c.want) || n != len(c.buf) {
			t.Errorf("%s: n %d, %v; want %d, %v", c.name, n, err, len(c.buf), c.want)
		}
	}
}

// TestParseResponseTooLarge: a header block that does not end within the
// bound is refused as soon as the bound is reached, ended or not; one
// exactly at the bound is read.
func TestParseResponseTooLarge(t *testing.T) {
	key := []byte(sampleKey)
	head := AppendAccept(nil, key, nil)
	if _, n, err := ParseResponse(head, key, len(head)); err != nil || n != len(head) {
		t.Errorf("a %d-byte head at a %d-byte bound: %d, %v", len(head), len(head), n, err)
	}
	if _, _, err := ParseResponse(head, key, len(head)-1); !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("a %d-byte head at a %d-byte bound: %v, want ErrResponseTooLarge", len(head), len(head)-1, err)
	}
	endless := append([]byte("HTTP/1.1 101 Switching Protocols\r\n"), bytes.Repeat([]byte("X-Pad: y\r\n"), 1000)...)
	if _, n, err := ParseResponse(endless, key, 0); !errors.Is(err, ErrResponseTooLarge) || n != 0 {
		t.Errorf("%d bytes without a blank line: %d, %v; want ErrResponseTooLarge", len(endless), n, err)
	}
}

// FuzzParseResponse: any bytes, fed whole or cut at split, never panic,
// n stays within the input, and a prefix never reports a different
// outcome than the whole once the head is complete.
func FuzzParseResponse(f *testing.F) {
	key := []byte(sampleKey)
	f.Add(AppendAccept(nil, key, []byte("v1")), 10)
	f.Add(AppendReject(nil, ErrBadVersion), 3)
	f.Add([]byte("HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n\x81\x00"), 40)
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\n"), 0)
	f.Fuzz(func(t *testing.T, buf []byte, split int) {
		resp, n, err := ParseResponse(buf, key, 0)
		if n < 0 || n > len(buf) {
			t.Fatalf("n = %d for %d bytes", n, len(buf))
		}
		if err == nil && n > 0 && resp.Status != 101 {
			t.Fatalf("accepted a %d response", resp.Status)
		}
		if split < 0 || split > len(buf) {
			return
		}
		r2, n2, err2 := ParseResponse(buf[:split], key, 0)
		switch {
		case n2 == 0 && err2 == nil: // incomplete: fine for any prefix
		case n2 != n || !errors.Is(err2, err) && !errors.Is(err, err2) || r2.Status != resp.Status:
			t.Fatalf("prefix %d: %d, %d, %v; whole: %d, %d, %v", split, r2.Status, n2, err2, resp.Status, n, err)
		}
	})
}
