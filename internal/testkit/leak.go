package testkit

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// LeakGrace is how long Main waits, after the last test, for goroutines
// and descriptors to go: servers and clients stop in t.Cleanup, but event
// loops, the runtime's poller and closing sockets finish asynchronously.
const LeakGrace = 5 * time.Second

// Main is a package's whole TestMain: func TestMain(m *testing.M) {
// testkit.Main(m) }. It exits with the tests' code, or 1 when they passed
// but left goroutines or file descriptors behind; opts ignore goroutines
// that are not leaks (goleak.IgnoreTopFunction, say), each with a comment
// saying why.
func Main(m *testing.M, opts ...goleak.Option) { os.Exit(Run(m, opts...)) }

// Run is Main without the exit, for a TestMain that sets up or tears down
// around the tests: code := testkit.Run(m); cleanup; os.Exit(code).
//
// The baseline is taken before the tests: the goroutines alive then are
// ignored by identity (goleak.IgnoreCurrent), and descriptors are counted
// after the runtime's network poller has opened its own. The check is
// skipped when the tests failed (their leaks are noise beside the failure)
// and under live fuzzing, whose engine keeps goroutines of its own.
func Run(m *testing.M, opts ...goleak.Option) int {
	warmUpNetpoll()
	opts = append(opts, goleak.IgnoreCurrent())
	fds := openFDs()
	code := m.Run()
	if code != 0 || fuzzing() {
		return code
	}
	// Kept-alive connections of the default HTTP client belong to no test.
	http.DefaultClient.CloseIdleConnections()
	if err := checkLeaks(fds, LeakGrace, opts); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	return code
}

// checkLeaks polls until no unexpected goroutine is left and descriptors
// are back to at most fds, or reports what is left after grace.
func checkLeaks(fds int, grace time.Duration, opts []goleak.Option) error {
	deadline := time.Now().Add(grace)
	for {
		gerr := goleak.Find(opts...) // retries for about half a second itself
		f := openFDs()
		if gerr == nil && f <= fds {
			return nil
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			if gerr != nil {
				fmt.Fprintf(&b, "goroutines outlived the tests by %s: %v\n", grace, gerr)
			}
			if f > fds {
				fmt.Fprintf(&b, "%d file descriptors leaked (%d before the tests, %d after): %s\n", f-fds, fds, f, listFDs())
			}
			return fmt.Errorf("%s", b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fuzzing reports whether the run is live fuzzing (-test.fuzz).
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// warmUpNetpoll makes the runtime open its poller descriptors before the
// baseline is taken, so they are not counted as leaks.
func warmUpNetpoll() {
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		_ = ln.Close()
	}
}

// openFDs counts this process's open file descriptors (-1 without /proc,
// which disables that check: -1 <= -1).
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// listFDs names each open descriptor and what it refers to.
func listFDs() string {
	entries, _ := os.ReadDir("/proc/self/fd")
	var targets []string
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			targets = append(targets, e.Name()+"->"+target)
		}
	}
	return strings.Join(targets, " ")
}
