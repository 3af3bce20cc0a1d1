package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wsgate/wsgate/bench"
)

// values is m over the runs of server's test that have it.
func (r *results) values(m metric, server, test string) []float64 {
	var vs []float64
	for _, rep := range r.runs[server+"-"+test] {
		if v, ok := m(rep); ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// writeSummaries writes each wsbench report in src (*.json) to dst under
// the same name, its per-second timeline left out: the small files that are
// committed and that BENCHMARKS.md is made from.
func writeSummaries(src, dst string) error {
	paths, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil || len(paths) == 0 {
		return fmt.Errorf("no reports in %s (%v)", src, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var rep bench.Report
		if err := json.Unmarshal(raw, &rep); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rep.Timeline = nil
		if err := rep.WriteJSON(filepath.Join(dst, filepath.Base(path))); err != nil {
			return err
		}
	}
	return nil
}
