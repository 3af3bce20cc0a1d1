package testkit

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("TESTKIT_HELPER") != "" {
		os.Exit(m.Run()) // a child of child: one helper test, no leak check
	}
	Main(m)
}

// child runs the helper test name in a new process of this test binary
// with env added, and returns its output and whether it passed.
func child(t *testing.T, name string, env ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), append([]string{"TESTKIT_HELPER=" + name}, env...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %s: %v", name, err)
	}
	return string(out), err == nil
}

func TestPollHoldsAndTimesOut(t *testing.T) {
	var calls atomic.Int32
	if !Poll(5*time.Second, func() bool { return calls.Add(1) == 3 }) {
		t.Fatal("Poll gave up on a condition that holds at the third check")
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("cond checked %d times, want 3 (stop once it holds)", got)
	}
	start := time.Now()
	if Poll(30*time.Millisecond, func() bool { return false }) {
		t.Fatal("Poll reported a condition that never holds")
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("Poll gave up after %s, before its 30ms timeout", d)
	}
}

func TestHelperEventuallyTimesOut(t *testing.T) {
	if os.Getenv("TESTKIT_HELPER") == "" {
		t.Skip("run by TestEventuallyFailsNamingWhat")
	}
	Eventually(t, 20*time.Millisecond, "the impossible", func() bool { return false })
	t.Log("not reached")
}

// TestEventuallyFailsNamingWhat: a timeout fails the test (it does not go
// on) and says what it waited for and how long.
func TestEventuallyFailsNamingWhat(t *testing.T) {
	out, ok := child(t, "TestHelperEventuallyTimesOut")
	if ok || !strings.Contains(out, "timed out after 20ms waiting for the impossible") || strings.Contains(out, "not reached") {
		t.Errorf("passed %v, output:\n%s", ok, out)
	}
}

func TestHelperMissingTool(t *testing.T) {
	if os.Getenv("TESTKIT_HELPER") == "" {
		t.Skip("run by TestRequireToolSkipsOrFailsUnderCI")
	}
	RequireTool(t, "wsgate-no-such-tool")
	t.Log("not reached")
}

// TestRequireToolSkipsOrFailsUnderCI: a missing tool skips, naming it,
// except under CI=true, where it fails; a present one is found.
func TestRequireToolSkipsOrFailsUnderCI(t *testing.T) {
	out, ok := child(t, "TestHelperMissingTool", "CI=")
	if !ok || !strings.Contains(out, "--- SKIP") || !strings.Contains(out, "wsgate-no-such-tool is not installed") {
		t.Errorf("without CI: passed %v, output:\n%s", ok, out)
	}
	out, ok = child(t, "TestHelperMissingTool", "CI=true")
	if ok || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, "CI=true but wsgate-no-such-tool is not installed") || strings.Contains(out, "not reached") {
		t.Errorf("under CI=true: passed %v, output:\n%s", ok, out)
	}
	if path := RequireTool(t, "sh"); path == "" {
		t.Error("RequireTool(sh) returned no path")
	}
}

// TestCheckLeaksFindsGoroutinesAndDescriptors: a goroutine started and a
// file opened after the baseline are reported, with the goroutine's
// function and the file's path, until they go.
func TestCheckLeaksFindsGoroutinesAndDescriptors(t *testing.T) {
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	fds := openFDs()
	stop := make(chan struct{})
	done := make(chan struct{})
	go leakyGoroutine(stop, done)
	f, err := os.Open("leak.go")
	if err != nil {
		t.Fatal(err)
	}
	err = checkLeaks(fds, 100*time.Millisecond, opts)
	if err == nil || !strings.Contains(err.Error(), "leakyGoroutine") || !strings.Contains(err.Error(), "1 file descriptors leaked") || !strings.Contains(err.Error(), "leak.go") {
		t.Errorf("checkLeaks with a goroutine and a file left: %v", err)
	}
	close(stop)
	<-done
	f.Close()
	if err := checkLeaks(fds, time.Second, opts); err != nil {
		t.Errorf("checkLeaks once both went: %v", err)
	}
}

func leakyGoroutine(stop, done chan struct{}) {
	<-stop
	close(done)
}

// TestReserveAddr: the reserved port refuses connections, is never handed
// to a bind on :0, and a Go server can listen on it, stop and listen again.
func TestReserveAddr(t *testing.T) {
	addr := ReserveAddr(t)
	if c, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial the reserved %s: %v, want connection refused", addr, err)
	}
	for range 200 {
		if ln := Listen(t); ln.Addr().String() == addr {
			t.Fatalf("Listen got the reserved %s", addr)
		}
	}
	for i := range 2 {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen %d on the reserved %s: %v", i+1, addr, err)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial the server on %s: %v", addr, err)
		}
		c.Close()
		ln.Close()
	}
}
