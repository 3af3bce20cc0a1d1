package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wsgate/wsgate/bench"
)

// abMetrics are the figures an A/B run compares, per test; lower is
// better unless higher says otherwise.
var abMetrics = map[string][]struct {
	name   string
	m      metric
	format string
	higher bool // higher is better
}{
	"idle":     {{"RSS/conn (B)", rssPerConn, "%.0f", false}, {"CPU/handshake (µs)", cpuPerHandshake, "%.1f", false}},
	"bcast":    {{"CPU/delivery (µs)", cpuPerDelivery, "%.3f", false}},
	"bcastmax": {{"CPU/delivery (µs)", cpuPerDelivery, "%.3f", false}, {"deliveries/s", deliveriesPerSec, "%.0f", true}},
	"echo":     {{"CPU/msg (µs)", cpuPerEcho, "%.2f", false}, {"msgs/s", echoPerSec, "%.0f", true}},
}

// writeAB compares two builds of wsgate run alternately by
// bench/regress-ab.sh: reports named <dir>/<base|head>-<test>-<round>.json.
// Each figure is the median of the rounds, with the spread (lowest and
// highest), and head's median over base's.
func writeAB(b *strings.Builder, dir string, meta map[string]string) error {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("# A/B: %s (base) against %s (head)\n\n", meta["base"], meta["head"])
	p("bench/regress-ab.sh on %s, %s rounds of base and head (%s); %s cores, %s, kernel %s, %s.\n", meta["date"], meta["rounds"], meta["order"], meta["nproc"], meta["mem"], meta["kernel"], meta["go"])
	p("Sizes as make bench: %s. Each figure is the median of the rounds with the lowest and highest in brackets;\nthe ratio is head's median over base's.\n\n", meta["sizes"])
	return abTable(b, dir, "base", "head")
}

// abTable writes one row per test and figure found in dir for both labels
// a and z: each one's median with its spread, and z's median over a's.
func abTable(b *strings.Builder, dir, a, z string) error {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("| test | figure | %s | %s | %s/%s |\n|---|---|---:|---:|---:|\n", a, z, z, a)
	for _, test := range tests {
		for _, mt := range abMetrics[test] {
			var vals [2][]float64
			for i, label := range []string{a, z} {
				files, _ := filepath.Glob(filepath.Join(dir, label+"-"+test+"-*.json"))
				for _, f := range files {
					rep, err := readReport(f)
					if err != nil {
						return err
					}
					if v, ok := mt.m(rep); ok {
						vals[i] = append(vals[i], v)
					}
				}
			}
			if len(vals[0]) == 0 || len(vals[1]) == 0 {
				continue
			}
			ma, mz := median(vals[0]), median(vals[1])
			p("| %s | %s | %s | %s | %.2f× |\n", test, mt.name, spread(vals[0], mt.format), spread(vals[1], mt.format), mz/ma)
		}
	}
	return nil
}

// writePair compares two modes of one setup run alternately by
// bench/proxy-ab.sh or bench/tls-ab.sh: reports named
// <dir>/<label>-<test>-<round>.json for the two labels meta lists
// ("labels=off,on"); meta's title, script, what and sizes describe them.
func writePair(b *strings.Builder, dir string, meta map[string]string) error {
	labels := strings.Split(meta["labels"], ",")
	if len(labels) != 2 {
		return fmt.Errorf("%s/meta.env: labels=%q, want two, comma-separated", dir, meta["labels"])
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("# %s\n\n", meta["title"])
	p("%s at %s on %s, %s rounds of %s and %s (%s); %s cores, %s, kernel %s, %s.\n", meta["script"], meta["commit"], meta["date"], meta["rounds"],
		labels[0], labels[1], meta["order"], meta["nproc"], meta["mem"], meta["kernel"], meta["go"])
	p("%s\n\nSizes: %s. Each figure is the median of the rounds with the lowest and highest in brackets;\nthe ratio is %s's median over %s's.\n\n", meta["what"], meta["sizes"], labels[1], labels[0])
	return abTable(b, dir, labels[0], labels[1])
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// spread is "median (lowest–highest)".
func spread(v []float64, format string) string {
	return commas(fmt.Sprintf(format, median(v))) + " (" + commas(fmt.Sprintf(format, slices.Min(v))) + "–" + commas(fmt.Sprintf(format, slices.Max(v))) + ")"
}

func readReport(path string) (*bench.Report, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep bench.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &rep, nil
}

// readMeta reads a KEY=value file.
func readMeta(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{}
	for line := range strings.Lines(string(raw)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			meta[k] = v
		}
	}
	return meta, nil
}
