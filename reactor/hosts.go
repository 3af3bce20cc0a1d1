package reactor

import (
	"fmt"
	"strings"
)

// hostPolicy restricts the Host header of handshakes (Config.AllowedHosts)
// against DNS rebinding: a hostile page at http://evil.example:8080 whose
// name is made to resolve to this node sends Origin and Host that agree,
// so only the Host value itself tells the node it is being reached under
// a name it does not serve. Empty: any host.
type hostPolicy struct {
	patterns []hostPattern
}

// hostPattern is "host", "host:port" or "*.host[:port]"; port may be "*".
// Without a port, any port matches.
type hostPattern struct {
	host, port string
	subdomains bool // "*.<host>": one label or more before host
}

func newHostPolicy(list []string) (hostPolicy, error) {
	var p hostPolicy
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		host, port := splitHostHeader(s)
		hp := hostPattern{host: host, port: port}
		if rest, ok := strings.CutPrefix(host, "*."); ok {
			hp.host, hp.subdomains = rest, true
		}
		if hp.host == "" || strings.ContainsAny(hp.host, "*/?#@ ") || strings.Contains(s, "://") ||
			(strings.Contains(s, ":") && port == "" && !strings.HasSuffix(s, "]")) {
			return p, fmt.Errorf("allowed host %q: want host, host:port or *.host (port may be *)", s)
		}
		p.patterns = append(p.patterns, hp)
	}
	return p, nil
}

// allows reports whether a handshake's Host header is one the node serves.
func (p *hostPolicy) allows(hostHeader []byte) bool {
	if len(p.patterns) == 0 {
		return true
	}
	host, port := splitHostHeader(strings.ToLower(string(hostHeader)))
	for _, pat := range p.patterns {
		if pat.port != "" && pat.port != "*" && pat.port != port {
			continue
		}
		if pat.subdomains && strings.HasSuffix(host, "."+pat.host) && len(host) > len(pat.host)+1 ||
			!pat.subdomains && host == pat.host {
			return true
		}
	}
	return false
}
