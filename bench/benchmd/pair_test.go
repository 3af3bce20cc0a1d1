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

// TestWritePairDeflate: the deflate figures (wire bytes per delivery, the
// server's compressions per publication, deflated connections) get rows,
// a zero median gives no ratio, and meta.env's targets are checked, a
// ratio and a difference, each met or missed as measured.
func TestWritePairDeflate(t *testing.T) {
	dir := t.TempDir()
	meta := "title=deflate\nlabels=off,on\ntargets=bcast|CPU/delivery (µs)|ratio|1.2;idle|RSS/conn (B)|diff|64\n"
	if err := os.WriteFile(filepath.Join(dir, "meta.env"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		round := string(rune('1' + i))
		for _, m := range []struct {
			label                   string
			cpu, wire, compressions float64
			rss                     float64
			deflated                int64
		}{{"off", 3, 1074, 0, 680, 0}, {"on", 3.9, 439, 150, 750, 10000}} {
			bcast := bench.Report{Scenario: bench.ScenarioBroadcast, Connections: bench.ConnStats{Deflated: m.deflated},
				Server:         &bench.ServerStats{CPUPerDeliveryUs: m.cpu},
				Messages:       &bench.MessageStats{Published: 150, WireBytesPerDelivery: m.wire},
				ServerCounters: map[string]float64{"stats.compressions": m.compressions}}
			writeReport(t, filepath.Join(dir, m.label+"-bcast-"+round+".json"), bcast)
			idle := bench.Report{Scenario: bench.ScenarioConnect, Connections: bench.ConnStats{Deflated: m.deflated},
				Server: &bench.ServerStats{BytesPerConn: m.rss, CPUPerHandshakeUs: 20}}
			writeReport(t, filepath.Join(dir, m.label+"-idle-"+round+".json"), idle)
		}
	}
	out := filepath.Join(dir, "summary.md")
	if err := summarize(dir, out, writePair); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(out)
	got := string(raw)
	for _, want := range []string{
		"| bcast | wire B/delivery | 1,074.0 (1,074.0–1,074.0) | 439.0 (439.0–439.0) | 0.41× |",
		"| bcast | compressions/publication | 0.000 (0.000–0.000) | 1.000 (1.000–1.000) | – |",
		"| bcast | deflated connections | 0 (0–0) | 10,000 (10,000–10,000) | – |",
		"| bcast CPU/delivery (µs): on/off ≤ 1.2× | 1.30× | **no** |",
		"| idle RSS/conn (B): on − off ≤ 64 | +70 | **no** |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}
