package reactor

import (
	"fmt"
	"strings"
)

// originPolicy decides which Origin a handshake may carry, against
// cross-site WebSocket hijacking: a browser lets any page open a WebSocket
// to any host and attaches that host's cookies, so a server that trusted
// cookies would act for the visitor on a hostile page's behalf. The Origin
// header (RFC 6454, sent by every browser on a WebSocket handshake) names
// the page.
//
// Always allowed: no Origin at all (a non-browser client, which could send
// any Origin anyway) and the same origin (see sameOrigin). Other origins must match one of the patterns; with none
// configured, they get 403. wsgate authenticates with tokens, not cookies,
// so a hostile page cannot borrow a visitor's identity even where its origin
// is allowed; the default still refuses foreign pages so that a node with
// authentication off (or public channels) is not used by other sites as
// their relay, spending its visitors' connections and this node's capacity.
type originPolicy struct {
	any      bool            // "*": every origin
	patterns []originPattern // the rest
}

// originPattern is "scheme://host[:port]"; host may begin with "*." (any
// subdomain, one level or more) and port may be "*".
type originPattern struct {
	scheme, host, port string
	subdomains         bool // host was "*.<host>"
}

func newOriginPolicy(list []string) (originPolicy, error) {
	var p originPolicy
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		if s == "*" {
			p.any = true
			continue
		}
		scheme, host, port, ok := splitOrigin(s)
		if !ok || host == "" || strings.Contains(host[min(len(host), 2):], "*") {
			return p, fmt.Errorf("allowed origin %q: want scheme://host[:port] (host may start with \"*.\")", s)
		}
		op := originPattern{scheme: scheme, host: host, port: port}
		if rest, ok := strings.CutPrefix(host, "*."); ok {
			op.host, op.subdomains = rest, true
		} else if strings.Contains(host, "*") {
			return p, fmt.Errorf("allowed origin %q: \"*\" only as the first label (*.example.com)", s)
		}
		p.patterns = append(p.patterns, op)
	}
	return p, nil
}

// allows reports whether a handshake with this Origin and Host may proceed.
func (p *originPolicy) allows(origin, host []byte) bool {
	if len(origin) == 0 || p.any {
		return true
	}
	o := strings.ToLower(string(origin))
	scheme, ohost, port, ok := splitOrigin(o)
	if !ok {
		return false // "null" (sandboxed frames, file://) or garbage
	}
	if sameOrigin(scheme, ohost, port, strings.ToLower(string(host))) {
		return true
	}
	for _, pat := range p.patterns {
		if pat.matches(scheme, ohost, port) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether an origin (lower case) is the node's own as
// the Host header names it. RFC 6454 §4: an origin is scheme, host and
// port, so all three count. A page is served over http or https (a
// ws/wss URL is not an origin). Host carries a port only when it is not
// the default of the scheme the client used; without one, the origin must
// be on its scheme's default port: "http://a.example" or
// "https://a.example" match Host "a.example", "https://a.example:8443"
// matches only Host "a.example:8443", and "http://a.example:443" matches
// neither. Host itself is whatever the client sent: AllowedHosts is the
// defence against a rebound name.
func sameOrigin(scheme, host, port, hostHeader string) bool {
	var defaultPort string
	switch scheme {
	case "http":
		defaultPort = "80"
	case "https":
		defaultPort = "443"
	default:
		return false
	}
	if port == "" {
		port = defaultPort
	}
	hHost, hPort := splitHostHeader(hostHeader)
	if hPort == "" {
		hPort = defaultPort
	}
	return host == hHost && port == hPort
}

// splitHostHeader splits "host[:port]" ("[v6]:port" too); port is "" when
// absent.
func splitHostHeader(h string) (host, port string) {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && i > strings.LastIndexByte(h, ']') {
		return h[:i], h[i+1:]
	}
	return h, ""
}

func (pat *originPattern) matches(scheme, host, port string) bool {
	if scheme != pat.scheme || port != pat.port && pat.port != "*" {
		return false
	}
	if pat.subdomains {
		return strings.HasSuffix(host, "."+pat.host) && len(host) > len(pat.host)+1
	}
	return host == pat.host
}

// splitOrigin splits "scheme://host[:port]" (no path, no user info).
func splitOrigin(s string) (scheme, host, port string, ok bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" || rest == "" || strings.ContainsAny(rest, "/?#@ ") {
		return "", "", "", false
	}
	host = rest
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && i > strings.LastIndexByte(rest, ']') {
		host, port = rest[:i], rest[i+1:]
		if port == "" {
			return "", "", "", false
		}
	}
	return scheme, host, port, host != ""
}
