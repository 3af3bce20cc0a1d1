package tuning

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Readings are the live values the checker works from. Sizes are bytes.
type Readings struct {
	Kernel   string `json:"kernel"`    // uname release
	PageSize int64  `json:"page_size"` // the unit of net.ipv4.tcp_mem
	// OpenFiles is RLIMIT_NOFILE of the reading process. The Go runtime
	// raises the soft limit to the hard one at start-up, so the hard limit
	// is what binds a wsgate process started the same way.
	OpenFiles    Rlimit `json:"open_files"`
	MemTotal     int64  `json:"mem_total"`     // /proc/meminfo MemTotal
	MemAvailable int64  `json:"mem_available"` // /proc/meminfo MemAvailable
	// Cgroup is the tightest memory limit of the process's cgroup and its
	// ancestors; nil when there is none.
	Cgroup *CgroupMemory `json:"cgroup_memory"`
	// Sysctl holds every key of tuning/keys.conf this kernel shows in this
	// network namespace, plus fs.file-nr, net.ipv4.ip_local_reserved_ports
	// and net.netfilter.nf_conntrack_count, with fields separated by one
	// space. A missing key is not on this kernel, not loaded (conntrack), or
	// host-wide and hidden from this network namespace.
	Sysctl map[string]string `json:"sysctl"`
	// LocalAddrs are the addresses a client can connect from (client role).
	LocalAddrs LocalAddrs `json:"local_addrs"`
	// Notes say what could not be read and was left out of the estimate.
	Notes []string `json:"notes,omitempty"`
}

// Rlimit is a resource limit; math.MaxInt64 stands for unlimited.
type Rlimit struct {
	Soft int64 `json:"soft"`
	Hard int64 `json:"hard"`
}

// CgroupMemory is a cgroup memory limit.
type CgroupMemory struct {
	Version int    `json:"version"` // 1 or 2
	File    string `json:"file"`    // the file holding the limit
	Limit   int64  `json:"limit"`
	Usage   int64  `json:"usage"` // charged to that cgroup now
}

// Host says where to read from. The zero value reads this process and
// host; tests point Root at a fake tree and replace the calls.
type Host struct {
	// Root is prefixed to /proc and /sys paths. Default "/".
	Root string
	// OpenFiles returns RLIMIT_NOFILE. Default: getrlimit for this process.
	OpenFiles func() (Rlimit, error)
	// Addrs returns the addresses of the interfaces that are up, as CIDR
	// strings. Default: net.Interfaces.
	Addrs func() ([]Addr, error)
	// Kernel returns the kernel release. Default: uname.
	Kernel func() string
}

// extraKeys are read besides keys.conf's.
var extraKeys = []string{"fs.file-nr", "net.ipv4.ip_local_reserved_ports", "net.netfilter.nf_conntrack_count"}

// Read gathers the readings. It fails only when /proc/meminfo or the
// open-files limit cannot be read; anything else missing becomes a note.
func (h Host) Read() (Readings, error) {
	r := Readings{PageSize: int64(os.Getpagesize()), Sysctl: map[string]string{}}
	r.Kernel = h.kernel()
	var err error
	if r.OpenFiles, err = h.openFiles(); err != nil {
		return r, fmt.Errorf("tuning: open-files limit: %w", err)
	}
	if err := h.readMeminfo(&r); err != nil {
		return r, fmt.Errorf("tuning: %w", err)
	}
	names := append([]string{}, extraKeys...)
	for _, k := range Keys() {
		names = append(names, k.Name)
	}
	for _, name := range names {
		b, err := os.ReadFile(h.path("/proc/sys/" + strings.ReplaceAll(name, ".", "/")))
		if err != nil {
			continue // absent: see Readings.Sysctl
		}
		r.Sysctl[name] = strings.Join(strings.Fields(string(b)), " ")
	}
	if r.Cgroup, err = h.cgroupMemory(); err != nil {
		r.Notes = append(r.Notes, "cgroup memory limit: "+err.Error())
	}
	if r.LocalAddrs, err = h.localAddrs(); err != nil {
		r.Notes = append(r.Notes, "local addresses: "+err.Error())
	}
	return r, nil
}

// Read gathers the readings of this process and host.
func Read() (Readings, error) { return Host{}.Read() }

func (h Host) path(p string) string {
	if h.Root == "" {
		return p
	}
	return filepath.Join(h.Root, p)
}

func (h Host) kernel() string {
	if h.Kernel != nil {
		return h.Kernel()
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func (h Host) openFiles() (Rlimit, error) {
	if h.OpenFiles != nil {
		return h.OpenFiles()
	}
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return Rlimit{}, err
	}
	return Rlimit{Soft: rlim(l.Cur), Hard: rlim(l.Max)}, nil
}

func rlim(v uint64) int64 {
	if v == unix.RLIM_INFINITY || v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

func (h Host) readMeminfo(r *Readings) error {
	b, err := os.ReadFile(h.path("/proc/meminfo"))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text()) // "MemTotal:       24684084 kB"
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		if len(f) == 3 && f[2] == "kB" {
			v *= 1024
		}
		switch f[0] {
		case "MemTotal:":
			r.MemTotal = v
		case "MemAvailable:":
			r.MemAvailable = v
		}
	}
	if r.MemTotal == 0 {
		return fmt.Errorf("/proc/meminfo: no MemTotal")
	}
	if r.MemAvailable == 0 { // kernels before 3.14
		r.MemAvailable = r.MemTotal
		r.Notes = append(r.Notes, "no MemAvailable in /proc/meminfo: using MemTotal")
	}
	return nil
}

// sysctlFields returns a sysctl value's fields as numbers; ok is false when
// the key was not read or a field is not a number.
func (r Readings) sysctlFields(key string) ([]int64, bool) {
	v, ok := r.Sysctl[key]
	if !ok {
		return nil, false
	}
	var out []int64
	for _, f := range strings.Fields(v) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

// sysctlInt returns field i of a sysctl value.
func (r Readings) sysctlInt(key string, i int) (int64, bool) {
	f, ok := r.sysctlFields(key)
	if !ok || i >= len(f) {
		return 0, false
	}
	return f[i], true
}
