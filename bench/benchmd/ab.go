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
	p("| test | figure | base | head | head/base |\n|---|---|---:|---:|---:|\n")
	for _, test := range tests {
		for _, mt := range abMetrics[test] {
			var vals [2][]float64
			for i, label := range []string{"base", "head"} {
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
			mb, mh := median(vals[0]), median(vals[1])
			p("| %s | %s | %s | %s | %.2f× |\n", test, mt.name, spread(vals[0], mt.format), spread(vals[1], mt.format), mh/mb)
		}
	}
	return nil
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
