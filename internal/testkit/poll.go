package testkit

import (
	"testing"
	"time"
)

// pollMin and pollMax bound the interval between two checks of a
// condition: quick at first, so a condition that holds soon costs little
// wall time, then backing off, so an expensive one (an HTTP request, a
// /proc read) is not run in a tight loop.
const (
	pollMin = time.Millisecond
	pollMax = 50 * time.Millisecond
)

// Eventually polls cond until it holds, failing t after timeout with
// "timed out after <timeout> waiting for <what>". Call it from the test's
// goroutine.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// Poll reports whether cond held within timeout, checking it at once and
// then at growing intervals (1 ms to 50 ms). cond runs on the caller's
// goroutine.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for wait := pollMin; !cond(); wait = min(2*wait, pollMax) {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		time.Sleep(min(wait, left)) // a polling interval, not synchronisation
	}
	return true
}
