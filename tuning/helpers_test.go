package tuning

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// need skips the test with why when ok is false, or fails it under
// CI=true, where every tool the suite uses must be installed.
func need(t *testing.T, ok bool, why string) {
	t.Helper()
	if !ok {
		testkit.SkipMissing(t, "%s", why)
	}
}

// newNetns creates a network namespace named wsgate-test-<random> and
// deletes it in cleanup. It needs root and iproute2's ip.
func newNetns(t *testing.T) string {
	t.Helper()
	testkit.RequireTool(t, "ip") // iproute2: creates the network namespace
	need(t, os.Geteuid() == 0, "not root: cannot create a network namespace")
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "wsgate-test-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		need(t, false, "ip netns add failed: "+strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v: %s", name, err, out)
		}
	})
	return name
}

// inNetns runs a command inside the namespace and returns its combined
// output and exit code.
func inNetns(t *testing.T, ns string, args ...string) (string, int) {
	t.Helper()
	return run(t, exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...))
}

func run(t *testing.T, cmd *exec.Cmd) (string, int) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return string(out), 0
}

// procSys reads a sysctl key of the test's own (the host's) namespace.
func procSys(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
	if err := os.Chmod(to, mode); err != nil {
		t.Fatal(err)
	}
}
