package bench

import (
	"math/rand/v2"
	"os"
	"testing"
)

// TestHistMergeAcrossProcessesIsExact: values recorded in several
// histograms, encoded as workers send them and decoded and merged by the
// coordinator, give exactly the histogram of all values recorded in one.
func TestHistMergeAcrossProcessesIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := NewHist()
	merged := NewHist()
	for range 7 {
		part := NewHist()
		for range 10_000 {
			// A long tail: mostly tens of µs, some ms, a few seconds.
			v := int64(rng.ExpFloat64()*50_000) + rng.Int64N(1000)
			if rng.IntN(1000) == 0 {
				v *= 10_000
			}
			part.RecordNanos(v)
			all.RecordNanos(v)
		}
		enc, err := part.Encode()
		if err != nil {
			t.Fatal(err)
		}
		dec, err := DecodeHist(enc)
		if err != nil {
			t.Fatal(err)
		}
		merged.Merge(dec)
	}
	if !merged.Equal(all) {
		t.Fatal("merged histogram differs from the histogram of all values")
	}
	for _, q := range []float64{50, 90, 99, 99.9, 100} {
		if a, b := merged.Quantile(q), all.Quantile(q); a != b {
			t.Errorf("p%v: merged %d, all %d", q, a, b)
		}
	}
	if merged.Summary() != all.Summary() {
		t.Errorf("summaries differ: %+v vs %+v", merged.Summary(), all.Summary())
	}
}

func TestHistClamps(t *testing.T) {
	h := NewHist()
	h.RecordNanos(-5)
	h.RecordMicros(histHighest * 10)
	if h.Count() != 2 || h.Quantile(0) != 0 {
		t.Fatalf("count %d, min %d", h.Count(), h.Quantile(0))
	}
}

func TestSampleHostBusyAndProc(t *testing.T) {
	busy, err := SampleHostBusy()
	if err != nil || busy <= 0 {
		t.Fatalf("host busy %d, %v", busy, err)
	}
	s, err := SampleProcs([]int{os.Getpid()})
	if err != nil || s.RSS <= 0 {
		t.Fatalf("own sample %+v, %v", s, err)
	}
	if _, err := SampleProc(1 << 30); err == nil {
		t.Fatal("sampling a missing pid succeeded")
	}
}
