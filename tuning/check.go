package tuning

import (
	"fmt"
	"math"
	"sort"
)

// Role is what the host's connections are.
type Role string

const (
	// RoleServer: wsgate accepting connections.
	RoleServer Role = "server"
	// RoleClient: a load generator (wsbench) opening connections to one
	// server address and port, which also spends ephemeral ports.
	RoleClient Role = "client"
)

// Options choose what Check answers.
type Options struct {
	// Target is the connections wanted; 0 asks only for the estimate.
	Target int64
	// Role is RoleServer (the default) or RoleClient.
	Role Role
}

// Constraint is one limit, turned into the connections it allows.
type Constraint struct {
	// Name identifies the limit: open-files, fs.nr_open, fs.file-max,
	// fs.epoll.max_user_watches, memory, net.ipv4.tcp_mem,
	// net.netfilter.nf_conntrack_max, or ephemeral-ports (client role).
	Name     string `json:"name"`
	MaxConns int64  `json:"max_conns"` // connections this limit allows
	Math     string `json:"math"`      // how MaxConns follows from the readings
	// Fix lifts the limit. Set on the binding constraint, and on every
	// constraint below Options.Target.
	Fix *Fix `json:"fix,omitempty"`
}

// Fix is the change that lifts one constraint.
type Fix struct {
	// For is the connections the change is sized for: the target, or
	// without one, the next constraint's level (beyond which lifting this
	// one alone gains nothing).
	For      int64    `json:"for"`
	Key      string   `json:"key"`      // what changes: RLIMIT_NOFILE, a sysctl key, memory, local addresses
	Value    string   `json:"value"`    // its new value
	Change   string   `json:"change"`   // the change in one sentence
	Commands []string `json:"commands"` // exact ways to make it
}

// Budget is the per-connection memory the estimate assumes.
type Budget struct {
	KernelBytes int64 `json:"kernel_bytes"`
	UserBytes   int64 `json:"user_bytes"`
}

// Report is what Check found.
type Report struct {
	Role     Role     `json:"role"`
	Target   int64    `json:"target"` // 0: none asked
	Budget   Budget   `json:"budget"`
	Readings Readings `json:"readings"`
	// Constraints are every limit that could be evaluated, smallest first.
	Constraints []Constraint `json:"constraints"`
	// Skipped are the limits left out for want of a reading.
	Skipped  []string `json:"skipped,omitempty"`
	Estimate int64    `json:"estimate"` // the smallest MaxConns
	Binding  string   `json:"binding"`  // its Name
	Fix      *Fix     `json:"fix"`      // the binding constraint's Fix
	// Reachable is false when Target is above Estimate.
	Reachable bool `json:"reachable"`
}

// Check turns readings into the connections this host can hold. It reads
// nothing itself.
func Check(r Readings, o Options) Report {
	if o.Role == "" {
		o.Role = RoleServer
	}
	rep := Report{Role: o.Role, Target: o.Target, Readings: r,
		Budget: Budget{KernelBytes: KernelBytesPerConn, UserBytes: UserBytesPerConn}}
	for _, c := range constraints(o.Role) {
		if got, ok := c.limit(r); ok {
			got.Name = c.name
			rep.Constraints = append(rep.Constraints, got)
		} else {
			rep.Skipped = append(rep.Skipped, c.name+": "+c.missing)
		}
	}
	sort.SliceStable(rep.Constraints, func(i, j int) bool { return rep.Constraints[i].MaxConns < rep.Constraints[j].MaxConns })
	if len(rep.Constraints) == 0 {
		return rep
	}
	first := rep.Constraints[0]
	rep.Estimate, rep.Binding = max(first.MaxConns, 0), first.Name
	rep.Reachable = o.Target <= rep.Estimate
	for i := range rep.Constraints {
		c := &rep.Constraints[i]
		var forConns int64
		switch {
		case o.Target > c.MaxConns:
			forConns = o.Target
		case i == 0:
			forConns = nextLevel(rep.Constraints, c.MaxConns)
		default:
			continue
		}
		fix := fixFor(c.Name, r, forConns, c.MaxConns)
		c.Fix = &fix
	}
	rep.Fix = rep.Constraints[0].Fix
	return rep
}

// nextLevel is the smallest MaxConns above level: how far lifting the
// binding constraint alone can take the estimate. Twice level when no
// other constraint is above it.
func nextLevel(cs []Constraint, level int64) int64 {
	for _, c := range cs {
		if c.MaxConns > level {
			return c.MaxConns
		}
	}
	return max(2*level, 1)
}

type constraint struct {
	name    string
	missing string // why it may be skipped
	limit   func(Readings) (Constraint, bool)
}

func constraints(role Role) []constraint {
	cs := []constraint{
		{"open-files", "getrlimit failed", openFilesLimit},
		{"fs.nr_open", "/proc/sys/fs/nr_open not readable", sysctlLimit("fs.nr_open", "the most open files one process may be allowed")},
		{"fs.file-max", "/proc/sys/fs/file-max not readable", fileMaxLimit},
		{"fs.epoll.max_user_watches", "not on this kernel", sysctlLimit("fs.epoll.max_user_watches", "epoll registrations per user, shared with the user's other processes")},
		{"memory", "/proc/meminfo not readable", memoryLimit},
		{"net.ipv4.tcp_mem", "not visible in this network namespace (a host-wide key): run the check on the host", tcpMemLimit},
		{"net.netfilter.nf_conntrack_max", "nf_conntrack is not loaded: nothing is tracked", conntrackLimit},
	}
	if role == RoleClient {
		cs = append(cs, constraint{"ephemeral-ports", "net.ipv4.ip_local_port_range not readable", portsLimit})
	}
	return cs
}

func openFilesLimit(r Readings) (Constraint, bool) {
	hard := r.OpenFiles.Hard
	if hard <= 0 {
		return Constraint{}, false
	}
	if hard == math.MaxInt64 {
		return Constraint{MaxConns: hard, Math: "hard open-files limit: unlimited"}, true
	}
	return Constraint{MaxConns: hard - FDHeadroom, Math: fmt.Sprintf("hard open-files limit (RLIMIT_NOFILE) %s − %s headroom",
		Thousands(hard), Thousands(FDHeadroom))}, true
}

func sysctlLimit(key, what string) func(Readings) (Constraint, bool) {
	return func(r Readings) (Constraint, bool) {
		v, ok := r.sysctlInt(key, 0)
		if !ok {
			return Constraint{}, false
		}
		return Constraint{MaxConns: v - FDHeadroom, Math: fmt.Sprintf("%s %s (%s) − %s headroom", key, Thousands(v), what, Thousands(FDHeadroom))}, true
	}
}

func fileMaxLimit(r Readings) (Constraint, bool) {
	v, ok := r.sysctlInt("fs.file-max", 0)
	if !ok {
		return Constraint{}, false
	}
	used, _ := r.sysctlInt("fs.file-nr", 0)
	return Constraint{MaxConns: v - used - FDHeadroom, Math: fmt.Sprintf("fs.file-max %s − %s open on the host now (fs.file-nr) − %s headroom",
		Thousands(v), Thousands(used), Thousands(FDHeadroom))}, true
}

// memoryAvailable is what new connections may use: MemAvailable, or less
// when a cgroup limit leaves less.
func memoryAvailable(r Readings) (int64, string) {
	avail, from := r.MemAvailable, fmt.Sprintf("%s MemAvailable", BytesIEC(r.MemAvailable))
	if c := r.Cgroup; c != nil && c.Limit-c.Usage < avail {
		avail = max(c.Limit-c.Usage, 0)
		from = fmt.Sprintf("(cgroup v%d limit %s − %s in use)", c.Version, BytesIEC(c.Limit), BytesIEC(c.Usage))
	}
	return avail, from
}

func memoryLimit(r Readings) (Constraint, bool) {
	if r.MemTotal <= 0 {
		return Constraint{}, false
	}
	avail, from := memoryAvailable(r)
	return Constraint{MaxConns: avail / BytesPerConn, Math: fmt.Sprintf("%s / %s B per connection (%s kernel + %s wsgate)",
		from, Thousands(BytesPerConn), Thousands(KernelBytesPerConn), Thousands(UserBytesPerConn))}, true
}

func tcpMemLimit(r Readings) (Constraint, bool) {
	high, ok := r.sysctlInt("net.ipv4.tcp_mem", 2)
	if !ok || r.PageSize <= 0 {
		return Constraint{}, false
	}
	perSock := max(TCPMemBytesPerSocket, r.PageSize)
	return Constraint{MaxConns: high * r.PageSize / perSock, Math: fmt.Sprintf("tcp_mem high %s pages × %s B / %s B, the least a socket with queued data is charged (a broadcast backlogs every subscriber)",
		Thousands(high), Thousands(r.PageSize), Thousands(perSock))}, true
}

func conntrackLimit(r Readings) (Constraint, bool) {
	v, ok := r.sysctlInt("net.netfilter.nf_conntrack_max", 0)
	if !ok {
		return Constraint{}, false
	}
	inUse, _ := r.sysctlInt("net.netfilter.nf_conntrack_count", 0)
	return Constraint{MaxConns: v, Math: fmt.Sprintf("nf_conntrack_max %s entries, one per tracked connection (%s in use now)",
		Thousands(v), Thousands(inUse))}, true
}

func portsLimit(r Readings) (Constraint, bool) {
	f, ok := r.sysctlFields("net.ipv4.ip_local_port_range")
	if !ok || len(f) != 2 {
		return Constraint{}, false
	}
	reserved := reservedInRange(r.Sysctl["net.ipv4.ip_local_reserved_ports"], f[0], f[1])
	ports, addrs := f[1]-f[0]+1-reserved, int64(r.LocalAddrs.Usable())
	return Constraint{MaxConns: ports * addrs, Math: fmt.Sprintf("(%s − %s + 1 − %s reserved) ports × %d source addresses, towards one server address and port",
		Thousands(f[1]), Thousands(f[0]), Thousands(reserved), addrs)}, true
}
