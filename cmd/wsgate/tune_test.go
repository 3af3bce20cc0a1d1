package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/tuning"
)

// devNoFile is the hard open-files cap of the development machine. The
// helper process lowers its own limit to it, so the tests see what that
// machine sees on any host whose other limits are above it.
const devNoFile = 20000

// TestTuneHelperProcess is not a test: run by tuneChild, it lowers
// RLIMIT_NOFILE and runs `wsgate tune` with the arguments it was given.
func TestTuneHelperProcess(t *testing.T) {
	args := os.Getenv("WSGATE_TUNE_HELPER_ARGS")
	if args == "" {
		return
	}
	n, _ := strconv.ParseUint(os.Getenv("WSGATE_TUNE_HELPER_NOFILE"), 10, 64)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: n, Max: n}); err != nil {
		os.Stderr.WriteString("setrlimit: " + err.Error())
		os.Exit(3)
	}
	os.Exit(runTune(strings.Fields(args), os.Stdout, os.Stderr))
}

// tuneChild runs `wsgate tune ARGS` in a process whose open-files limit is
// nofile, returning stdout, stderr and the exit code.
func tuneChild(t *testing.T, nofile int, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTuneHelperProcess$")
	cmd.Env = append(os.Environ(), "WSGATE_TUNE_HELPER_ARGS="+strings.Join(args, " "),
		"WSGATE_TUNE_HELPER_NOFILE="+strconv.Itoa(nofile))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code == 3 {
		t.Fatalf("helper could not lower its open-files limit: %s", stderr.String())
	}
	return stdout.String(), stderr.String(), code
}

func procValue(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// TestTuneCheckJSONNamesOpenFilesCap: with the development machine's
// 20,000 open-files cap, `tune check --json` reports the values it read
// and names that cap as the binding constraint.
func TestTuneCheckJSONNamesOpenFilesCap(t *testing.T) {
	stdout, stderr, code := tuneChild(t, devNoFile, "check", "--json")
	if code != 0 {
		t.Fatalf("exit %d without a target\n%s", code, stderr)
	}
	var rep tuning.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	r := rep.Readings
	if r.OpenFiles.Hard != devNoFile || r.OpenFiles.Soft != devNoFile {
		t.Errorf("open files %+v, want soft and hard %d", r.OpenFiles, devNoFile)
	}
	for _, key := range []string{"fs.file-max", "fs.nr_open", "net.core.somaxconn", "net.ipv4.ip_local_port_range"} {
		if want := procValue(t, "/proc/sys/"+strings.ReplaceAll(key, ".", "/")); r.Sysctl[key] != want {
			t.Errorf("%s = %q, /proc/sys says %q", key, r.Sysctl[key], want)
		}
	}
	if r.MemTotal <= 0 || r.MemAvailable <= 0 || r.Kernel != procValue(t, "/proc/sys/kernel/osrelease") {
		t.Errorf("memory %d/%d, kernel %q", r.MemTotal, r.MemAvailable, r.Kernel)
	}
	if rep.Binding != "open-files" || rep.Estimate != devNoFile-tuning.FDHeadroom {
		t.Fatalf("binding %q at %d, want open-files at %d\n%s", rep.Binding, rep.Estimate, devNoFile-tuning.FDHeadroom, stdout)
	}
	if rep.Fix == nil || rep.Fix.Key != "RLIMIT_NOFILE" || !strings.Contains(strings.Join(rep.Fix.Commands, "\n"), "LimitNOFILE=") {
		t.Errorf("fix %+v: want RLIMIT_NOFILE with LimitNOFILE", rep.Fix)
	}
	seen := map[string]bool{}
	for _, c := range rep.Constraints {
		seen[c.Name] = true
	}
	for _, name := range []string{"open-files", "fs.nr_open", "fs.file-max", "memory"} {
		if !seen[name] {
			t.Errorf("constraint %s missing from %v", name, rep.Constraints)
		}
	}
}

func TestTuneCheckText(t *testing.T) {
	stdout, stderr, code := tuneChild(t, devNoFile, "check", "--target", "1m")
	if code != 1 {
		t.Fatalf("--target 1m with %d open files: exit %d, want 1\n%s%s", devNoFile, code, stdout, stderr)
	}
	for _, want := range []string{
		"open files                           soft 20,000, hard 20,000",
		"Estimate: 18,976 connections; binding constraint: open-files",
		"Target: 1,000,000 connections: OUT OF REACH",
		"Fix open-files (for 1,000,000 connections): raise the hard open-files limit from 20,000 to 1,001,024",
		"ulimit -n 1001024",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestTuneCheckTargetExitCode(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"check", "--target", "10k"}, 0},
		{[]string{"check", "--target", "18976", "--json"}, 0},
		{[]string{"check", "--target", "18977", "--json"}, 1},
		{[]string{"check", "--target", "10m", "--role", "client"}, 1},
	} {
		if _, stderr, code := tuneChild(t, devNoFile, tc.args...); code != tc.code {
			t.Errorf("tune %v: exit %d, want %d\n%s", tc.args, code, tc.code, stderr)
		}
	}
}

// TestTuneCheckLive runs in this process, on this machine's real limits.
func TestTuneCheckLive(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runTune([]string{"check", "--json", "--role", "client"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var rep tuning.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if uint64(rep.Readings.OpenFiles.Hard) != l.Max {
		t.Errorf("hard open files %d, getrlimit says %d", rep.Readings.OpenFiles.Hard, l.Max)
	}
	if l.Max <= devNoFile && rep.Binding != "open-files" {
		t.Errorf("hard open-files limit %d, yet the binding constraint is %s", l.Max, rep.Binding)
	}
	found := false
	for _, c := range rep.Constraints {
		found = found || c.Name == "ephemeral-ports"
	}
	if !found {
		t.Errorf("client role without an ephemeral-ports constraint: %+v", rep.Constraints)
	}
}

func TestTuneProfileTarget(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runTune([]string{"profile", "--target", "1m"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"==> sysctl.conf (install as /etc/sysctl.d/90-wsgate.conf) <==",
		"==> limits.conf (install as /etc/security/limits.d/90-wsgate.conf) <==",
		"==> wsgate.service.d.conf (install as /etc/systemd/system/wsgate.service.d/90-wsgate-tuning.conf) <==",
		"Tailored by `wsgate tune profile` to this host",
		"LimitNOFILE=1001024",
		"root  hard  nofile  1001024",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("profile lacks %q", want)
		}
	}
	start := strings.Index(out, "==> sysctl.conf")
	end := strings.Index(out[start:], "\n\n==> ")
	sysctl := out[start:]
	if end > 0 {
		sysctl = out[start : start+end]
	}
	lines, err := tuning.ParseSysctlConf(sysctl[strings.Index(sysctl, "\n")+1:])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if _, ok := tuning.LookupKey(l.Key); !ok {
			t.Errorf("tailored profile sets %s, which keys.conf lacks", l.Key)
		}
	}
	if len(lines) < 10 {
		t.Errorf("only %d sysctl keys in the tailored profile", len(lines))
	}
}

// TestTuneProfileDirForApply writes a tailored profile with --dir and has
// apply.sh accept it, as a dry run.
func TestTuneProfileDirForApply(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	var stdout, stderr bytes.Buffer
	if code := runTune([]string{"profile", "--target", "250k", "--dir", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	for _, f := range []string{tuning.SysctlFile, tuning.LimitsFile, tuning.SystemdFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	testkit.RequireTool(t, "bash") // runs apply.sh
	state := filepath.Join(t.TempDir(), "state")
	cmd := exec.Command("../../tuning/apply.sh", dir, "--dry-run", "--root", t.TempDir(), "--state", state)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("apply.sh %s --dry-run: %v\n%s", dir, err, out)
	}
	for _, dest := range tuning.InstallPath {
		if !strings.Contains(string(out), "would install ") || !strings.Contains(string(out), dest) {
			t.Errorf("dry run does not mention installing %s:\n%s", dest, out)
		}
	}
}

func TestTuneProfileName(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runTune([]string{"profile", "--name", "10m"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	for _, f := range []string{tuning.SysctlFile, tuning.LimitsFile, tuning.SystemdFile} {
		b, _ := tuning.NamedFile("10m", f)
		if !strings.Contains(stdout.String(), string(b)) {
			t.Errorf("--name 10m does not print the committed %s", f)
		}
	}
}

func TestTuneUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "wsgate tune check [--target N]"},
		{[]string{"help"}, 0, "wsgate tune profile --target N"},
		{[]string{"check", "-h"}, 0, "wsgate tune check"},
		{[]string{"tighten"}, 2, `unknown command "tighten"`},
		{[]string{"check", "--role", "proxy"}, 2, `--role "proxy": want server or client`},
		{[]string{"check", "--target", "lots"}, 2, `count "lots"`},
		{[]string{"check", "now"}, 2, `unexpected argument "now"`},
		{[]string{"profile"}, 2, "give --target N or --name NAME"},
		{[]string{"profile", "--target", "1m", "--name", "1m"}, 2, "give --target N or --name NAME"},
		{[]string{"profile", "--name", "42k"}, 2, `profile "42k" has no`},
	} {
		var stdout, stderr bytes.Buffer
		code := runTune(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("tune %v: exit %d, want %d and %q in:\n%s", tc.args, code, tc.code, tc.want, stderr.String())
		}
	}
}

// TestRunDispatchesTune: `wsgate tune` reaches runTune before the server's
// flags are parsed.
func TestRunDispatchesTune(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"tune"}, &stderr); code != 2 || !strings.Contains(stderr.String(), "wsgate tune check") {
		t.Errorf("run(tune): exit %d\n%s", code, stderr.String())
	}
}

func TestLogCapacity(t *testing.T) {
	rep, err := tuning.Estimate(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		maxConns int
		warn     bool
	}{
		{int(rep.Estimate) + 1, true},
		{int(rep.Estimate), false},
	} {
		var buf bytes.Buffer
		logCapacity(slog.New(slog.NewJSONHandler(&buf, nil)), tc.maxConns)
		var info, warn map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			switch rec["level"] {
			case "INFO":
				info = rec
			case "WARN":
				warn = rec
			}
		}
		if info == nil || info["msg"] != "capacity estimate" || info["binding"] == nil {
			t.Errorf("max-conns %d: no capacity estimate logged:\n%s", tc.maxConns, buf.String())
		}
		if (warn != nil) != tc.warn {
			t.Errorf("max-conns %d, estimate %d: warned %v, want %v:\n%s", tc.maxConns, rep.Estimate, warn != nil, tc.warn, buf.String())
		}
		if warn != nil && !strings.Contains(fmt.Sprint(warn["below_max_conns"]), rep.Binding) {
			t.Errorf("the warning does not name the binding constraint %s: %v", rep.Binding, warn)
		}
	}
}
