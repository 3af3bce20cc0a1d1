package tuning

import (
	"fmt"
	"strings"
)

// fixFor sizes the change that lifts the named constraint to forConns
// connections; have is what the constraint allows now.
func fixFor(name string, r Readings, forConns, have int64) Fix {
	p := NewProfile(forConns, &r)
	sysctl := func(key, value, change string, more ...string) Fix {
		cmds := append([]string{fmt.Sprintf("sysctl -w %s=%q", key, value),
			fmt.Sprintf("persist it: %s, or `%s = %s` in /etc/sysctl.d/90-wsgate.conf", applyHint(forConns), key, value)}, more...)
		return Fix{For: forConns, Key: key, Value: value, Change: change, Commands: cmds}
	}
	setting := func(key string) string {
		s, _ := p.Setting(key)
		return s.Value
	}
	switch name {
	case "open-files":
		return openFilesFix(r, forConns, have)
	case "fs.nr_open":
		v := setting("fs.nr_open")
		return sysctl("fs.nr_open", v, fmt.Sprintf("raise fs.nr_open to %s so the open-files limit can reach %s", Thousands(parseOr(v)), Thousands(p.OpenFiles)),
			fmt.Sprintf("then raise the open-files limit itself to %d (LimitNOFILE= or ulimit -n)", p.OpenFiles))
	case "fs.file-max":
		used, _ := r.sysctlInt("fs.file-nr", 0)
		v := max(parseOr(setting("fs.file-max")), used+forConns+FDHeadroom)
		return sysctl("fs.file-max", itoa(v), fmt.Sprintf("raise fs.file-max to %s", Thousands(v)))
	case "fs.epoll.max_user_watches":
		v := setting("fs.epoll.max_user_watches")
		return sysctl("fs.epoll.max_user_watches", v, fmt.Sprintf("raise fs.epoll.max_user_watches to %s", Thousands(parseOr(v))))
	case "memory":
		return memoryFix(r, forConns)
	case "net.ipv4.tcp_mem":
		v := setting("net.ipv4.tcp_mem")
		return sysctl("net.ipv4.tcp_mem", v, fmt.Sprintf("raise net.ipv4.tcp_mem (pages: low pressure high) to %s", v))
	case "net.netfilter.nf_conntrack_max":
		v, buckets := setting("net.netfilter.nf_conntrack_max"), setting("net.netfilter.nf_conntrack_buckets")
		return sysctl("net.netfilter.nf_conntrack_max", v, fmt.Sprintf("raise net.netfilter.nf_conntrack_max to %s, or stop tracking wsgate's port", Thousands(parseOr(v))),
			fmt.Sprintf("sysctl -w net.netfilter.nf_conntrack_buckets=%s (chains of 4 in a full table)", buckets),
			"or exempt wsgate's port (8080 unless --listen says otherwise) from tracking: "+
				"iptables -t raw -I PREROUTING -p tcp --dport 8080 -j NOTRACK; iptables -t raw -I OUTPUT -p tcp --sport 8080 -j NOTRACK")
	case "ephemeral-ports":
		return portsFix(r, forConns)
	}
	return Fix{For: forConns, Key: name, Change: "no known fix"}
}

func openFilesFix(r Readings, forConns, have int64) Fix {
	v := forConns + FDHeadroom
	f := Fix{For: forConns, Key: "RLIMIT_NOFILE", Value: itoa(v),
		Change: fmt.Sprintf("raise the hard open-files limit from %s to %s (%s connections + %s headroom)",
			Thousands(r.OpenFiles.Hard), Thousands(v), Thousands(forConns), Thousands(FDHeadroom))}
	if nrOpen, ok := r.sysctlInt("fs.nr_open", 0); ok && v > nrOpen {
		f.Commands = append(f.Commands, fmt.Sprintf("first, as the limit cannot exceed fs.nr_open (%s): sysctl -w fs.nr_open=%d",
			Thousands(nrOpen), roundUp(v, 1<<20)))
	}
	f.Commands = append(f.Commands,
		fmt.Sprintf("systemd: LimitNOFILE=%d in /etc/systemd/system/wsgate.service.d/90-wsgate-tuning.conf, then systemctl daemon-reload and restart wsgate", v),
		fmt.Sprintf("shell, as root: ulimit -n %d before starting wsgate", v),
		fmt.Sprintf("login sessions: \"* hard nofile %d\" and \"* soft nofile %d\" in /etc/security/limits.d/90-wsgate.conf", v, v),
		fmt.Sprintf("or install a whole profile, which does all of this: %s", applyHint(forConns)))
	if have > 0 {
		f.Commands = append(f.Commands, fmt.Sprintf("where this cap cannot be raised: run %d processes of up to %s connections each (docs/tuning.md, \"Several processes per host\")",
			ceilDiv(forConns, have), Thousands(have)))
	}
	return f
}

func memoryFix(r Readings, forConns int64) Fix {
	need := forConns * BytesPerConn
	if c := r.Cgroup; c != nil && c.Limit-c.Usage < r.MemAvailable {
		v := c.Usage + need
		cmd := fmt.Sprintf("systemd: MemoryMax=%d in the wsgate unit (cgroup v2)", v)
		if c.Version == 1 {
			cmd = fmt.Sprintf("echo %d > %s (cgroup v1)", v, c.File)
		}
		return Fix{For: forConns, Key: "memory", Value: itoa(v),
			Change: fmt.Sprintf("raise the cgroup memory limit from %s to %s (%s in use + %s connections × %s B)",
				BytesIEC(c.Limit), BytesIEC(v), BytesIEC(c.Usage), Thousands(forConns), Thousands(BytesPerConn)),
			Commands: []string{cmd}}
	}
	return Fix{For: forConns, Key: "memory", Value: itoa(need),
		Change: fmt.Sprintf("%s connections need %s available (%s B each); this host has %s",
			Thousands(forConns), BytesIEC(need), Thousands(BytesPerConn), BytesIEC(r.MemAvailable)),
		Commands: []string{"free memory, add RAM, or spread the connections over more hosts"}}
}

func portsFix(r Readings, forConns int64) Fix {
	const lo, hi = 10000, 65535
	f, _ := r.sysctlFields("net.ipv4.ip_local_port_range")
	from, to := int64(lo), int64(hi)
	if len(f) == 2 && f[1]-f[0] > to-from {
		from, to = f[0], f[1] // already wider than the profile's: keep it
	}
	ports := to - from + 1 - reservedInRange(r.Sysctl["net.ipv4.ip_local_reserved_ports"], from, to)
	addrs := ceilDiv(forConns, ports)
	have := int64(r.LocalAddrs.Usable())
	fix := Fix{For: forConns, Key: "net.ipv4.ip_local_port_range", Value: fmt.Sprintf("%d %d", from, to)}
	var change []string
	if len(f) != 2 || from != f[0] || to != f[1] {
		change = append(change, fmt.Sprintf("widen the ephemeral port range to %d-%d (%s ports per source address)", from, to, Thousands(ports)))
		fix.Commands = append(fix.Commands, fmt.Sprintf("sysctl -w net.ipv4.ip_local_port_range=\"%d %d\"", from, to))
	}
	if addrs > have {
		change = append(change, fmt.Sprintf("use %d source addresses (this host has %d)", addrs, have))
		fix.Commands = append(fix.Commands,
			fmt.Sprintf("add %d addresses, e.g. on loopback: ip addr add 127.0.0.2/8 dev lo (and .3, .4 …); elsewhere: ip addr add ADDR dev IFACE", addrs-have),
			"bind each client socket to one of them before connecting (the kernel picks one source address per route by itself)")
	}
	fix.Change = strings.Join(change, " and ")
	return fix
}

// applyHint is the apply.sh command for a profile covering n connections:
// the smallest committed one at or above n, else one tailored to n.
func applyHint(n int64) string {
	for _, name := range Named() {
		if t, _ := ParseCount(name); t >= n {
			return "tuning/apply.sh " + name
		}
	}
	dir := "/tmp/wsgate-" + FormatCount(n)
	return fmt.Sprintf("wsgate tune profile --target %s --dir %s && tuning/apply.sh %s", FormatCount(n), dir, dir)
}

func parseOr(s string) int64 {
	n, _ := ParseCount(s)
	return n
}
