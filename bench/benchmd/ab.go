package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wsgate/wsgate/bench"
)

// abMetric is one figure of an A/B table.
type abMetric struct {
	name   string
	m      metric
	format string
	higher bool // higher is better
}

// abMetrics are the figures an A/B run compares, per test; lower is
// better unless higher says otherwise.
var abMetrics = map[string][]abMetric{
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
	return abTable(b, dir, "base", "head", abMetrics)
}

// pairMetrics are abMetrics plus the figures of two modes of one setup
// that a build comparison does not need: what went over the wire, and
// what the server compressed (bench/deflate-ab.sh).
var pairMetrics = func() map[string][]abMetric {
	m := map[string][]abMetric{}
	for test, ms := range abMetrics {
		m[test] = append([]abMetric(nil), ms...)
	}
	deflated := abMetric{"deflated connections", deflatedConns, "%.0f", false}
	m["idle"] = append(m["idle"], deflated)
	m["bcast"] = append(m["bcast"],
		abMetric{"wire B/delivery", wireBytesPerDelivery, "%.1f", false},
		abMetric{"compressions/publication", compressionsPerPublication, "%.3f", false},
		deflated)
	return m
}()

// abTable writes one row per test and figure of metrics found in dir for
// both labels a and z: each one's median with its spread, and z's median
// over a's ("–" when a's is zero).
func abTable(b *strings.Builder, dir, a, z string, metrics map[string][]abMetric) error {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("| test | figure | %s | %s | %s/%s |\n|---|---|---:|---:|---:|\n", a, z, z, a)
	for _, test := range tests {
		for _, mt := range metrics[test] {
			vals, err := abValues(dir, test, mt.m, a, z)
			if err != nil {
				return err
			}
			if len(vals[0]) == 0 || len(vals[1]) == 0 || allZero(vals[0]) && allZero(vals[1]) {
				continue // not measured, or nothing to tell (no deflate in either mode)
			}
			ratio := "–"
			if ma, mz := median(vals[0]), median(vals[1]); ma != 0 {
				ratio = fmt.Sprintf("%.2f×", mz/ma)
			}
			p("| %s | %s | %s | %s | %s |\n", test, mt.name, spread(vals[0], mt.format), spread(vals[1], mt.format), ratio)
		}
	}
	return nil
}

// abValues reads figure m of test from every round's report in dir, for
// labels a and z.
func abValues(dir, test string, m metric, a, z string) (vals [2][]float64, err error) {
	for i, label := range []string{a, z} {
		files, _ := filepath.Glob(filepath.Join(dir, label+"-"+test+"-*.json"))
		for _, f := range files {
			rep, err := readReport(f)
			if err != nil {
				return vals, err
			}
			if v, ok := m(rep); ok {
				vals[i] = append(vals[i], v)
			}
		}
	}
	return vals, nil
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
	if err := abTable(b, dir, labels[0], labels[1], pairMetrics); err != nil {
		return err
	}
	return pairTargets(b, dir, labels[0], labels[1], meta["targets"])
}

// pairTargets checks the targets meta.env lists, separated by ";", each
// "test|figure|ratio|limit" (z's median over a's at most limit) or
// "test|figure|diff|limit" (z's median less a's at most limit), the figure
// named as in the table.
func pairTargets(b *strings.Builder, dir, a, z, spec string) error {
	if spec == "" {
		return nil
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## Targets\n\n| target | measured | met? |\n|---|---:|---|\n")
	for _, t := range strings.Split(spec, ";") {
		f := strings.Split(t, "|")
		if len(f) != 4 {
			return fmt.Errorf("target %q: want test|figure|ratio or diff|limit", t)
		}
		limit, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			return fmt.Errorf("target %q: %w", t, err)
		}
		i := slices.IndexFunc(pairMetrics[f[0]], func(m abMetric) bool { return m.name == f[1] })
		if i < 0 {
			return fmt.Errorf("target %q: no figure %q for test %q", t, f[1], f[0])
		}
		vals, err := abValues(dir, f[0], pairMetrics[f[0]][i].m, a, z)
		if err != nil {
			return err
		}
		var what, measured string
		var got float64
		switch f[2] {
		case "ratio":
			what = fmt.Sprintf("%s %s: %s/%s ≤ %g×", f[0], f[1], z, a, limit)
		case "diff":
			what = fmt.Sprintf("%s %s: %s − %s ≤ %g", f[0], f[1], z, a, limit)
		default:
			return fmt.Errorf("target %q: %q, want ratio or diff", t, f[2])
		}
		if len(vals[0]) == 0 || len(vals[1]) == 0 {
			p("| %s | – | not measured |\n", what)
			continue
		}
		ma, mz := median(vals[0]), median(vals[1])
		if f[2] == "ratio" {
			got, measured = mz/ma, fmt.Sprintf("%.2f×", mz/ma)
		} else {
			got, measured = mz-ma, fmt.Sprintf("%+.0f", mz-ma)
		}
		verdict := "yes"
		if got > limit {
			verdict = "**no**"
		}
		p("| %s | %s | %s |\n", what, measured, verdict)
	}
	return nil
}

func allZero(v []float64) bool {
	return !slices.ContainsFunc(v, func(x float64) bool { return x != 0 })
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
