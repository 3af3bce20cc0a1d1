package bench

import (
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: values are microseconds, from 1 µs to one hour, with
// three significant digits (0.1% resolution).
const (
	histLowest   = 1
	histHighest  = 3_600_000_000
	histSigFigs  = 3
	nanosPerUnit = 1000
)

// Hist is a latency histogram in microseconds. It is not safe for
// concurrent use: each event loop records into its own, and they are merged
// when a run ends.
type Hist struct {
	h *hdrhistogram.Histogram
}

// NewHist returns an empty histogram.
func NewHist() *Hist {
	return &Hist{h: hdrhistogram.New(histLowest, histHighest, histSigFigs)}
}

// RecordNanos records a latency given in nanoseconds, clamped into the
// histogram's range (a negative value, from clocks stepping, counts as 0).
func (h *Hist) RecordNanos(ns int64) {
	h.RecordMicros(ns / nanosPerUnit)
}

// RecordMicros records a value in microseconds, clamped into range.
func (h *Hist) RecordMicros(us int64) {
	_ = h.h.RecordValue(min(max(us, 0), histHighest))
}

// Merge adds every value recorded in o to h. Both have the same geometry,
// so nothing is dropped and the result equals one histogram of all values.
func (h *Hist) Merge(o *Hist) {
	if o != nil {
		h.h.Merge(o.h)
	}
}

// Count is the number of recorded values.
func (h *Hist) Count() int64 { return h.h.TotalCount() }

// Reset empties h.
func (h *Hist) Reset() { h.h.Reset() }

// Equal reports whether h and o hold the same counts.
func (h *Hist) Equal(o *Hist) bool { return h.h.Equals(o.h) }

// Quantile returns the value (µs) at quantile q in [0, 100].
func (h *Hist) Quantile(q float64) int64 { return h.h.ValueAtQuantile(q) }

// Encode returns the histogram in HdrHistogram's portable V2 compressed
// form (base64), which workers send to the coordinator.
func (h *Hist) Encode() (string, error) {
	b, err := h.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("bench: encode histogram: %w", err)
	}
	return string(b), nil
}

// DecodeHist is Encode's inverse.
func DecodeHist(s string) (*Hist, error) {
	if s == "" {
		return NewHist(), nil
	}
	hh, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("bench: decode histogram: %w", err)
	}
	h := NewHist()
	if dropped := h.h.Merge(hh); dropped > 0 {
		return nil, fmt.Errorf("bench: decoded histogram has %d values out of range", dropped)
	}
	return h, nil
}

// Summary is a histogram's report: percentiles in microseconds.
type Summary struct {
	Count int64   `json:"count"`
	P50   int64   `json:"p50_us"`
	P90   int64   `json:"p90_us"`
	P99   int64   `json:"p99_us"`
	P999  int64   `json:"p99_9_us"`
	Max   int64   `json:"max_us"`
	Mean  float64 `json:"mean_us"`
}

// Summary computes the reported percentiles.
func (h *Hist) Summary() Summary {
	if h.Count() == 0 {
		return Summary{}
	}
	return Summary{
		Count: h.Count(),
		P50:   h.Quantile(50),
		P90:   h.Quantile(90),
		P99:   h.Quantile(99),
		P999:  h.Quantile(99.9),
		Max:   h.h.Max(),
		Mean:  h.h.Mean(),
	}
}

// Distribution returns (percentile, value µs) points for plotting: the
// histogram's cumulative distribution with 5 ticks per half distance.
func (h *Hist) Distribution() (percentiles []float64, values []int64) {
	for _, b := range h.h.CumulativeDistributionWithTicks(5) {
		percentiles = append(percentiles, b.Quantile)
		values = append(values, b.ValueAt)
	}
	return percentiles, values
}
