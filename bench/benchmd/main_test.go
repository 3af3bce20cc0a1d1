package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/bench"
)

func writeReport(t *testing.T, path string, rep bench.Report) {
	t.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strings.TrimSuffix(path, ".json")+".txt", []byte(path), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWriteFromReports builds BENCHMARKS.md from synthetic run
// summaries: each figure is the median of the runs with their range,
// ratios are of medians, and each target is judged on the medians.
func TestWriteFromReports(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "runs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.env"), []byte("standard=yes\ncommit=abc\nBENCH_REPEAT=3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	idle := func(rss, hs, self float64) bench.Report {
		return bench.Report{Scenario: bench.ScenarioConnect, Server: &bench.ServerStats{BytesPerConn: rss, CPUPerHandshakeUs: hs, CPUIdleUsPerConnSec: hs / 100},
			Connections: bench.ConnStats{OpenAtReady: 15000}, Self: bench.SelfStats{BytesPerConn: self}}
	}
	runs := func(server, test string, reps ...bench.Report) {
		for i, rep := range reps {
			writeReport(t, filepath.Join(dir, "runs", server+"-"+test+"-"+string(rune('1'+i))+".json"), rep)
		}
	}
	runs("wsgate", "idle", idle(620, 40, 900), idle(600, 44, 900), idle(700, 38, 900))
	runs("wsgate", "idle-frame", idle(640, 50, 900), idle(610, 52, 900), idle(650, 49, 900))
	runs("gnetws", "idle", idle(630, 115, 1100), idle(640, 110, 1100), idle(600, 120, 1100))
	runs("nbiohub", "idle", idle(1450, 100, 950), idle(1500, 90, 950), idle(1400, 110, 950))
	r, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	write(&b, r)
	out := b.String()
	for _, want := range []string{
		"| wsgate | 620 (600–700) B | 1.00× | 40.0 (38.0–44.0) µs | 1.00×",
		"| nbiohub | 1,450 (1,400–1,500) B | 2.34× | 100.0 (90.0–110.0) µs | 2.50×",
		"| wsgate, by frame | 640 (610–650) B | 1.03× | 50.0 (49.0–52.0) µs | 1.25×",
		"| RSS per idle subscribed connection ≤ 460 B (uWebSockets), by URL | 620 | (limit 460) | – | **no** |",
		"| CPU per handshake ≤ 45 µs, by frame | 50.00 | (limit 45.00) | – | **no** |",
		"| CPU per handshake ≤ 45 µs, by URL | 40.00 | (limit 45.00) | – | yes |",
		"| RSS per idle subscribed connection ≤ 1.0× gnetws | 620 | 630 | 0.984 | yes |",
		"| CPU per handshake ≤ 0.5× nbio | 40.00 | 100 | 0.400 | yes |",
		"| echo msgs/s ≥ 1.3× nbio | – | – | – | not measured |",
		"at least 10,000 connections: 1100 B; target ≤ 1,024 B: **not met**",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(out, "Not the standard sizes") {
		t.Error("standard run flagged as reduced")
	}
}

// TestSummariesLeaveOutTheTimeline: the committed summaries keep every
// figure of a report but its per-second timeline.
func TestSummariesLeaveOutTheTimeline(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeReport(t, filepath.Join(src, "wsgate-echo-1.json"), bench.Report{Scenario: bench.ScenarioEcho,
		Echo: &bench.EchoStats{PerSec: 1234}, Timeline: make([]bench.Point, 100)})
	if err := writeSummaries(src, dst); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dst, "wsgate-echo-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Echo == nil || rep.Echo.PerSec != 1234 || len(rep.Timeline) != 0 {
		t.Fatalf("summary: echo %+v, %d timeline points; want 1234/s and none", rep.Echo, len(rep.Timeline))
	}
}
