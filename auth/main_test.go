package auth

import (
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the package when goroutines (a JWKS refresher not
// closed, a fetch's connection) or file descriptors outlive the tests.
// Test servers and Verifiers close in t.Cleanup; their goroutines may take
// a moment to go, so the check polls for up to 5 s.
func TestMain(m *testing.M) {
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		_ = ln.Close() // the runtime's poller opens its descriptors now, before the count
	}
	goroutines, fds := runtime.NumGoroutine(), openFDs()
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); code == 0 && (f == nil || f.Value.String() == "") {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > goroutines || openFDs() > fds {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				fmt.Fprintf(os.Stderr, "FAIL: goroutines %d → %d, descriptors %d → %d after the tests\n%s",
					goroutines, runtime.NumGoroutine(), fds, openFDs(), buf[:runtime.Stack(buf, true)])
				code = 1
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	os.Exit(code)
}

// openFDs counts the process's open descriptors (-1 without /proc, which
// disables that check).
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}
