package tuning

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Item is one reading, for display.
type Item struct {
	Name   string // what was read
	Value  string
	Source string // where it came from
}

// Items lists the readings in display order: process and memory first,
// then every sysctl key read, by name, and the keys.conf keys not present.
func (r Readings) Items() []Item {
	items := []Item{
		{"open files", fmt.Sprintf("soft %s, hard %s", limit(r.OpenFiles.Soft), limit(r.OpenFiles.Hard)), "getrlimit(RLIMIT_NOFILE), this process"},
		{"memory", fmt.Sprintf("total %s, available %s", BytesIEC(r.MemTotal), BytesIEC(r.MemAvailable)), "/proc/meminfo"},
		{"cgroup memory limit", "none", "/proc/self/cgroup, /proc/self/mountinfo"},
		{"page size", Thousands(r.PageSize) + " B", "getpagesize"},
		{"local addresses", fmt.Sprintf("IPv4 %d, IPv6 %d: %s", r.LocalAddrs.IPv4, r.LocalAddrs.IPv6, strings.Join(r.LocalAddrs.List, ", ")), "interfaces that are up"},
	}
	if c := r.Cgroup; c != nil {
		items[2].Value = fmt.Sprintf("%s (cgroup v%d), %s in use", BytesIEC(c.Limit), c.Version, BytesIEC(c.Usage))
		items[2].Source = c.File
	}
	var keys []string
	for k := range r.Sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := r.Sysctl[k]
		if v == "" {
			v = "(empty)"
		}
		items = append(items, Item{k, v, "/proc/sys/" + strings.ReplaceAll(k, ".", "/")})
	}
	for _, k := range Keys() {
		if _, ok := r.Sysctl[k.Name]; !ok {
			items = append(items, Item{k.Name, "not present", "not on this kernel, not loaded, or host-wide and hidden from this network namespace"})
		}
	}
	return items
}

func limit(n int64) string {
	if n == math.MaxInt64 {
		return "unlimited"
	}
	return Thousands(n)
}
