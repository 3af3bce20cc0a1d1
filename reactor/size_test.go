package reactor

import (
	"testing"
	"unsafe"
)

// The per-connection struct is the part of a connection's memory wsgate
// controls: keep it within its 128-byte size class (BENCHMARKS.md measures
// the whole RSS per connection).
func TestConnStructBudget(t *testing.T) {
	if got := unsafe.Sizeof(conn{}); got > 128 {
		t.Fatalf("conn is %d bytes, budget 128: move fields behind a pointer that idle connections leave nil", got)
	}
}
