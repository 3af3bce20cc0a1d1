package reactor_test

import (
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// leakGrace is how long TestMain waits for goroutines and descriptors to go
// after the last test: engines shut down in t.Cleanup, but gnet's loops and
// the runtime's network poller finish asynchronously.
const leakGrace = 5 * time.Second

// TestMain fails the package when goroutines or file descriptors outlive
// the tests.
func TestMain(m *testing.M) {
	warmUpNetpoll()
	goroutines, fds := settledGoroutines(), openFDs()
	code := m.Run()
	if code == 0 && !fuzzing() {
		if err := checkLeaks(goroutines, fds); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// fuzzing reports whether the run is live fuzzing (-test.fuzz), whose
// engine keeps goroutines of its own (a signal handler) past m.Run.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// warmUpNetpoll makes the runtime open its poller descriptors before the
// baseline is taken, so they are not counted as leaks.
func warmUpNetpoll() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return
	}
	_ = ln.Close()
}

// settledGoroutines waits (up to a second) for goroutines that are already
// on their way out to go, such as the workers of the ants pool that gnet
// releases in its init, and returns the count once it holds steady.
func settledGoroutines() int {
	n, steady := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(time.Second); steady < 10 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		if m := runtime.NumGoroutine(); m != n {
			n, steady = m, 0
		} else {
			steady++
		}
	}
	return n
}

// checkLeaks polls until goroutines and descriptors are back to at most
// their baseline, or reports what is left after leakGrace.
func checkLeaks(goroutines, fds int) error {
	deadline := time.Now().Add(leakGrace)
	for {
		g, f := runtime.NumGoroutine(), openFDs()
		if g <= goroutines && f <= fds {
			return nil
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			if g > goroutines {
				fmt.Fprintf(&b, "%d goroutines leaked (%d before the tests, %d after)\n", g-goroutines, goroutines, g)
				buf := make([]byte, 1<<20)
				b.Write(buf[:runtime.Stack(buf, true)])
			}
			if f > fds {
				fmt.Fprintf(&b, "%d file descriptors leaked (%d before the tests, %d after): %s\n", f-fds, fds, f, listFDs())
			}
			return fmt.Errorf("%s", b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openFDs counts this process's open file descriptors (-1 where /proc is
// not available, which disables the check).
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

func listFDs() string {
	entries, _ := os.ReadDir("/proc/self/fd")
	var targets []string
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil {
			targets = append(targets, e.Name()+"->"+target)
		}
	}
	return strings.Join(targets, " ")
}
