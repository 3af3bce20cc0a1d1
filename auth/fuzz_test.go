package auth

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzPattern compiles arbitrary patterns and checks Match against a naive
// reference on arbitrary channels.
func FuzzPattern(f *testing.F) {
	for _, seed := range [][2]string{
		{"news", "news"}, {"chat.*", "chat.lobby"}, {"user.42.>", "user.42.a.b"}, {">", "a"},
		{"*.>", "a"}, {"a.*.c", "a.b.c"}, {"a.>.b", "a.x.b"}, {"a..b", "a..b"}, {"*", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, ch string) {
		p, err := CompilePattern(pattern)
		if err != nil {
			if p.Match(ch) {
				t.Fatalf("refused pattern %q matches %q", pattern, ch)
			}
			return
		}
		if p.String() != pattern {
			t.Fatalf("String() = %q, want %q", p.String(), pattern)
		}
		if !validChannelReference(ch) {
			return // Match is defined on valid channel names only
		}
		if got, want := p.Match(ch), matchReference(pattern, ch); got != want {
			t.Fatalf("%q.Match(%q) = %v, reference says %v", pattern, ch, got, want)
		}
	})
}

func validChannelReference(ch string) bool {
	if ch == "" || len(ch) > 255 {
		return false
	}
	for _, level := range strings.Split(ch, ".") {
		if level == "" || strings.Trim(level, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:@") != "" {
			return false
		}
	}
	return true
}

// matchReference is the NATS rule, written the obvious way.
func matchReference(pattern, ch string) bool {
	pl, cl := strings.Split(pattern, "."), strings.Split(ch, ".")
	for i, p := range pl {
		if p == ">" {
			return len(cl) > i
		}
		if i >= len(cl) || p != "*" && p != cl[i] {
			return false
		}
	}
	return len(pl) == len(cl)
}

// FuzzTokenExtraction feeds arbitrary queries, Authorization values and
// Sec-WebSocket-Protocol lists to Extract: it must not panic, must never
// echo a token entry as the protocol, and must return a token found in the
// input.
func FuzzTokenExtraction(f *testing.F) {
	f.Add("token=abc", "", "")
	f.Add("channels=a,b&token=x.y.z", "", "wsgate.v1")
	f.Add("", "Bearer abc.def.ghi", "")
	f.Add("", "", "wsgate.v1, wsgate.token.abc.def.ghi")
	f.Add("token=a&token=b", "Bearer c", "wsgate.token.d")
	f.Add("token=%zz", "bearer", "wsgate.token.")
	f.Fuzz(func(t *testing.T, query, authorization, protocols string) {
		var offered [][]byte
		for _, p := range strings.Split(protocols, ",") {
			if p = strings.TrimSpace(p); p != "" {
				offered = append(offered, []byte(p))
			}
		}
		h := Handshake{Query: []byte(query), Authorization: []byte(authorization), Protocols: offered}
		token, protocol, err := Extract(h)
		if protocol != nil && string(protocol) != Protocol {
			t.Fatalf("echoes %q, want %q or nothing", protocol, Protocol)
		}
		if bytes.HasPrefix(protocol, []byte(TokenProtocolPrefix)) {
			t.Fatalf("echoes the token entry %q", protocol)
		}
		if err != nil {
			if token != "" {
				t.Fatalf("error %v with token %q", err, token)
			}
			return
		}
		if token == "" {
			t.Fatal("no error and no token")
		}
		if !strings.Contains(authorization, token) && !strings.Contains(protocols, token) && !strings.Contains(query, "token") {
			t.Fatalf("token %q comes from nowhere", token)
		}
	})
}

// FuzzVerify hands arbitrary strings to Verify: it must not panic, and only
// a correctly signed token may pass.
func FuzzVerify(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.x")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("...")
	f.Add("a.b.c.d")
	v, err := NewVerifier(Config{HMACSecret: secret, Now: clock})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		if c, err := v.Verify(token); err == nil && c.Subject == "" {
			t.Fatalf("accepted %q without a subject", token)
		} else if err == nil {
			t.Fatalf("accepted forged token %q: %+v", token, c)
		}
	})
}
