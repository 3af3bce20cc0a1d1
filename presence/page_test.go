package presence

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPageBuilderAgainstSort: for channel sizes around the limit, every
// cursor position, members offered in random order, the page is what
// sorting everything and cutting would give.
func TestPageBuilderAgainstSort(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 2, 9, 10, 11, 19, 20, 21, 100} {
		var all []string
		for i := range size {
			all = append(all, member("n", i*3, "").Conn)
		}
		for _, limit := range []int{1, 2, 10, 20, MaxLimit} {
			for start := -1; start < size; start++ {
				after := ""
				if start >= 0 {
					after = all[start]
				}
				b := newPageBuilder(after, limit)
				for _, i := range rng.Perm(size) {
					if b.wants(all[i]) {
						b.add(member("n", i*3, ""))
					}
				}
				p := b.page()
				want := all[start+1:]
				next := ""
				if len(want) > limit {
					want, next = want[:limit], want[limit-1]
				}
				if got := conns(p); !slices.Equal(got, want) || p.Next != next {
					t.Fatalf("size %d, limit %d, after #%d: got %q next %q, want %q next %q", size, limit, start, got, p.Next, want, next)
				}
			}
		}
	}
}

// TestPageBuilderKeepsLimitPlusOne: however many members are offered, it
// holds at most limit+1.
func TestPageBuilderKeepsLimitPlusOne(t *testing.T) {
	t.Parallel()
	b := newPageBuilder("", 10)
	for i := range 10000 {
		b.add(member("n", 10000-i, ""))
		if len(b.heap) > 11 {
			t.Fatalf("after %d members the builder holds %d", i+1, len(b.heap))
		}
	}
	if p := b.page(); len(p.Members) != 10 || p.Members[0].Conn != member("n", 1, "").Conn {
		t.Fatalf("page %q", conns(p))
	}
}
