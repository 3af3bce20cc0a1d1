package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestPlotWritesSVGAndPNG(t *testing.T) {
	lat := NewHist()
	for i := range int64(1000) {
		lat.RecordMicros(50 + i)
	}
	rep := &Report{Scenario: ScenarioBroadcast, Label: "test", latency: lat, connect: lat,
		Timeline: []Point{{T: 1, Open: 10, Rate: 100}, {T: 2, Open: 10, Rate: 120}}}
	dir := t.TempDir()
	for name, magic := range map[string][]byte{"chart.svg": []byte("<svg"), "chart.png": []byte("\x89PNG")} {
		path := filepath.Join(dir, name)
		if err := Plot(rep, path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(b[:min(len(b), 512)], magic) {
			t.Fatalf("%s: %d bytes, %v", name, len(b), err)
		}
	}
	if err := Plot(rep, filepath.Join(dir, "chart.gif")); err == nil {
		t.Fatal("gif accepted")
	}
}
