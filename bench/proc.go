package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat. Linux
// fixes it at 100 for user space on every architecture Go supports.
const clockTicks = 100

// ProcSample is one reading of a process's resource use.
type ProcSample struct {
	At       time.Time `json:"at"`
	CPUNanos int64     `json:"cpu_ns"`    // user + system time, all threads, since start
	RSS      int64     `json:"rss_bytes"` // resident set size
}

// SampleProc reads pid's CPU time and RSS from /proc: CPU from its threads'
// own clocks (preciseCPU: nanoseconds), RSS from VmRSS in
// /proc/PID/status.
func SampleProc(pid int) (ProcSample, error) {
	s := ProcSample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may hold spaces; fields after it follow
	// the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("bench: /proc/%d/stat: no ')'", pid)
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return s, fmt.Errorf("bench: /proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("bench: /proc/%d/stat: bad utime/stime", pid)
	}
	s.CPUNanos = preciseCPU(pid, (utime+stime)*int64(time.Second/clockTicks))
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	kb, err := statusField(status, "VmRSS:")
	s.RSS = kb << 10
	return s, err
}

// preciseCPU is pid's CPU time in nanoseconds: the sum of its threads'
// run time (/proc/PID/task/*/schedstat), which idle figures need (15,000
// idle connections may cost less than one 10 ms tick over a 20 s hold).
// Threads that have exited are only in utime+stime of /proc/PID/stat
// (ticks, 10 ms each): when those exceed the sum by more than a tick, it
// returns ticks instead.
func preciseCPU(pid int, ticks int64) int64 {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return ticks
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread exited meanwhile
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			sum += n
		}
	}
	if sum+int64(time.Second/clockTicks) < ticks {
		return ticks
	}
	return sum
}

// SampleProcs sums SampleProc over several processes (the nodes of a
// cluster on one host).
func SampleProcs(pids []int) (ProcSample, error) {
	return sampleProcsSince(pids, nil)
}

// sampleProcsSince is SampleProcs that outlives a process: with last (the
// previous sample of each pid, updated here), a process that has exited
// counts with the CPU of its last sample, which it did use, and no memory.
func sampleProcsSince(pids []int, last map[int]ProcSample) (ProcSample, error) {
	total := ProcSample{At: time.Now()}
	for _, pid := range pids {
		s, err := SampleProc(pid)
		if err != nil {
			prev, ok := last[pid]
			if !ok {
				return total, err
			}
			total.CPUNanos += prev.CPUNanos
			continue
		}
		if last != nil {
			last[pid] = s
		}
		total.CPUNanos += s.CPUNanos
		total.RSS += s.RSS
	}
	return total, nil
}

// selfUsage is this process's CPU time with nanosecond-ish resolution
// (getrusage) and its RSS.
func selfUsage() ProcSample {
	s := ProcSample{At: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.CPUNanos = ru.Utime.Nano() + ru.Stime.Nano()
	}
	if statm, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(statm)); len(f) > 1 {
			pages, _ := strconv.ParseInt(f[1], 10, 64)
			s.RSS = pages * int64(os.Getpagesize())
		}
	}
	return s
}

// KernelSample is the host's kernel memory that grows with sockets.
type KernelSample struct {
	SlabBytes   int64 `json:"slab_bytes"`    // Slab in /proc/meminfo
	TCPMemBytes int64 `json:"tcp_mem_bytes"` // TCP "mem" pages in /proc/net/sockstat
	TCPInUse    int64 `json:"tcp_inuse"`
}

// SampleKernel reads /proc/meminfo and /proc/net/sockstat.
func SampleKernel() (KernelSample, error) {
	var k KernelSample
	mi, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return k, err
	}
	slab, err := statusField(mi, "Slab:")
	if err != nil {
		return k, err
	}
	k.SlabBytes = slab << 10
	ss, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return k, err
	}
	for _, line := range strings.Split(string(ss), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseInt(f[i+1], 10, 64)
			switch f[i] {
			case "inuse":
				k.TCPInUse = v
			case "mem":
				k.TCPMemBytes = v * int64(os.Getpagesize())
			}
		}
	}
	return k, nil
}

// statusField reads "Name:   123 kB" style lines.
func statusField(b []byte, name string) (int64, error) {
	i := bytes.Index(b, []byte(name))
	if i < 0 {
		return 0, fmt.Errorf("bench: no %s field", name)
	}
	f := strings.Fields(string(b[i+len(name) : i+len(name)+min(64, len(b)-i-len(name))]))
	if len(f) == 0 {
		return 0, fmt.Errorf("bench: empty %s field", name)
	}
	return strconv.ParseInt(f[0], 10, 64)
}

// SampleHostBusy reads the whole host's busy CPU time (every CPU's time
// other than idle and iowait) from the first line of /proc/stat.
func SampleHostBusy() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, fmt.Errorf("bench: /proc/stat: unexpected %q", line)
	}
	var busy int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc/stat: %w", err)
		}
		// user nice system idle iowait irq softirq steal guest guest_nice;
		// guest time is already counted in user.
		if i == 3 || i == 4 || i >= 8 {
			continue
		}
		busy += n
	}
	return busy * int64(time.Second/clockTicks), nil
}
