package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// CI reports whether this is a CI run (CI=true), where every tool the
// suite uses is installed and a missing one fails the test.
func CI() bool { return os.Getenv("CI") == "true" }

// SkipMissing skips t because something it needs is missing, with the
// message (say what is missing and what goes unchecked), or fails it under
// CI=true. Call it from the test's goroutine, never inside a poll's cond or
// a failure message: a skip there turns real failures into skips.
func SkipMissing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("CI=true but %s", msg)
	}
	t.Skip(msg)
}

// RequireTool returns the path of the executable name on PATH, or skips t
// saying it is missing (fails it under CI=true).
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		SkipMissing(t, "%s is not installed (%v): this test is unchecked", name, err)
	}
	return path
}
