package bench

import "testing"

// TestSeqTrackAccounting feeds synthetic sequences and checks the lost,
// duplicate and out-of-order counts against what each sequence holds.
func TestSeqTrackAccounting(t *testing.T) {
	cases := []struct {
		name        string
		seqs        []uint32
		final       uint32
		lost        uint64
		dup, late   int
		fromFirstOK bool
	}{
		{name: "in order", seqs: []uint32{1, 2, 3, 4, 5}, final: 5},
		{name: "tail lost", seqs: []uint32{1, 2, 3}, final: 5, lost: 2},
		{name: "head lost", seqs: []uint32{3, 4, 5}, final: 5, lost: 2},
		{name: "gap", seqs: []uint32{1, 2, 5, 6}, final: 6, lost: 2},
		{name: "nothing", seqs: nil, final: 4, lost: 4},
		{name: "duplicate", seqs: []uint32{1, 2, 2, 3}, final: 3, dup: 1},
		{name: "duplicate of old", seqs: []uint32{1, 2, 3, 4, 1}, final: 4, dup: 1},
		{name: "swap", seqs: []uint32{1, 3, 2, 4}, final: 4, late: 1},
		{name: "late fills a gap then dup", seqs: []uint32{1, 4, 2, 2, 3}, final: 4, late: 2, dup: 1},
		{name: "reversed", seqs: []uint32{5, 4, 3, 2, 1}, final: 5, late: 4},
		{name: "jump past window", seqs: []uint32{1, 200, 2}, final: 200, lost: 197, late: 1},
		{name: "late beyond window counts once", seqs: []uint32{1, 100, 3}, final: 100, lost: 97, late: 1},
		{name: "window edge duplicate", seqs: []uint32{1, 64, 1}, final: 64, lost: 62, dup: 1},
		{name: "zero is invalid", seqs: []uint32{0, 1}, final: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tr seqTrack
			dup, late := 0, 0
			for _, s := range tc.seqs {
				switch tr.observe(s) {
				case seqDuplicate:
					dup++
				case seqLate:
					late++
				}
			}
			if got := tr.lost(1, tc.final); got != tc.lost {
				t.Errorf("lost = %d, want %d", got, tc.lost)
			}
			if dup != tc.dup || late != tc.late {
				t.Errorf("dup, late = %d, %d; want %d, %d", dup, late, tc.dup, tc.late)
			}
		})
	}
}

// TestSeqTrackRandomPermutation: any permutation of 1..n with k repeats
// counts k duplicates and no loss, and every arrival below the highest seen
// is late.
func TestSeqTrackRandomPermutation(t *testing.T) {
	const n = 1000
	seqs := make([]uint32, 0, n+50)
	for i := range uint32(n) {
		seqs = append(seqs, i+1)
	}
	// Swap neighbours within the window and repeat a few recent numbers.
	for i := 0; i+1 < n; i += 7 {
		seqs[i], seqs[i+1] = seqs[i+1], seqs[i]
	}
	want := 0
	for i := 10; i < n; i += 20 {
		seqs = append(seqs[:i+1], seqs[i:]...) // seqs[i] twice in a row
		want++
	}
	var tr seqTrack
	dup, late, high := 0, 0, uint32(0)
	wantLate := 0
	for _, s := range seqs {
		if s < high && tr.seen&(1<<(high-s)) == 0 {
			wantLate++
		}
		high = max(high, s)
		switch tr.observe(s) {
		case seqDuplicate:
			dup++
		case seqLate:
			late++
		}
	}
	if dup != want || late != wantLate || tr.lost(1, n) != 0 {
		t.Fatalf("dup %d (want %d), late %d (want %d), lost %d", dup, want, late, wantLate, tr.lost(1, n))
	}
}
