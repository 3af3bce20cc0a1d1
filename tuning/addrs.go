package tuning

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Addr is one address of an interface that is up.
type Addr struct {
	Interface string
	Prefix    netip.Prefix // address and prefix length
}

// LocalAddrs counts the source addresses a client can connect from. Each
// address gives one ephemeral port range towards one server address and
// port. Link-local IPv6 addresses are left out (a server is not reached
// through them). On loopback, 127.0.0.1/8 counts once: the kernel picks
// 127.0.0.1 as the source, and another 127.x address serves only once it
// is added to lo and the client binds to it explicitly, so only addresses
// added that way count extra.
type LocalAddrs struct {
	IPv4 int      `json:"ipv4"`
	IPv6 int      `json:"ipv6"`
	List []string `json:"list"` // "lo 127.0.0.1/8"
}

// Usable is the larger family's count: a client's source addresses must be
// of the server address's family.
func (l LocalAddrs) Usable() int { return max(l.IPv4, l.IPv6) }

func (h Host) localAddrs() (LocalAddrs, error) {
	list := h.Addrs
	if list == nil {
		list = interfaceAddrs
	}
	addrs, err := list()
	if err != nil {
		return LocalAddrs{}, err
	}
	return countAddrs(addrs), nil
}

func countAddrs(addrs []Addr) LocalAddrs {
	var l LocalAddrs
	for _, a := range addrs {
		ip := a.Prefix.Addr()
		if ip.Is6() && ip.IsLinkLocalUnicast() {
			continue
		}
		l.List = append(l.List, a.Interface+" "+a.Prefix.String())
		if ip.Is4() || ip.Is4In6() {
			l.IPv4++
		} else {
			l.IPv6++
		}
	}
	return l
}

// interfaceAddrs lists the addresses of the interfaces that are up.
func interfaceAddrs() ([]Addr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []Addr
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			out = append(out, Addr{Interface: ifc.Name, Prefix: p})
		}
	}
	return out, nil
}

// reservedInRange counts the ports of net.ipv4.ip_local_reserved_ports
// ("8080,9000-9010") that fall inside [lo, hi].
func reservedInRange(list string, lo, hi int64) int64 {
	var n int64
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, b, isRange := strings.Cut(part, "-")
		if !isRange {
			b = a
		}
		from, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
		to, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		from, to = max(from, lo), min(to, hi)
		if to >= from {
			n += to - from + 1
		}
	}
	return n
}
