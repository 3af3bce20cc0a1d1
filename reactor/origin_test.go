package reactor

import "testing"

func TestOriginPolicy(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		origin   string
		host     string
		want     bool
	}{
		{nil, "", "ws.example.com", true},                       // no Origin: not a browser
		{nil, "https://ws.example.com", "ws.example.com", true}, // same origin
		{nil, "http://127.0.0.1:8080", "127.0.0.1:8080", true},  // same origin with port
		{nil, "HTTPS://WS.Example.com", "ws.example.com", true}, // case-insensitive
		{nil, "https://evil.com", "ws.example.com", false},      // cross-site: refused by default
		{nil, "null", "ws.example.com", false},                  // sandboxed frame, file://
		// Same origin is scheme, host and port (RFC 6454 §4).
		{nil, "ftp://ws.example.com", "ws.example.com", false},              // not a page's scheme
		{nil, "chrome-extension://ws.example.com", "ws.example.com", false}, // nor this
		{nil, "https://ws.example.com:8443", "ws.example.com:8443", true},
		{nil, "https://ws.example.com:443", "ws.example.com", true},       // the explicit default port
		{nil, "http://ws.example.com", "ws.example.com:80", true},         // Host with the default port
		{nil, "http://ws.example.com:443", "ws.example.com", false},       // http on 443 is another origin
		{nil, "https://ws.example.com", "ws.example.com:8080", false},     // other port
		{nil, "http://ws.example.com:8080", "ws.example.com:8081", false}, // other port
		{nil, "https://ws.example.com.evil.com", "ws.example.com", false},
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

func TestHostPolicy(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		host     string
		want     bool
	}{
		{nil, "anything:1234", true}, // no list: any host
		{[]string{"ws.example.com"}, "ws.example.com", true},
		{[]string{"ws.example.com"}, "WS.Example.COM:8080", true}, // no port in the pattern: any port
		{[]string{"ws.example.com"}, "evil.example.com", false},
		{[]string{"ws.example.com"}, "127.0.0.1:8080", false}, // a rebound name reaches us by IP: refused
		{[]string{"ws.example.com:443"}, "ws.example.com:443", true},
		{[]string{"ws.example.com:443"}, "ws.example.com", false},
		{[]string{"*.example.com"}, "a.b.example.com", true},
		{[]string{"*.example.com"}, "example.com", false},
		{[]string{"*.example.com"}, "evilexample.com", false},
		{[]string{"localhost:*"}, "localhost:3000", true},
		{[]string{"[::1]:8080"}, "[::1]:8080", true},
		{[]string{"[::1]"}, "[::1]:9", true},
		{[]string{"a.example", "b.example"}, "b.example", true},
	} {
		p, err := newHostPolicy(tc.patterns)
		if err != nil {
			t.Fatalf("%v: %v", tc.patterns, err)
		}
		if got := p.allows([]byte(tc.host)); got != tc.want {
			t.Errorf("patterns %v, Host %q: allowed %v, want %v", tc.patterns, tc.host, got, tc.want)
		}
	}
	for _, bad := range []string{"https://a.com", "a.*.com", "*", "a.com/x", "a com"} {
		if _, err := newHostPolicy([]string{bad}); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}
