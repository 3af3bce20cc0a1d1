package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// unitSetting returns the value of key in a systemd unit's text (the last
// assignment wins, as in systemd).
func unitSetting(t *testing.T, unit, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(key)+`=(.*)$`).FindAllStringSubmatch(unit, -1)
	if m == nil {
		t.Fatalf("the unit sets no %s", key)
	}
	return strings.TrimSpace(m[len(m)-1][1])
}

// flagDefault returns a duration flag's default from wsgate --help.
func flagDefault(t *testing.T, help, flag string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`(?s)\n  -` + regexp.QuoteMeta(flag) + ` [^\n]*\n[^\n]*\(default ([^)]+)\)`).FindStringSubmatch(help)
	if m == nil {
		t.Fatalf("wsgate --help gives no default for --%s", flag)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("--%s default %q: %v", flag, m[1], err)
	}
	return d
}

// deploy/systemd/wsgate.service applies the 100k tuning profile: its
// LimitNOFILE is the profile's, its start check asks for the profile's
// target, and systemd waits for a whole drain (window, close handshakes,
// the NATS grace) before it kills the node.
func TestSystemdUnitMatchesTuningProfile(t *testing.T) {
	unit := recipe(t, "systemd/wsgate.service")
	dropIn, err := os.ReadFile(filepath.Join("..", "tuning", "profiles", "100k", "wsgate.service.d.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := unitSetting(t, unit, "LimitNOFILE"), unitSetting(t, string(dropIn), "LimitNOFILE"); got != want {
		t.Errorf("LimitNOFILE=%s, the 100k profile's is %s", got, want)
	}
	if pre := unitSetting(t, unit, "ExecStartPre"); !strings.HasSuffix(pre, "tune check --target 100k") {
		t.Errorf("ExecStartPre=%s, want the capacity check for the profile's target", pre)
	}
	if unitSetting(t, unit, "KillSignal") != "SIGTERM" || unitSetting(t, unit, "Restart") != "on-failure" {
		t.Errorf("want KillSignal=SIGTERM (the drain) and Restart=on-failure")
	}
	help, _ := exec.Command(bin("wsgate"), "--help").CombinedOutput()
	drain := flagDefault(t, string(help), "drain-window") + flagDefault(t, string(help), "close-timeout") + flagDefault(t, string(help), "nats-close-grace")
	stop, err := time.ParseDuration(unitSetting(t, unit, "TimeoutStopSec"))
	if err != nil {
		t.Fatal(err)
	}
	if stop <= drain {
		t.Errorf("TimeoutStopSec=%s does not cover a drain (%s): systemd would kill the node mid-drain", stop, drain)
	}
}
