package bench

import (
	"os"
	"testing"
	"time"
)

// TestPreciseCPUIsFinerThanATick: the CPU a process used is read to
// better than /proc/PID/stat's 10 ms ticks, which idle figures need. A
// few milliseconds burnt show as such, not as 0 or 10 ms.
func TestPreciseCPUIsFinerThanATick(t *testing.T) {
	pid := os.Getpid()
	read := func() int64 {
		s, err := SampleProc(pid)
		if err != nil {
			t.Fatal(err)
		}
		return s.CPUNanos
	}
	before := read()
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for read()-before < 2e6 && time.Now().Before(deadline) {
		for i := range 100_000 {
			x += i
		}
	}
	if used := read() - before; used%int64(10*time.Millisecond) == 0 {
		t.Fatalf("%d ns used: a whole number of 10 ms ticks (%d), so the reading is not finer than /proc/PID/stat", used, x)
	}
}
