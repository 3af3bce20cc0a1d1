package tuning

import (
	"fmt"
	"strconv"
	"strings"
)

// Setting is one sysctl key of a profile.
type Setting struct {
	Key   string // sysctl name, dotted: net.core.somaxconn
	Value string // fields separated by one space, as sysctl.d writes them
	// Purpose says what the key does for wsgate, in a sentence or two.
	Purpose string
	// Math shows how Value follows from the target; empty when the value is
	// a choice rather than a computation.
	Math string
	// Optional says why the key may be missing on a kernel; empty when every
	// kernel wsgate supports has it. Optional keys are written with sysctl.d's
	// leading "-", so loading the file does not fail without them.
	Optional string
}

// Profile is the kernel and process settings for holding Target
// connections on one host.
type Profile struct {
	Name      string // FormatCount(Target): "1m"
	Target    int64  // concurrent connections
	OpenFiles int64  // RLIMIT_NOFILE, soft and hard: Target + FDHeadroom
	PageSize  int64  // the unit of net.ipv4.tcp_mem
	Sysctl    []Setting
	// Tailored names the host the profile was fitted to; empty for the
	// named, host-independent profiles.
	Tailored string
	// Notes are the host's shortfalls found while tailoring: the target
	// does not fit its memory, and the like.
	Notes []string
}

// storm is the number of connections assumed to arrive at once, a reconnect
// storm after a deploy: 1% of the target, at least the kernel's default
// accept queue (4096) and at most what a listen backlog can hold (65535,
// it is stored in 16 bits).
func storm(target int64) int64 {
	return min(max(target/100, 4096), 65535)
}

// NewProfile computes the settings for target connections. With host nil
// the profile depends on the target alone (the named profiles); with a
// host's readings it is tailored: tcp_mem fits the host's memory, the page
// size is the host's, and no ceiling ends up below the host's live value.
func NewProfile(target int64, host *Readings) Profile {
	p := Profile{
		Name:      FormatCount(target),
		Target:    target,
		OpenFiles: target + FDHeadroom,
		PageSize:  ProfilePageSize,
	}
	if host != nil {
		p.Tailored = host.Kernel
		if host.PageSize > 0 {
			p.PageSize = host.PageSize
		}
	}
	settings := [][]Setting{
		fileSettings(p.OpenFiles),
		{tcpMem(target, p.PageSize, host, &p.Notes)},
		bufferSettings(target),
		acceptSettings(target),
		closeSettings(target),
		clientSettings(target),
		conntrackSettings(target),
	}
	for _, group := range settings {
		for _, s := range group {
			if host != nil {
				s = keepHigher(s, host)
			}
			p.Sysctl = append(p.Sysctl, s)
		}
	}
	return p
}

// fileSettings size the open-file ceilings for nofile descriptors per
// process.
func fileSettings(nofile int64) []Setting {
	hostFiles := 2*nofile + 65536
	nrOpen := roundUp(nofile, 1<<20)
	return []Setting{
		{
			Key: "fs.file-max", Value: itoa(hostFiles),
			Purpose: "Open files for the whole host. wsgate holds one per connection; a load generator " +
				"or a second wsgate process on the same host holds as many again.",
			Math: fmt.Sprintf("2 × %s open files per process + 65,536 for everything else = %s", Thousands(nofile), Thousands(hostFiles)),
		},
		{
			Key: "fs.nr_open", Value: itoa(nrOpen),
			Purpose: "The most open files one process may be allowed: the ceiling for LimitNOFILE and " +
				"limits.conf's nofile, which are refused above it.",
			Math: fmt.Sprintf("%s open files per process, rounded up to a multiple of 1,048,576 (the kernel default) = %s",
				Thousands(nofile), Thousands(nrOpen)),
		},
		{
			Key: "fs.epoll.max_user_watches", Value: itoa(hostFiles),
			Purpose: "Sockets one user may register with epoll, summed over that user's processes: one " +
				"per connection (about 160 B of kernel memory each), for wsgate and for a load generator run by the same user.",
			Math: fmt.Sprintf("2 × %s + 65,536 = %s", Thousands(nofile), Thousands(hostFiles)),
		},
	}
}

// bufferSettings size the per-socket buffers for density.
func bufferSettings(n int64) []Setting {
	return []Setting{
		{
			Key: "net.ipv4.tcp_rmem", Value: "4096 16384 4194304",
			Purpose: "Receive buffer per socket: min, default, max in bytes. Under tcp_mem pressure each socket " +
				"is trimmed towards min, so min is one page. Clients send small frames, so the default starts at " +
				"16 KiB (the kernel's is 128 KiB) and autotuning grows a busy socket up to max, 4 × the 1 MiB --max-message-size.",
			Math: fmt.Sprintf("min 4,096 = one page; %s connections × 16 KiB default = %s if every receive buffer "+
				"filled at once, which tcp_mem's high mark caps", Thousands(n), BytesIEC(n*16384)),
		},
		{
			Key: "net.ipv4.tcp_wmem", Value: "4096 16384 4194304",
			Purpose: "Send buffer per socket: min, default, max in bytes; the kernel's defaults, written out " +
				"so the budget is explicit. Under tcp_mem pressure each socket is trimmed towards min, one page; " +
				"what the kernel will not take waits in wsgate, bounded by --max-outbound-bytes.",
			Math: fmt.Sprintf("min 4,096 = one page; %s connections × 16 KiB default = %s if every send buffer "+
				"filled at once, which tcp_mem's high mark caps", Thousands(n), BytesIEC(n*16384)),
		},
	}
}

// acceptSettings size the accept path for a reconnect storm.
func acceptSettings(n int64) []Setting {
	burst := storm(n)
	return []Setting{
		{
			Key: "net.core.somaxconn", Value: itoa(burst),
			Purpose: "Accept queue per listener (gnet passes this as the listen backlog). After a deploy the " +
				"clients reconnect together; a full queue drops their handshakes and they retry later.",
			Math: fmt.Sprintf("1%% of %s connections arriving at once, between 4,096 and 65,535 (the backlog is 16 bits) = %s",
				Thousands(n), Thousands(burst)),
		},
		{
			Key: "net.ipv4.tcp_max_syn_backlog", Value: itoa(2 * burst),
			Purpose: "Half-open connections (SYN received) per listener. Past it the kernel answers with SYN " +
				"cookies; twice the accept queue keeps the storm's SYNs out of cookie mode.",
			Math: fmt.Sprintf("2 × somaxconn %s = %s", Thousands(burst), Thousands(2*burst)),
		},
		{
			Key: "net.core.netdev_max_backlog", Value: itoa(burst),
			Purpose: "Packets per CPU waiting for the network stack (loopback traffic queues here too). The " +
				"kernel default of 1,000 drops packets during a reconnect storm.",
			Math: fmt.Sprintf("one packet per storm connection per CPU = somaxconn = %s", Thousands(burst)),
		},
	}
}

// closeSettings size what a drain leaves behind.
func closeSettings(n int64) []Setting {
	return []Setting{
		{
			Key: "net.ipv4.tcp_fin_timeout", Value: "15",
			Purpose: "Seconds a closed socket waits in FIN_WAIT_2 for the peer's FIN. A drain closes every " +
				"connection from our side; 15 s instead of 60 frees the orphans four times sooner.",
		},
		{
			Key: "net.ipv4.tcp_max_orphans", Value: itoa(n),
			Purpose: "Sockets closed by wsgate but not yet finished in the kernel. A drain orphans every " +
				"connection within --drain-window; past this cap the kernel resets them and logs \"too many orphaned sockets\".",
			Math: fmt.Sprintf("one per connection = %s", Thousands(n)),
		},
		{
			Key: "net.ipv4.tcp_max_tw_buckets", Value: itoa(n),
			Purpose: "Sockets in TIME_WAIT. Connections wsgate closes (drain, timeouts) wait here 60 s; past " +
				"the cap the kernel drops them early and logs \"time wait bucket table overflow\".",
			Math: fmt.Sprintf("one per connection = %s", Thousands(n)),
		},
	}
}

// clientSettings matter only where this host opens the connections.
func clientSettings(n int64) []Setting {
	return []Setting{
		{
			Key: "net.ipv4.ip_local_port_range", Value: "10000 65535",
			Purpose: "Client side only (wsbench, outbound NATS): source ports for outgoing connections. Accepted " +
				"connections use none. Starting at 10,000 keeps ephemeral ports off the services below it, wsgate's 8080 and 8081 included.",
			Math: fmt.Sprintf("65,535 − 10,000 + 1 = 55,536 connections per source address to one server address and port; "+
				"%s connections need %s source addresses", Thousands(n), Thousands(ceilDiv(n, 55536))),
		},
		{
			Key: "net.ipv4.tcp_tw_reuse", Value: "1",
			Purpose: "Client side only: lets a new outgoing connection take a source port still in TIME_WAIT " +
				"when TCP timestamps show it is safe, so a load generator can reconnect at full scale.",
		},
	}
}

// conntrackSettings size the connection tracker, where it is loaded.
func conntrackSettings(n int64) []Setting {
	conntrack := 2 * n
	const why = "exists only while nf_conntrack is loaded (NAT or stateful firewall rules load it); without it nothing is tracked."
	return []Setting{
		{
			Key: "net.netfilter.nf_conntrack_max", Value: itoa(conntrack),
			Purpose: "Connections the firewall tracks. Each wsgate connection takes an entry (about 320 B) and keeps " +
				"it for 120 s after closing, so a drain followed by reconnection holds two per client. Better still, " +
				"exempt wsgate's port from tracking (docs/tuning.md).",
			Math:     fmt.Sprintf("2 × %s connections = %s entries, about %s", Thousands(n), Thousands(conntrack), BytesIEC(conntrack*320)),
			Optional: why,
		},
		{
			Key: "net.netfilter.nf_conntrack_buckets", Value: itoa(conntrack / 4),
			Purpose: "Hash buckets of the conntrack table; lookups walk one bucket's chain on every packet.",
			Math: fmt.Sprintf("nf_conntrack_max %s / 4 = %s, chains of 4 entries in a full table",
				Thousands(conntrack), Thousands(conntrack/4)),
			Optional: why,
		},
	}
}

// tcpMem sizes net.ipv4.tcp_mem, in pages, so every connection can hold
// queued data at once: low = one page per connection, pressure twice that,
// high three times. Tailored to a host, high also leaves room in RAM for
// the connections' own memory and the rest of the system.
func tcpMem(n, page int64, host *Readings, notes *[]string) Setting {
	perSock := ceilDiv(max(TCPMemBytesPerSocket, page), page) // pages
	high := 3 * n * perSock
	math := fmt.Sprintf("low %s pages = %s connections × %d page (%s B, the least a socket with queued data is charged); "+
		"pressure 2 × low; high 3 × low = %s of socket buffers",
		Thousands(n*perSock), Thousands(n), perSock, Thousands(page), BytesIEC(high*page))
	if host != nil && host.MemTotal > 0 {
		room := (host.MemTotal - host.MemTotal/10 - n*BytesPerConn) / page
		if high > room {
			high = max(room, n*perSock)
			math += fmt.Sprintf("; capped for this host: (%s RAM − 10%% − %s connections × %s B) / %s B = %s pages",
				BytesIEC(host.MemTotal), Thousands(n), Thousands(BytesPerConn), Thousands(page), Thousands(max(room, 0)))
		}
		if room < n*perSock {
			*notes = append(*notes, fmt.Sprintf("%s connections need %s of RAM (%s B each) plus %s of socket buffers "+
				"when all are backlogged; this host has %s", Thousands(n), BytesIEC(n*BytesPerConn), Thousands(BytesPerConn),
				BytesIEC(n*perSock*page), BytesIEC(host.MemTotal)))
		}
	}
	return Setting{
		Key:   "net.ipv4.tcp_mem",
		Value: fmt.Sprintf("%d %d %d", high/3, high*2/3, high),
		Purpose: "Pages all TCP sockets together may hold in buffers: below low no regulation, above " +
			"pressure buffers shrink, at high sends wait. When a broadcast backlogs every subscriber, each " +
			"socket holds at least a page.",
		Math: math,
	}
}

// keepHigher makes a tailored ceiling no lower than the host's live value,
// field by field, as apply.sh does for keys of kind raise.
func keepHigher(s Setting, host *Readings) Setting {
	k, ok := LookupKey(s.Key)
	live, have := host.Sysctl[s.Key]
	if !ok || k.Kind != KindRaise || !have {
		return s
	}
	merged, raised := mergeHigher(s.Value, live)
	if raised {
		s.Value = merged
		s.Math += fmt.Sprintf("; this host already has %s, which is kept", live)
	}
	return s
}

// mergeHigher returns want with each field raised to have's where have's is
// larger, and whether any field was.
func mergeHigher(want, have string) (string, bool) {
	w, h := strings.Fields(want), strings.Fields(have)
	if len(w) != len(h) {
		return want, false
	}
	raised := false
	for i := range w {
		wv, err1 := strconv.ParseInt(w[i], 10, 64)
		hv, err2 := strconv.ParseInt(h[i], 10, 64)
		if err1 == nil && err2 == nil && hv > wv {
			w[i], raised = h[i], true
		}
	}
	return strings.Join(w, " "), raised
}

// Setting returns the profile's setting for key.
func (p Profile) Setting(key string) (Setting, bool) {
	for _, s := range p.Sysctl {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

func roundUp(a, b int64) int64 { return ceilDiv(a, b) * b }
