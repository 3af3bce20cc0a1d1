package bench

import (
	"testing"
	"unsafe"
)

// A client connection's own struct is the part of wsbench's memory per
// connection it controls (the budget is 1 KiB in all, gnet's
// connection included): keep it within the 96-byte size class.
func TestConnStructBudget(t *testing.T) {
	if got := unsafe.Sizeof(conn{}); got > 96 {
		t.Fatalf("conn is %d bytes, budget 96: move fields behind a pointer that idle connections leave nil", got)
	}
}
