package reactor

import (
	"testing"
	"unsafe"
)

// The per-connection struct is the part of a connection's memory wsgate
// controls: keep it within its 144-byte size class (BENCHMARKS.md measures
// the whole RSS per connection).
func TestConnStructBudget(t *testing.T) {
	if got := unsafe.Sizeof(conn{}); got > 144 {
		t.Fatalf("conn is %d bytes, budget 144: move fields behind a pointer that idle connections leave nil", got)
	}
}
