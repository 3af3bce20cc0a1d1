package bench

import (
	"encoding/csv"
	"os"
	"strconv"
)

// WriteTimelineCSV writes the run's per-second timeline to path: one row
// a second with the seconds since the start, connections open, messages
// (deliveries or echo replies) per second, that second's p99 latency in
// µs, and the dials attempted so far.
func (r *Report) WriteTimelineCSV(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"t_seconds", "open", "msgs_per_sec", "p99_us", "attempted"})
	for _, p := range r.Timeline {
		_ = w.Write([]string{strconv.FormatFloat(p.T, 'f', 1, 64), strconv.FormatInt(p.Open, 10),
			strconv.FormatFloat(p.Rate, 'f', 1, 64), strconv.FormatInt(p.P99, 10), strconv.FormatInt(p.Attempts, 10)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
