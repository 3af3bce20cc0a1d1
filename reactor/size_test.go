package reactor

import (
	"testing"
	"unsafe"
)

// The per-connection struct is the part of a connection's memory wsgate
// controls: keep it within its 160-byte size class (BENCHMARKS.md measures
// the whole RSS per connection). It was 128 until connections got IDs and
// traffic counters for the control API (32 bytes: identity.go).
func TestConnStructBudget(t *testing.T) {
	if got := unsafe.Sizeof(conn{}); got > 160 {
		t.Fatalf("conn is %d bytes, budget 160: move fields behind a pointer that idle connections leave nil", got)
	}
}
