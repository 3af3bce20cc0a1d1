package tuning

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// The apply.sh tests write sysctl keys only inside a network namespace they
// create, with --require-netns so that a mistake cannot reach the host;
// host-wide keys and the /etc files are exercised with --dry-run, or under
// a temporary --root.

func applyScript(t *testing.T) string {
	t.Helper()
	testkit.RequireTool(t, "bash") // runs apply.sh
	p, err := filepath.Abs("apply.sh")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// netnsKeys are the profile's per-namespace keys and values.
func netnsKeys(t *testing.T, profile string) map[string]string {
	t.Helper()
	text, err := NamedFile(profile, SysctlFile)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ParseSysctlConf(string(text))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, l := range lines {
		if k, _ := LookupKey(l.Key); k.Scope == ScopeNetns {
			keys[l.Key] = l.Value
		}
	}
	if len(keys) == 0 {
		t.Fatalf("profile %s has no per-namespace keys", profile)
	}
	return keys
}

// readNetns reads keys inside the namespace, fields joined by one space.
func readNetns(t *testing.T, ns string, keys map[string]string) map[string]string {
	t.Helper()
	args := []string{"grep", "-H", ""}
	for key := range keys {
		args = append(args, "/proc/sys/"+strings.ReplaceAll(key, ".", "/"))
	}
	out, code := inNetns(t, ns, args...)
	if code != 0 {
		t.Fatalf("read %v in %s: %s", args[3:], ns, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		path, value, _ := strings.Cut(line, ":")
		key := strings.ReplaceAll(strings.TrimPrefix(path, "/proc/sys/"), "/", ".")
		got[key] = strings.Join(strings.Fields(value), " ")
	}
	return got
}

func hostValues(t *testing.T, keys map[string]string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for key := range keys {
		got[key] = procSys(t, key)
	}
	return got
}

func TestApplyNetnsAppliesAndReverts(t *testing.T) {
	script := applyScript(t)
	ns := newNetns(t)
	state := filepath.Join(t.TempDir(), "state")
	want := netnsKeys(t, "1m")
	hostBefore := hostValues(t, want)
	before := readNetns(t, ns, want)
	if !t.Run("apply", func(t *testing.T) {
		out, code := inNetns(t, ns, script, "1m", "--require-netns", "--state", state)
		if code != 0 {
			t.Fatalf("apply.sh 1m: exit %d\n%s", code, out)
		}
		got := readNetns(t, ns, want)
		for key, v := range want {
			// Kind raise keeps a higher live value; none is higher in a fresh namespace.
			if got[key] != v {
				t.Errorf("%s = %q in the namespace, want %q\n%s", key, got[key], v, out)
			}
		}
		if !strings.Contains(out, "skip    net.ipv4.tcp_mem (global key") {
			t.Errorf("apply.sh did not say it skipped the global keys:\n%s", out)
		}
	}) {
		return
	}
	t.Run("again changes nothing", func(t *testing.T) {
		saved, _ := os.ReadFile(filepath.Join(state, "sysctl.saved"))
		out, code := inNetns(t, ns, script, "1m", "--require-netns", "--state", state)
		if code != 0 || strings.Contains(out, "set     ") {
			t.Fatalf("second apply: exit %d, want 0 and no \"set\" lines\n%s", code, out)
		}
		again, _ := os.ReadFile(filepath.Join(state, "sysctl.saved"))
		if string(again) != string(saved) {
			t.Errorf("second apply rewrote the saved values:\n%s\nwas\n%s", again, saved)
		}
	})
	t.Run("revert", func(t *testing.T) {
		out, code := inNetns(t, ns, script, "1m", "--revert", "--require-netns", "--state", state)
		if code != 0 {
			t.Fatalf("apply.sh 1m --revert: exit %d\n%s", code, out)
		}
		if got := readNetns(t, ns, want); !equalMaps(got, before) {
			t.Errorf("after revert the namespace has %v, want the values from before %v", got, before)
		}
		if _, err := os.Stat(state); !os.IsNotExist(err) {
			t.Errorf("revert left its state directory behind (%v)", err)
		}
		out, code = inNetns(t, ns, script, "1m", "--revert", "--require-netns", "--state", state)
		if code != 0 || !strings.Contains(out, "nothing to revert") {
			t.Errorf("second revert: exit %d, want 0 and \"nothing to revert\"\n%s", code, out)
		}
	})
	if got := hostValues(t, want); !equalMaps(got, hostBefore) {
		t.Fatalf("the host's values changed: %v, were %v", got, hostBefore)
	}
}

// TestApplyRefusesUnknownKeys runs a copy of apply.sh whose keys.conf lists
// a key this kernel lacks, with a profile that also names a key keys.conf
// lacks: both are refused, and nothing in the namespace changes. An
// optional missing key is skipped instead.
func TestApplyRefusesUnknownKeys(t *testing.T) {
	script := applyScript(t)
	ns := newNetns(t)
	dir := t.TempDir()
	keys, err := os.ReadFile("keys.conf")
	if err != nil {
		t.Fatal(err)
	}
	keys = append(keys, "net.ipv4.tcp_wsgate_missing netns set\n"...)
	copyFile(t, script, filepath.Join(dir, "apply.sh"), 0o755)
	writeFile(t, filepath.Join(dir, "keys.conf"), string(keys))
	profile := filepath.Join(dir, "bad")
	for _, f := range []string{LimitsFile, SystemdFile} {
		b, _ := NamedFile("1m", f)
		writeFile(t, filepath.Join(profile, f), string(b))
	}
	base := "net.core.somaxconn = 12345\n"
	state := filepath.Join(dir, "state")
	somaxconn := map[string]string{"net.core.somaxconn": ""}
	before := readNetns(t, ns, somaxconn)

	for _, tc := range []struct {
		name, extra, want string
		code              int
	}{
		{"not in keys.conf", "net.ipv4.tcp_no_such_key = 1\n", "unknown key net.ipv4.tcp_no_such_key: not in tuning/keys.conf", 2},
		{"not on this kernel", "net.ipv4.tcp_wsgate_missing = 1\n", "unknown key net.ipv4.tcp_wsgate_missing: /proc/sys/net/ipv4/tcp_wsgate_missing does not exist", 2},
		{"malformed", "net.core.somaxconn 5\n", "want key = value", 2},
		{"optional and missing", "# Optional: a test key.\n-net.ipv4.tcp_wsgate_missing = 1\n", "skip    net.ipv4.tcp_wsgate_missing (optional", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, filepath.Join(profile, SysctlFile), base+tc.extra)
			out, code := inNetns(t, ns, filepath.Join(dir, "apply.sh"), profile, "--dry-run", "--require-netns", "--state", state)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("--dry-run: exit %d, want %d and %q in:\n%s", code, tc.code, tc.want, out)
			}
			if tc.code == 0 {
				return
			}
			out, code = inNetns(t, ns, filepath.Join(dir, "apply.sh"), profile, "--require-netns", "--state", state)
			if code != 2 || !strings.Contains(out, "nothing was changed") {
				t.Fatalf("apply: exit %d, want 2 and \"nothing was changed\" in:\n%s", code, out)
			}
			if got := readNetns(t, ns, somaxconn); !equalMaps(got, before) {
				t.Errorf("a refused profile changed net.core.somaxconn to %v", got)
			}
		})
	}
}

// TestApplyDryRunGlobalKeys exercises the host-wide keys and the files in
// the host's namespace with --dry-run: every key is reported, nothing is
// written.
func TestApplyDryRunGlobalKeys(t *testing.T) {
	script := applyScript(t)
	dir := t.TempDir()
	root, state := filepath.Join(dir, "root"), filepath.Join(dir, "state")
	text, _ := NamedFile("10m", SysctlFile)
	lines, _ := ParseSysctlConf(string(text))
	all := map[string]string{}
	for _, l := range lines {
		if _, err := os.Stat("/proc/sys/" + strings.ReplaceAll(l.Key, ".", "/")); err == nil {
			all[l.Key] = l.Value
		}
	}
	before := hostValues(t, all)
	out, code := run(t, exec.Command(script, "10m", "--dry-run", "--root", root, "--state", state))
	if code != 0 {
		t.Fatalf("apply.sh 10m --dry-run: exit %d\n%s", code, out)
	}
	for key := range all {
		k, _ := LookupKey(key)
		if !strings.Contains(out, " "+key+" ") && !strings.Contains(out, " "+key+":") {
			t.Errorf("dry run does not mention %s (%s)", key, k.Scope)
		}
	}
	for _, dest := range InstallPath {
		if !strings.Contains(out, "would install "+filepath.Join(root, dest)) {
			t.Errorf("dry run does not mention installing %s:\n%s", dest, out)
		}
	}
	if !strings.Contains(out, "would set fs.nr_open: ") {
		t.Errorf("dry run of 10m should raise fs.nr_open:\n%s", out)
	}
	if got := hostValues(t, all); !equalMaps(got, before) {
		t.Fatalf("a dry run changed the host: %v, was %v", got, before)
	}
	for _, p := range []string{root, state} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("a dry run created %s", p)
		}
	}
}

// TestApplyFilesInstallAndRevert installs the files under a temporary
// --root, over one that already exists, and reverts to what was there.
func TestApplyFilesInstallAndRevert(t *testing.T) {
	script := applyScript(t)
	dir := t.TempDir()
	root, state := filepath.Join(dir, "root"), filepath.Join(dir, "state")
	installed := map[string]string{} // destination: profile file
	for file, dest := range InstallPath {
		installed[filepath.Join(root, dest)] = file
	}
	limits := filepath.Join(root, InstallPath[LimitsFile])
	writeFile(t, limits, "# someone's own\n")
	args := []string{"100k", "--only", "files", "--root", root, "--state", state}
	out, code := run(t, exec.Command(script, args...))
	if code != 0 {
		t.Fatalf("apply.sh: exit %d\n%s", code, out)
	}
	for dest, file := range installed {
		want, _ := NamedFile("100k", file)
		if got, err := os.ReadFile(dest); err != nil || string(got) != string(want) {
			t.Errorf("%s does not hold the profile's %s (%v)", dest, file, err)
		}
	}
	out, code = run(t, exec.Command(script, args...))
	if code != 0 || strings.Contains(out, "install ") {
		t.Fatalf("second apply: exit %d, want 0 and no installs\n%s", code, out)
	}
	out, code = run(t, exec.Command(script, append(args, "--revert")...))
	if code != 0 {
		t.Fatalf("revert: exit %d\n%s", code, out)
	}
	for dest := range installed {
		_, err := os.Stat(dest)
		if dest == limits {
			if got, _ := os.ReadFile(dest); string(got) != "# someone's own\n" {
				t.Errorf("revert did not restore %s: %q", dest, got)
			}
		} else if !os.IsNotExist(err) {
			t.Errorf("revert left %s (%v)", dest, err)
		}
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("revert left its state directory behind (%v)", err)
	}
}

func TestApplyUsage(t *testing.T) {
	script := applyScript(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "tuning/apply.sh PROFILE"},
		{[]string{"42k", "--dry-run"}, `unknown profile "42k": want one of 100k 10m 1m`},
		{[]string{"1m", "--bogus"}, "unknown flag --bogus"},
		{[]string{"1m", "--dry-run", "--only", "everything"}, "--only everything: want netns, global or files"},
		{[]string{"1m", "--dry-run", "--require-netns"}, "--require-netns: this is the host's network namespace"},
	} {
		out, code := run(t, exec.Command(script, tc.args...))
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("apply.sh %v: exit %d, want 2 and %q in:\n%s", tc.args, code, tc.want, out)
		}
	}
}
