package bench

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Target is one server endpoint connections are spread over.
type Target struct {
	Addr string // host:port to dial
	Host string // Host header
	Path string // request path and query, without the channels parameter
	// TLS: a wss:// target. wsgate itself speaks plain WebSocket; TLS is
	// terminated in front of it (HAProxy, NGINX), and a wss:// run measures
	// that proxy (see tlsconn.go).
	TLS        bool   `json:",omitempty"`
	ServerName string `json:",omitempty"` // the URL's host name: SNI and the name verified
}

// ParseTarget reads a ws:// or wss:// URL.
func ParseTarget(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("url %q: %w", raw, err)
	}
	port := "80"
	switch u.Scheme {
	case "ws":
	case "wss":
		port = "443"
	default:
		return Target{}, fmt.Errorf("url %q: scheme must be ws or wss", raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), port)
	}
	if u.Hostname() == "" {
		return Target{}, fmt.Errorf("url %q: no host", raw)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	t := Target{Addr: host, Host: u.Host, Path: path, TLS: u.Scheme == "wss"}
	if t.TLS {
		t.ServerName = u.Hostname()
	}
	return t, nil
}

// appendPath appends the request path, subscribing to channel number ch
// (prefix + ch) with ?channels= when ch >= 0, added to any query the target
// already has.
func (t *Target) appendPath(dst []byte, prefix string, ch int) []byte {
	dst = append(dst, t.Path...)
	if ch < 0 {
		return dst
	}
	if strings.IndexByte(t.Path, '?') >= 0 {
		dst = append(dst, '&')
	} else {
		dst = append(dst, '?')
	}
	dst = append(dst, "channels="...)
	dst = append(dst, prefix...)
	return strconv.AppendInt(dst, int64(ch), 10)
}

// ParseSourceIPs reads a comma-separated list of addresses and inclusive
// ranges ("127.0.0.2-127.0.0.250,10.1.0.7"). Each address gives about
// 28,000 more connections to one server address and port (the kernel's
// ephemeral port range).
func ParseSourceIPs(spec string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := netip.ParseAddr(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("source address %q: %w", part, err)
		}
		last := first
		if isRange {
			if last, err = netip.ParseAddr(strings.TrimSpace(hi)); err != nil {
				return nil, fmt.Errorf("source address range %q: %w", part, err)
			}
		}
		if first.Is4() != last.Is4() || last.Less(first) {
			return nil, fmt.Errorf("source address range %q: end before start or mixed families", part)
		}
		for a := first; ; a = a.Next() {
			out = append(out, a)
			if len(out) > 1<<20 {
				return nil, errors.New("source addresses: more than 1,048,576")
			}
			if a == last {
				break
			}
		}
	}
	return out, nil
}
