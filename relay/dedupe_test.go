package relay

import (
	"fmt"
	"testing"
	"time"
)

func TestKeyWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	w := newKeyWindow(time.Minute)
	w.now = func() time.Time { return now }
	if fresh, _ := w.first("c", "k"); !fresh {
		t.Fatal("a new key is not fresh")
	}
	w.record("c", "k", 42)
	if fresh, off := w.first("c", "k"); fresh || off != 42 {
		t.Fatalf("a repeated key: fresh %v offset %d, want false 42", fresh, off)
	}
	if fresh, _ := w.first("other", "k"); !fresh {
		t.Fatal("keys are per channel")
	}
	if fresh, _ := w.first("c", ""); !fresh {
		t.Fatal("no key is always fresh")
	}
	w.forget("c", "k") // its publication was refused
	if fresh, _ := w.first("c", "k"); !fresh {
		t.Fatal("a forgotten key is not fresh again")
	}
	now = now.Add(time.Minute)
	if fresh, _ := w.first("c", "k"); !fresh {
		t.Fatal("a key past its window is not fresh again")
	}
}

// TestKeyWindowBounded: a flood of keys keeps MaxDedupKeys at most,
// forgetting the oldest first.
func TestKeyWindowBounded(t *testing.T) {
	w := newKeyWindow(time.Hour)
	for i := range MaxDedupKeys + 5000 {
		w.first("c", fmt.Sprint(i))
	}
	if n := len(w.seen); n > MaxDedupKeys {
		t.Fatalf("%d keys kept, bound %d", n, MaxDedupKeys)
	}
	if fresh, _ := w.first("c", "0"); !fresh {
		t.Fatal("the oldest key was kept past the bound")
	}
	if fresh, _ := w.first("c", fmt.Sprint(MaxDedupKeys+4999)); fresh {
		t.Fatal("the newest key was forgotten")
	}
	if len(w.order)-w.head > MaxDedupKeys+1 {
		t.Fatalf("order holds %d keys", len(w.order)-w.head)
	}
}
