package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/reactor"
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

// TestParseConfigNamespaces: [[namespace]] tables give channel patterns a
// history of their own, first match first; every mistake is reported.
func TestParseConfigNamespaces(t *testing.T) {
	path := writeConfig(t, `history-size = 10
[[namespace]]
name = "chat"
pattern = "chat.*"
history_size = 100
history_ttl = "1h"

[[namespace]]
name = "ephemeral"
pattern = "presence.>"
history_size = 0
`)
	_, opts, err := parse(t, []string{"--config", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ns := opts.hist.Namespaces
	if len(ns) != 2 || ns[0].Name != "chat" || ns[0].Size != 100 || ns[0].TTL != time.Hour || ns[1].Size != 0 || opts.hist.Size != 10 {
		t.Fatalf("namespaces %+v, size %d", ns, opts.hist.Size)
	}
	if !ns[0].Match("chat.room") || ns[0].Match("chat.room.x") || !ns[1].Match("presence.a.b") {
		t.Fatal("patterns do not match as in tokens' permissions")
	}
	r, _, err := startTestRelay(t, "--config", path)
	if err != nil {
		t.Fatal(err)
	}
	for ch, want := range map[string]bool{"chat.room": true, "presence.a": false, "other": true} {
		if r.Retains(ch) != want {
			t.Errorf("Retains(%s) = %v", ch, !want)
		}
	}

	bad := writeConfig(t, `[[namespace]]
name = "a"
pattern = "chat.>.x"
history_size = 1
[[namespace]]
name = "a"
pattern = "b.*"
[[namespace]]
name = "c"
pattern = "c.*"
history_size = 1
history_ttl = "soon"
colour = "blue"
`)
	_, _, err = parse(t, []string{"--config", bad}, nil)
	for _, want := range []string{`">" must be the last level`, "history_size is required", "history_ttl", `unknown key "colour"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad namespaces: %v; want %q", err, want)
		}
	}
	dup := writeConfig(t, "[[namespace]]\nname = \"a\"\npattern = \"a.*\"\nhistory_size = 1\n[[namespace]]\nname = \"a\"\npattern = \"b.*\"\nhistory_size = 1\n")
	if _, _, err := parse(t, []string{"--config", dup}, nil); err == nil || !strings.Contains(err.Error(), `"a" is taken`) {
		t.Errorf("duplicate names: %v", err)
	}
}

// TestParseConfigNamespaceSlowPolicy: slow_policy sets a pattern's policy
// (first match; "" for the default), and a wrong one is an error.
func TestParseConfigNamespaceSlowPolicy(t *testing.T) {
	path := writeConfig(t, `slow-policy = "close"
[[namespace]]
name = "prices"
pattern = "price.*"
history_size = 0
slow_policy = "conflate"
[[namespace]]
name = "chat"
pattern = "chat.>"
history_size = 10
`)
	cfg, _, err := parse(t, []string{"--config", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SlowPolicyFor == nil || cfg.SlowPolicyFor("price.eur") != reactor.SlowConflate || cfg.SlowPolicyFor("chat.a") != "" || cfg.SlowPolicyFor("other") != "" || cfg.SlowPolicy != reactor.SlowClose {
		t.Fatalf("policies: default %q, price.eur %q", cfg.SlowPolicy, cfg.SlowPolicyFor("price.eur"))
	}
	bad := writeConfig(t, "[[namespace]]\nname = \"a\"\npattern = \"a.*\"\nhistory_size = 0\nslow_policy = \"ignore\"\n")
	if _, _, err := parse(t, []string{"--config", bad}, nil); err == nil || !strings.Contains(err.Error(), `slow_policy "ignore"`) {
		t.Fatalf("a wrong slow_policy: %v", err)
	}
}

// A namespace may keep presence: its pattern joins --presence's.
func TestParseConfigNamespacePresence(t *testing.T) {
	path := writeConfig(t, `presence = ["lobby"]
[[namespace]]
name = "rooms"
pattern = "room.>"
history_size = 0
presence = true
[[namespace]]
name = "news"
pattern = "news.*"
history_size = 10
`)
	_, opts, err := parse(t, []string{"--config", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(append(opts.pres.channels, opts.hist.presence...), ","); got != "lobby,room.>" {
		t.Fatalf("presence patterns %q, want lobby,room.>", got)
	}
	bad := writeConfig(t, "[[namespace]]\nname = \"a\"\npattern = \"a.*\"\nhistory_size = 0\npresence = \"yes\"\n")
	if _, _, err := parse(t, []string{"--config", bad}, nil); err == nil {
		t.Fatal("presence = \"yes\" was taken")
	}
}
