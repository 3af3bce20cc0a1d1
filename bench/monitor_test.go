package bench

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// progressLine matches a plain progress line: the prefix, then key=value
// fields, values without spaces.
var progressLine = regexp.MustCompile(`^wsbench: progress( [a-z0-9_]+=[^ =]+)+$`)

// progressFields splits a plain progress line into its fields.
func progressFields(t *testing.T, line string) map[string]string {
	t.Helper()
	if !progressLine.MatchString(line) {
		t.Fatalf("progress line %q: not key=value fields", line)
	}
	fields := map[string]string{}
	for _, f := range strings.Fields(strings.TrimPrefix(line, "wsbench: progress ")) {
		k, v, _ := strings.Cut(f, "=")
		if _, dup := fields[k]; dup {
			t.Fatalf("progress line %q: %s twice", line, k)
		}
		fields[k] = v
	}
	return fields
}

// TestStatusFields: the plain progress line for each kind of scenario,
// exactly.
func TestStatusFields(t *testing.T) {
	p := Progress{Open: 990, Errors: 3}
	for _, c := range []struct {
		cfg  Config
		iv   intervalStats
		want string
	}{
		{Config{Scenario: ScenarioConnect, Conns: 1000}, intervalStats{elapsed: 5 * time.Second, connRate: 198}, "wsbench: progress elapsed_s=5.0 scenario=connect open=990 planned=1000 conns_per_sec=198 errors=3"},
		{Config{Scenario: ScenarioBroadcast, Conns: 1000}, intervalStats{elapsed: 10500 * time.Millisecond, msgRate: 9998.4, p99: 812},
			"wsbench: progress elapsed_s=10.5 scenario=broadcast open=990 planned=1000 conns_per_sec=0 errors=3 msgs_per_sec=9998 p99_us=812"},
		{Config{Scenario: ScenarioChurn, Conns: 900, ChurnConns: 100}, intervalStats{elapsed: time.Second, connRate: 20.4},
			"wsbench: progress elapsed_s=1.0 scenario=churn open=990 planned=1000 conns_per_sec=20 errors=3 msgs_per_sec=0"},
		{Config{Scenario: ScenarioEcho, Conns: 1000}, intervalStats{elapsed: 2 * time.Second, msgRate: 50, p99: 1},
			"wsbench: progress elapsed_s=2.0 scenario=echo open=990 planned=1000 conns_per_sec=0 errors=3 msgs_per_sec=50 p99_us=1"},
	} {
		got := statusFields(c.cfg, p, c.iv)
		if got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.cfg.Scenario, got, c.want)
		}
		progressFields(t, got)
	}
}

// TestProgressLines: a run given a plain writer (no terminal) writes a
// key=value line every ProgressEvery, from the ramp to the drain, and
// nothing a terminal would need: no carriage return, no escape sequence.
func TestProgressLines(t *testing.T) {
	srv := startStallServer(t)
	var out bytes.Buffer
	rep := echoRun(t, srv, Config{Conns: 2, Rate: 200, Duration: 700 * time.Millisecond, ProgressLines: &out, ProgressEvery: 100 * time.Millisecond})
	checkEchoAccounting(t, rep, srv, 2)
	text := out.String()
	if strings.ContainsAny(text, "\r\x1b") {
		t.Fatalf("progress has terminal control characters: %q", text)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 4 {
		t.Fatalf("%d progress lines in a 0.7 s load at one per 0.1 s:\n%s", len(lines), text)
	}
	lastElapsed, loaded := -1.0, false
	for _, l := range lines {
		f := progressFields(t, l)
		elapsed, err := strconv.ParseFloat(f["elapsed_s"], 64)
		if err != nil || elapsed < lastElapsed {
			t.Errorf("line %q: elapsed_s not a number growing from %.1f", l, lastElapsed)
		}
		lastElapsed = elapsed
		if f["scenario"] != ScenarioEcho || f["planned"] != "2" || f["errors"] != "0" {
			t.Errorf("line %q: want scenario echo, 2 planned, no error", l)
		}
		if _, err := strconv.ParseFloat(f["msgs_per_sec"], 64); err != nil {
			t.Errorf("line %q: msgs_per_sec: %v", l, err)
		}
		if f["open"] == "2" && f["msgs_per_sec"] != "0" && f["p99_us"] != "" {
			loaded = true
		}
	}
	if !loaded {
		t.Errorf("no line shows the 2 connections open and echoing with a p99:\n%s", text)
	}
}
