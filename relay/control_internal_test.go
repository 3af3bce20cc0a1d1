package relay

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLiveNodesBounded: made-up heartbeat names on the bus (a flood, or
// names too long to be a node's) cannot grow a node's view past maxNodes,
// and a name unheard of for three beats is forgotten.
func TestLiveNodesBounded(t *testing.T) {
	a := liveNodes{every: 300 * time.Millisecond}
	for i := range 3 * maxNodes {
		a.seen(fmt.Sprint("fake-", i))
	}
	a.seen(strings.Repeat("x", 65))
	a.seen("")
	if n := len(a.live("self")); n != maxNodes {
		t.Fatalf("%d nodes tracked after a flood of names, want the bound %d", n, maxNodes)
	}
	time.Sleep(time.Second) // past three beats
	a.seen("b")
	if live := a.live("self"); len(live) != 1 {
		t.Fatalf("live %d nodes, want only b once the flood's names expired", len(live))
	}
}
