package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// wsgate --cpuprofile --memprofile, as make bench runs it: SIGUSR1 writes
// the heap while clients are connected, the stop keeps that snapshot, and
// the CPU profile covers the run; go tool pprof reads both against the
// binary.
func TestProfileFlagsWriteProfilesPprofReads(t *testing.T) {
	dir := t.TempDir()
	cpu, heap := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "heap.prof")
	n := startNode(t, "--cpuprofile", cpu, "--memprofile", heap, "--drain-window", "200ms", "--close-timeout", "500ms")
	for range 20 {
		c, err := wstest.Dial(n.url("/ws?channels=prof"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	if err := n.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the heap profile after SIGUSR1", func() bool {
		return strings.Contains(n.Stderr(), "heap profile written")
	})
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := n.wait(t, 30*time.Second); err != nil {
		t.Fatalf("wsgate exited with %v", err)
	}
	if got := strings.Count(n.Stderr(), "heap profile written"); got != 1 {
		t.Errorf("heap profile written %d times, want once (on SIGUSR1, kept at the stop)", got)
	}
	for _, tc := range []struct{ file, sample, want string }{
		{cpu, "cpu", "Type: cpu"},
		{heap, "inuse_space", "Type: inuse_space"},
	} {
		out, err := exec.Command("go", "tool", "pprof", "-top", "-sample_index="+tc.sample, bin("wsgate"), tc.file).CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("go tool pprof %s: %v\n%s", tc.file, err, out)
		}
	}
}
