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

// TestWriteFromReports builds BENCHMARKS.md from synthetic reports: ratios
// are taken against wsgate and each target is judged from the figures.
func TestWriteFromReports(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "meta.env"), []byte("standard=yes\ncommit=abc\nBENCH_REPEAT=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	idle := func(rss, hs, self float64) bench.Report {
		return bench.Report{Scenario: bench.ScenarioConnect, Server: &bench.ServerStats{BytesPerConn: rss, CPUPerHandshakeUs: hs},
			Connections: bench.ConnStats{OpenAtReady: 15000}, Self: bench.SelfStats{BytesPerConn: self}}
	}
	writeReport(t, filepath.Join(dir, "wsgate-idle.json"), idle(600, 40, 900))
	writeReport(t, filepath.Join(dir, "gnetws-idle.json"), idle(630, 115, 1100))
	writeReport(t, filepath.Join(dir, "nbiohub-idle.json"), idle(1450, 100, 950))
	r, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	write(&b, r)
	out := b.String()
	for _, want := range []string{
		"| wsgate | 600 B | 1.00× | 40.0 µs | 1.00×",
		"| nbiohub | 1,450 B | 2.42× | 100.0 µs | 2.50×",
		"| RSS per idle subscribed connection ≤ 1.0× gnetws | 600 | 630 | 0.952 | yes |",
		"| RSS per idle subscribed connection ≤ 0.45× nbio | 600 | 1,450 | 0.414 | yes |",
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

func TestPickLeastContended(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, others := range []float64{0.8, 0.1, 0.4} {
		p := filepath.Join(dir, "run-"+string(rune('a'+i))+".json")
		writeReport(t, p, bench.Report{Scenario: bench.ScenarioEcho, Load: &bench.HostLoad{OtherCoresDuringLoad: others}})
		paths = append(paths, p)
	}
	if err := pickLeastContended(filepath.Join(dir, "picked"), paths); err != nil {
		t.Fatal(err)
	}
	txt, err := os.ReadFile(filepath.Join(dir, "picked.txt"))
	if err != nil || string(txt) != paths[1] {
		t.Fatalf("picked %q, want %q (%v)", txt, paths[1], err)
	}
}
