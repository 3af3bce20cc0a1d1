package reactor

import "testing"

func TestOriginPolicy(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		origin   string
		host     string
		want     bool
	}{
		{nil, "", "ws.example.com", true},                           // no Origin: not a browser
		{nil, "https://ws.example.com", "ws.example.com", true},     // same origin
		{nil, "http://127.0.0.1:8080", "127.0.0.1:8080", true},      // same origin with port
		{nil, "HTTPS://WS.Example.com", "ws.example.com", true},     // case-insensitive
		{nil, "https://evil.com", "ws.example.com", false},          // cross-site: refused by default
		{nil, "null", "ws.example.com", false},                      // sandboxed frame, file://
		{[]string{"*"}, "https://evil.com", "ws.example.com", true}, // any
		{[]string{"https://app.example.com"}, "https://app.example.com", "ws.example.com", true},
		{[]string{"https://app.example.com"}, "http://app.example.com", "ws.example.com", false},
		{[]string{"https://app.example.com"}, "https://app.example.com:8443", "ws.example.com", false},
		{[]string{"https://*.example.com"}, "https://a.b.example.com", "x", true},
		{[]string{"https://*.example.com"}, "https://example.com", "x", false},
		{[]string{"https://*.example.com"}, "https://evilexample.com", "x", false},
		{[]string{"https://*.example.com"}, "https://example.com.evil.com", "x", false},
		{[]string{"http://localhost:*"}, "http://localhost:3000", "x", true},
		{[]string{"http://localhost:*"}, "http://localhost", "x", true}, // any port, the default too
		{[]string{"https://app.example.com"}, "https://app.example.com/path", "x", false},
		{[]string{"https://app.example.com"}, "https://user@app.example.com", "x", false},
		{[]string{"http://[::1]:8080"}, "http://[::1]:8080", "x", true},
	} {
		p, err := newOriginPolicy(tc.patterns)
		if err != nil {
			t.Fatalf("%v: %v", tc.patterns, err)
		}
		if got := p.allows([]byte(tc.origin), []byte(tc.host)); got != tc.want {
			t.Errorf("patterns %v, Origin %q, Host %q: allowed %v, want %v", tc.patterns, tc.origin, tc.host, got, tc.want)
		}
	}
	for _, bad := range []string{"example.com", "https://a.*.com", "https://*", "https://ex*ample.com", "https://a.com/x"} {
		if _, err := newOriginPolicy([]string{bad}); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}
