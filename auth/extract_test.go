package auth

import (
	"errors"
	"testing"
)

func TestExtract(t *testing.T) {
	p := func(s ...string) [][]byte {
		var out [][]byte
		for _, x := range s {
			out = append(out, []byte(x))
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		h        Handshake
		token    string
		protocol string
		err      error
	}{
		{"none", Handshake{}, "", "", ErrNoToken},
		{"query", Handshake{Query: []byte("channels=a&token=abc.def.ghi")}, "abc.def.ghi", "", nil},
		{"query escaped", Handshake{Query: []byte("token=a%2Eb")}, "a.b", "", nil},
		{"query empty", Handshake{Query: []byte("token=")}, "", "", ErrNoToken},
		{"query twice", Handshake{Query: []byte("token=a&token=b")}, "", "", ErrMultipleTokens},
		{"query malformed", Handshake{Query: []byte("token=%zz")}, "", "", ErrMalformed},
		{"query other", Handshake{Query: []byte("channels=tokens")}, "", "", ErrNoToken},
		{"bearer", Handshake{Authorization: []byte("Bearer abc")}, "abc", "", nil},
		{"bearer case", Handshake{Authorization: []byte("bEaReR   abc")}, "abc", "", nil},
		{"basic ignored", Handshake{Authorization: []byte("Basic dXNlcjpwYXNz")}, "", "", ErrNoToken},
		{"bearer empty", Handshake{Authorization: []byte("Bearer ")}, "", "", ErrNoToken},
		{"protocol", Handshake{Protocols: p("wsgate.v1", "wsgate.token.abc")}, "abc", "wsgate.v1", nil},
		{"protocol without v1", Handshake{Protocols: p("wsgate.token.abc")}, "abc", "", nil},
		{"only v1", Handshake{Protocols: p("chat", "wsgate.v1")}, "", "wsgate.v1", ErrNoToken},
		{"protocol and bearer", Handshake{Protocols: p("wsgate.token.a"), Authorization: []byte("Bearer b")}, "", "", ErrMultipleTokens},
		{"bearer and query", Handshake{Query: []byte("token=a"), Authorization: []byte("Bearer a")}, "", "", ErrMultipleTokens},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token, protocol, err := Extract(tc.h)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if token != tc.token || string(protocol) != tc.protocol {
				t.Fatalf("token %q protocol %q, want %q %q", token, protocol, tc.token, tc.protocol)
			}
		})
	}
}
