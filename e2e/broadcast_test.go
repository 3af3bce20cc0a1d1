package e2e

import (
	"fmt"
	"testing"
	"time"
)

// A burst of 1,000 messages reaches each of 5,000 subscribers of one
// channel, held by a separate client process, with none lost, duplicated or
// reordered.
func TestBroadcastBurstTo5000SubscribersInAnotherProcess(t *testing.T) {
	const subs, msgs = 5000, 1000
	n := startNode(t)
	p := subscribers(t, subs, msgs, 2*time.Minute, n.url("/ws?channels=burst"))
	for i := range msgs {
		n.publish(t, "burst", fmt.Sprintf("A:%d", i))
	}
	s := p.summary(t, 2*time.Minute)
	t.Logf("subscribers: %v", s)
	if s["messages"] != float64(subs*msgs) {
		t.Fatalf("got %v messages, want %d: %v", s["messages"], subs*msgs, s)
	}
}
