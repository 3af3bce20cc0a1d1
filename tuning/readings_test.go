package tuning

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeHost builds a /proc and /sys tree under a temporary root.
func fakeHost(t *testing.T, files map[string]string) Host {
	t.Helper()
	root := t.TempDir()
	for p, text := range files {
		writeFile(t, filepath.Join(root, p), text)
	}
	return Host{
		Root:      root,
		OpenFiles: func() (Rlimit, error) { return Rlimit{Soft: 20000, Hard: 20000}, nil },
		Addrs: func() ([]Addr, error) {
			return []Addr{{Interface: "lo", Prefix: netip.MustParsePrefix("127.0.0.1/8")}}, nil
		},
		Kernel: func() string { return "6.1.0-test" },
	}
}

const meminfo = "MemTotal:       16384000 kB\nMemFree:         1000 kB\nMemAvailable:   8192000 kB\n"

func TestReadFakeHost(t *testing.T) {
	h := fakeHost(t, map[string]string{
		"/proc/meminfo":                                             meminfo,
		"/proc/sys/fs/file-max":                                     "9223372036854775807\n",
		"/proc/sys/fs/file-nr":                                      "1184\t0\t9223372036854775807\n",
		"/proc/sys/net/ipv4/tcp_mem":                                "190000\t254000\t381000\n",
		"/proc/sys/net/ipv4/ip_local_port_range":                    "32768\t60999\n",
		"/proc/self/cgroup":                                         "0::/system.slice/wsgate.service\n",
		"/proc/self/mountinfo":                                      "29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
		"/sys/fs/cgroup/system.slice/memory.max":                    "max\n",
		"/sys/fs/cgroup/system.slice/wsgate.service/memory.max":     "2147483648\n",
		"/sys/fs/cgroup/system.slice/wsgate.service/memory.current": "104857600\n",
	})
	r, err := h.Read()
	if err != nil {
		t.Fatal(err)
	}
	if r.MemTotal != 16384000*1024 || r.MemAvailable != 8192000*1024 {
		t.Errorf("meminfo: total %d available %d", r.MemTotal, r.MemAvailable)
	}
	if got := r.Sysctl["net.ipv4.tcp_mem"]; got != "190000 254000 381000" {
		t.Errorf("tcp_mem %q: want fields joined by one space", got)
	}
	if v, ok := r.sysctlInt("fs.file-max", 0); !ok || v != math.MaxInt64 {
		t.Errorf("fs.file-max = %d, %v", v, ok)
	}
	if _, ok := r.Sysctl["net.netfilter.nf_conntrack_max"]; ok {
		t.Error("conntrack read from a tree without it")
	}
	want := &CgroupMemory{Version: 2, File: "/sys/fs/cgroup/system.slice/wsgate.service/memory.max", Limit: 2 << 30, Usage: 100 << 20}
	if r.Cgroup == nil || *r.Cgroup != *want {
		t.Errorf("cgroup = %+v, want %+v", r.Cgroup, want)
	}
	if r.OpenFiles.Hard != 20000 || r.Kernel != "6.1.0-test" || r.LocalAddrs.IPv4 != 1 {
		t.Errorf("readings %+v", r)
	}
}

// TestCgroupTightestAncestor: a parent's limit below the child's binds;
// cgroup v1 writes "unlimited" as a page-aligned LONG_MAX.
func TestCgroupTightestAncestor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64 // 0: no limit
	}{
		{"v2 parent", map[string]string{
			"/proc/self/cgroup":                 "0::/a/b\n",
			"/proc/self/mountinfo":              "29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"/sys/fs/cgroup/a/memory.max":       "1073741824\n",
			"/sys/fs/cgroup/a/b/memory.max":     "max\n",
			"/sys/fs/cgroup/a/b/memory.current": "1\n",
		}, 1 << 30},
		{"v1 unlimited", map[string]string{
			"/proc/self/cgroup":    "4:memory:/process_api/x\n0::/\n",
			"/proc/self/mountinfo": "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n",
			"/sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes": "9223372036854771712\n",
			"/sys/fs/cgroup/memory/memory.limit_in_bytes":               "9223372036854771712\n",
		}, 0},
		{"v1 limited", map[string]string{
			"/proc/self/cgroup":                             "4:memory:/x\n",
			"/proc/self/mountinfo":                          "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
			"/sys/fs/cgroup/memory/x/memory.limit_in_bytes": "536870912\n",
			"/sys/fs/cgroup/memory/x/memory.usage_in_bytes": "1048576\n",
		}, 512 << 20},
		{"container, host cgroup namespace", map[string]string{
			"/proc/self/cgroup":         "0::/docker/abc\n",
			"/proc/self/mountinfo":      "29 23 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup rw\n",
			"/sys/fs/cgroup/memory.max": "268435456\n",
		}, 256 << 20},
		{"container, own cgroup namespace", map[string]string{
			"/proc/self/cgroup":         "0::/\n",
			"/proc/self/mountinfo":      "29 23 0:26 / /sys/fs/cgroup ro - cgroup2 cgroup rw\n",
			"/sys/fs/cgroup/memory.max": "268435456\n",
		}, 256 << 20},
		{"mount shows another subtree", map[string]string{
			"/proc/self/cgroup":         "0::/elsewhere\n",
			"/proc/self/mountinfo":      "29 23 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup rw\n",
			"/sys/fs/cgroup/memory.max": "268435456\n",
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := fakeHost(t, tc.files).cgroupMemory()
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == 0 && m != nil:
				t.Errorf("limit %+v, want none", m)
			case tc.want != 0 && (m == nil || m.Limit != tc.want):
				t.Errorf("limit %+v, want %d", m, tc.want)
			}
		})
	}
}

func TestCountAddrs(t *testing.T) {
	p := netip.MustParsePrefix
	base := []Addr{
		{"lo", p("127.0.0.1/8")}, {"lo", p("::1/128")},
		{"eth0", p("192.0.2.2/24")}, {"eth0", p("fd00::2/64")}, {"eth0", p("fe80::1/64")},
	}
	got := countAddrs(base)
	if got.IPv4 != 2 || got.IPv6 != 2 || got.Usable() != 2 {
		t.Errorf("countAddrs = %+v: want 2 IPv4 (127.0.0.0/8 once), 2 IPv6 (no link-local)", got)
	}
	got = countAddrs(append(base, Addr{"lo", p("127.0.0.2/8")}, Addr{"lo", p("127.0.0.3/8")}))
	if got.IPv4 != 4 {
		t.Errorf("extra loopback addresses: IPv4 = %d, want 4", got.IPv4)
	}
}

func TestReservedInRange(t *testing.T) {
	for _, tc := range []struct {
		list   string
		lo, hi int64
		want   int64
	}{
		{"", 32768, 60999, 0},
		{"8080", 32768, 60999, 0},
		{"40000", 32768, 60999, 1},
		{"8080,40000-40009,60990-61010", 32768, 60999, 20},
	} {
		if got := reservedInRange(tc.list, tc.lo, tc.hi); got != tc.want {
			t.Errorf("reservedInRange(%q, %d, %d) = %d, want %d", tc.list, tc.lo, tc.hi, got, tc.want)
		}
	}
}

// TestReadLive reads this machine and compares a few values with the
// sources.
func TestReadLive(t *testing.T) {
	r, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if r.OpenFiles.Hard != rlim(l.Max) || r.OpenFiles.Soft != rlim(l.Cur) {
		t.Errorf("open files %+v, getrlimit %+v", r.OpenFiles, l)
	}
	if got := r.Sysctl["fs.file-max"]; got != procSys(t, "fs.file-max") {
		t.Errorf("fs.file-max %q, /proc says %q", got, procSys(t, "fs.file-max"))
	}
	if r.MemTotal <= 0 || r.MemAvailable <= 0 || r.MemAvailable > r.MemTotal {
		t.Errorf("memory: total %d available %d", r.MemTotal, r.MemAvailable)
	}
	if r.LocalAddrs.IPv4 < 1 {
		t.Errorf("no IPv4 address found (loopback at least): %+v", r.LocalAddrs)
	}
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	if r.Kernel != strings.TrimSpace(string(b)) {
		t.Errorf("kernel %q, /proc says %q", r.Kernel, b)
	}
}
