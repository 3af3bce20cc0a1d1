package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/relay"
)

// TestHistoryFlags: the history flags reach the relay: in memory on a
// single node, on the embedded server's JetStream with --data-dir; the
// combinations that cannot work refuse to start.
func TestHistoryFlags(t *testing.T) {
	_, opts, err := parse(t, []string{"--history-size", "50", "--history-ttl", "1m", "--history-max-bytes", "1MiB", "--history-dedup-window", "30s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := opts.hist.HistoryConfig; h.Size != 50 || h.TTL != time.Minute || h.MaxBytes != 1<<20 || h.DedupWindow != 30*time.Second {
		t.Fatalf("history options %+v", h)
	}
	t.Run("memory", func(t *testing.T) {
		r, _, err := startTestRelay(t, "--history-size", "5")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.(*relay.Local); !ok || !r.Retains("any") {
			t.Fatalf("relay %T retains %v, want the in-process relay with history", r, r.Retains("any"))
		}
	})
	t.Run("embedded JetStream", func(t *testing.T) {
		r, _, err := startTestRelay(t, "--history-size", "5", "--nats-listen", "127.0.0.1:0", "--data-dir", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if !r.Retains("any") {
			t.Fatal("no history")
		}
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--history-size", "5", "--nats-listen", "127.0.0.1:0"}, "--data-dir"},
		{[]string{"--history-size", "5", "--nats-listen", "127.0.0.1:0", "--data-dir", "/tmp", "--history-replicas", "3"}, "JetStream cluster"},
		{[]string{"--history-size", "-1"}, "size must not be negative"},
	} {
		if _, _, err := startTestRelay(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error about %s", tc.args, err, tc.want)
		}
	}
}

// TestBuildVersion: the connected frame's version is never empty and
// looks like a module version, a revision or "dev".
func TestBuildVersion(t *testing.T) {
	v := buildVersion()
	if !regexp.MustCompile(`^(dev|v\S+|[0-9a-f]{1,12}(-dirty)?)$`).MatchString(v) {
		t.Fatalf("buildVersion() = %q", v)
	}
}
