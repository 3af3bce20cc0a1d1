package tuning

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// noLimit is the smallest value treated as "no limit": cgroup v1 writes
// unlimited as a page-aligned LONG_MAX (9223372036854771712).
const noLimit = 1 << 62

// cgroupMemory finds the tightest memory limit on the way from this
// process's cgroup up to the root of its hierarchy, in cgroup v2
// (memory.max) or v1 (memory.limit_in_bytes), whichever is mounted with
// the memory controller. nil without a limit.
func (h Host) cgroupMemory() (*CgroupMemory, error) {
	self, err := os.ReadFile(h.path("/proc/self/cgroup"))
	if err != nil {
		return nil, err
	}
	mounts, err := os.ReadFile(h.path("/proc/self/mountinfo"))
	if err != nil {
		return nil, err
	}
	var best *CgroupMemory
	for _, line := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		// "0::/path" for v2; "4:memory:/path" for v1.
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		var version int
		var limitFile, usageFile string
		switch {
		case f[0] == "0" && f[1] == "":
			version, limitFile, usageFile = 2, "memory.max", "memory.current"
		case hasController(f[1], "memory"):
			version, limitFile, usageFile = 1, "memory.limit_in_bytes", "memory.usage_in_bytes"
		default:
			continue
		}
		mountPoint, dir, ok := cgroupDir(string(mounts), version, f[2])
		if !ok {
			continue
		}
		if m := h.tightest(mountPoint, dir, limitFile, usageFile, version); m != nil && (best == nil || m.Limit < best.Limit) {
			best = m
		}
	}
	return best, nil
}

// tightest walks from dir up to the hierarchy's mount point and returns
// the smallest limit found; v2's root has no memory.max, v1's is unlimited.
func (h Host) tightest(mountPoint, dir, limitFile, usageFile string, version int) *CgroupMemory {
	var best *CgroupMemory
	for d := dir; ; d = filepath.Dir(d) {
		limit, err := readCgroupInt(h.path(filepath.Join(d, limitFile)))
		if err == nil && limit < noLimit && (best == nil || limit < best.Limit) {
			usage, _ := readCgroupInt(h.path(filepath.Join(d, usageFile)))
			best = &CgroupMemory{Version: version, File: filepath.Join(d, limitFile), Limit: limit, Usage: usage}
		}
		if d == mountPoint || d == filepath.Dir(d) {
			return best
		}
	}
}

// cgroupDir maps a cgroup path to the hierarchy's mount point and the
// cgroup's directory under it, from /proc/self/mountinfo lines such as
// "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory".
func cgroupDir(mountinfo string, version int, cgPath string) (mountPoint, dir string, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader([]byte(mountinfo)))
	for sc.Scan() {
		pre, post, found := strings.Cut(sc.Text(), " - ")
		if !found {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		root, mnt, fsType, superOpts := pf[3], pf[4], qf[0], qf[2]
		if version == 2 && fsType != "cgroup2" || version == 1 && (fsType != "cgroup" || !hasController(superOpts, "memory")) {
			continue
		}
		rel, err := filepath.Rel(root, cgPath)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // our cgroup is outside what this mount shows
		}
		return mnt, filepath.Join(mnt, rel), true
	}
	return "", "", false
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

func readCgroupInt(p string) (int64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return noLimit, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", p, s)
	}
	return n, nil
}
