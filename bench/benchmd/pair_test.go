package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/bench"
)

// TestWritePair: two modes' reports become one row per figure, each mode's
// median with its spread and the second mode's over the first's, under
// the labels meta.env names.
func TestWritePair(t *testing.T) {
	dir := t.TempDir()
	meta := "title=PROXY v2 on and off\nlabels=off,on\nscript=bench/proxy-ab.sh\nrounds=3\n"
	if err := os.WriteFile(filepath.Join(dir, "meta.env"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, v := range []float64{40, 44, 42} {
		for _, m := range []struct {
			label string
			scale float64
		}{{"off", 1}, {"on", 1.1}} {
			rep := bench.Report{Scenario: bench.ScenarioConnect, Server: &bench.ServerStats{CPUPerHandshakeUs: v * m.scale, BytesPerConn: 600}}
			writeReport(t, filepath.Join(dir, m.label+"-idle-"+string(rune('1'+i))+".json"), rep)
		}
	}
	out := filepath.Join(dir, "summary.md")
	if err := summarize(dir, out, writePair); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(out)
	got := string(raw)
	for _, want := range []string{
		"# PROXY v2 on and off\n",
		"| test | figure | off | on | on/off |",
		"| idle | CPU/handshake (µs) | 42.0 (40.0–44.0) | 46.2 (44.0–48.4) | 1.10× |",
		"| idle | RSS/conn (B) | 600 (600–600) | 600 (600–600) | 1.00× |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}
