package tuning

import (
	"fmt"
	"strings"
	"testing"
)

// bigHost is a host where nothing binds below a million connections.
func bigHost() Readings {
	return Readings{
		Kernel: "6.1.0-test", PageSize: 4096,
		OpenFiles: Rlimit{Soft: 4_000_000, Hard: 4_000_000},
		MemTotal:  64 << 30, MemAvailable: 60 << 30,
		Sysctl: map[string]string{
			"fs.nr_open":                   "4194304",
			"fs.file-max":                  "9223372036854775807",
			"fs.file-nr":                   "2000 0 9223372036854775807",
			"fs.epoll.max_user_watches":    "30000000",
			"net.ipv4.tcp_mem":             "3000000 6000000 9000000",
			"net.ipv4.ip_local_port_range": "10000 65535",
		},
		LocalAddrs: LocalAddrs{IPv4: 100},
	}
}

func TestCheckBindingConstraint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		role     Role
		change   func(*Readings)
		binding  string
		estimate int64
	}{
		{"open files", RoleServer, func(r *Readings) { r.OpenFiles = Rlimit{Soft: 20000, Hard: 20000} }, "open-files", 18976},
		{"nr_open", RoleServer, func(r *Readings) { r.Sysctl["fs.nr_open"] = "1048576" }, "fs.nr_open", 1047552},
		{"file-max", RoleServer, func(r *Readings) { r.Sysctl["fs.file-max"] = "500000" }, "fs.file-max", 500000 - 2000 - 1024},
		{"epoll watches", RoleServer, func(r *Readings) { r.Sysctl["fs.epoll.max_user_watches"] = "800000" }, "fs.epoll.max_user_watches", 798976},
		{"MemAvailable", RoleServer, func(r *Readings) { r.MemAvailable = 6 << 30 }, "memory", (6 << 30) / BytesPerConn},
		{"cgroup", RoleServer, func(r *Readings) { r.Cgroup = &CgroupMemory{Version: 2, Limit: 2 << 30, Usage: 1 << 30} }, "memory", (1 << 30) / BytesPerConn},
		{"tcp_mem", RoleServer, func(r *Readings) { r.Sysctl["net.ipv4.tcp_mem"] = "100000 200000 300000" }, "net.ipv4.tcp_mem", 300000},
		{"tcp_mem 64k pages", RoleServer, func(r *Readings) { r.PageSize = 65536; r.Sysctl["net.ipv4.tcp_mem"] = "10000 20000 30000" }, "net.ipv4.tcp_mem", 30000},
		{"conntrack", RoleServer, func(r *Readings) { r.Sysctl["net.netfilter.nf_conntrack_max"] = "262144" }, "net.netfilter.nf_conntrack_max", 262144},
		{"ports ignored for servers", RoleServer, func(r *Readings) { r.LocalAddrs.IPv4 = 1 }, "open-files", 4_000_000 - 1024},
		{"ports", RoleClient, func(r *Readings) {
			r.LocalAddrs.IPv4 = 2
			r.Sysctl["net.ipv4.ip_local_port_range"] = "32768 60999"
			r.Sysctl["net.ipv4.ip_local_reserved_ports"] = "40000-40009"
		}, "ephemeral-ports", 2 * (60999 - 32768 + 1 - 10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bigHost()
			tc.change(&r)
			rep := Check(r, Options{Role: tc.role})
			if rep.Binding != tc.binding || rep.Estimate != tc.estimate {
				t.Fatalf("binding %s at %d, want %s at %d\n%+v", rep.Binding, rep.Estimate, tc.binding, tc.estimate, rep.Constraints)
			}
			if rep.Fix == nil || rep.Fix != rep.Constraints[0].Fix || rep.Fix.Change == "" {
				t.Fatalf("no fix for the binding constraint: %+v", rep.Fix)
			}
			next := rep.Constraints[1].MaxConns
			if rep.Fix.For != next {
				t.Errorf("without a target the fix is sized for %d, want the next constraint's %d", rep.Fix.For, next)
			}
			for _, c := range rep.Constraints[1:] {
				if c.Fix != nil {
					t.Errorf("%s is not binding and no target was asked, but has a fix", c.Name)
				}
			}
		})
	}
}

// TestCheckFixLifts applies each constraint's fix to the readings and
// checks the constraint then allows the target: the fix is the exact change.
func TestCheckFixLifts(t *testing.T) {
	const target = 5_000_000
	r := bigHost()
	r.OpenFiles = Rlimit{Soft: 20000, Hard: 20000}
	r.Sysctl["fs.nr_open"] = "1048576"
	r.Sysctl["fs.file-max"] = "2466170"
	r.Sysctl["fs.epoll.max_user_watches"] = "800000"
	r.Sysctl["net.ipv4.tcp_mem"] = "287898 383867 575796"
	r.Sysctl["net.netfilter.nf_conntrack_max"] = "262144"
	r.Sysctl["net.ipv4.ip_local_port_range"] = "32768 60999"
	r.LocalAddrs = LocalAddrs{IPv4: 2}
	r.Cgroup = &CgroupMemory{Version: 1, File: "/sys/fs/cgroup/memory/x/memory.limit_in_bytes", Limit: 8 << 30, Usage: 1 << 30}
	rep := Check(r, Options{Target: target, Role: RoleClient})
	if rep.Reachable {
		t.Fatalf("target %d reachable with estimate %d", target, rep.Estimate)
	}
	if len(rep.Constraints) != 8 || len(rep.Skipped) != 0 {
		t.Fatalf("want all 8 constraints evaluated: %v, skipped %v", names(rep.Constraints), rep.Skipped)
	}
	for _, c := range rep.Constraints {
		if c.MaxConns >= target {
			continue
		}
		if c.Fix == nil || c.Fix.For != target || len(c.Fix.Commands) == 0 {
			t.Errorf("%s (%d) is below the target but its fix is %+v", c.Name, c.MaxConns, c.Fix)
			continue
		}
		fixed := applyFix(t, r, c.Fix)
		after := Check(fixed, Options{Target: target, Role: RoleClient})
		for _, c2 := range after.Constraints {
			if c2.Name == c.Name && c2.MaxConns < target {
				t.Errorf("%s: after %q it allows %d, below the target %d", c.Name, c.Fix.Change, c2.MaxConns, target)
			}
		}
	}
}

// applyFix makes the change a Fix describes on a copy of the readings.
func applyFix(t *testing.T, r Readings, f *Fix) Readings {
	t.Helper()
	out := r
	out.Sysctl = map[string]string{}
	for k, v := range r.Sysctl {
		out.Sysctl[k] = v
	}
	var n int64
	switch f.Key {
	case "RLIMIT_NOFILE":
		fmt.Sscan(f.Value, &n)
		out.OpenFiles = Rlimit{Soft: n, Hard: n}
	case "memory":
		fmt.Sscan(f.Value, &n)
		c := *r.Cgroup
		c.Limit = n
		out.Cgroup = &c
	case "net.ipv4.ip_local_port_range":
		out.Sysctl[f.Key] = f.Value
		var lo, hi int64
		fmt.Sscan(f.Value, &lo, &hi)
		out.LocalAddrs.IPv4 = int(ceilDiv(f.For, hi-lo+1))
	default:
		if _, ok := r.Sysctl[f.Key]; !ok {
			t.Fatalf("fix changes %s, which was not read", f.Key)
		}
		out.Sysctl[f.Key] = f.Value
	}
	return out
}

func names(cs []Constraint) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestCheckTargetReachable(t *testing.T) {
	rep := Check(bigHost(), Options{Target: 1_000_000})
	if !rep.Reachable || rep.Role != RoleServer {
		t.Fatalf("1m on a big host: reachable %v, role %s, estimate %d", rep.Reachable, rep.Role, rep.Estimate)
	}
	for _, c := range rep.Constraints[1:] {
		if c.Fix != nil {
			t.Errorf("%s allows the target but carries a fix", c.Name)
		}
	}
}

// TestCheckSkipsMissingReadings: a host-wide key hidden from a container's
// network namespace, or conntrack not loaded, leaves that limit out and
// says why.
func TestCheckSkipsMissingReadings(t *testing.T) {
	r := bigHost()
	delete(r.Sysctl, "net.ipv4.tcp_mem")
	rep := Check(r, Options{})
	joined := strings.Join(rep.Skipped, "\n")
	for _, want := range []string{"net.ipv4.tcp_mem: not visible in this network namespace", "net.netfilter.nf_conntrack_max: nf_conntrack is not loaded"} {
		if !strings.Contains(joined, want) {
			t.Errorf("skipped %q, want %q", joined, want)
		}
	}
}

func TestOpenFilesFixMentionsNrOpenAndProcesses(t *testing.T) {
	r := bigHost()
	r.OpenFiles = Rlimit{Soft: 20000, Hard: 20000}
	r.Sysctl["fs.nr_open"] = "1048576"
	rep := Check(r, Options{Target: 2_000_000})
	fix := rep.Constraints[0].Fix
	all := strings.Join(fix.Commands, "\n")
	for _, want := range []string{
		"sysctl -w fs.nr_open=2097152",
		"LimitNOFILE=2001024",
		"ulimit -n 2001024",
		"run 106 processes of up to 18,976 connections each",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("open-files fix lacks %q:\n%s", want, all)
		}
	}
}

func ExampleCheck() {
	r := Readings{
		PageSize:  4096,
		OpenFiles: Rlimit{Soft: 20000, Hard: 20000},
		MemTotal:  24 << 30, MemAvailable: 23 << 30,
		Sysctl: map[string]string{
			"fs.nr_open":                "1048576",
			"fs.file-max":               "2466170",
			"fs.file-nr":                "449 0 2466170",
			"fs.epoll.max_user_watches": "5491511",
			"net.ipv4.tcp_mem":          "287898 383867 575796",
		},
	}
	rep := Check(r, Options{Target: 100_000})
	fmt.Println(rep.Binding, rep.Estimate, rep.Reachable)
	fmt.Println(rep.Fix.Change)
	// Output:
	// open-files 18976 false
	// raise the hard open-files limit from 20,000 to 101,024 (100,000 connections + 1,024 headroom)
}
