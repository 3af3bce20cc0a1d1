package presence

import "testing"

// TestQueueOrderAcrossBlocks: events come out in the order they went in,
// across block boundaries and refills; past the bound a push is refused.
func TestQueueOrderAcrossBlocks(t *testing.T) {
	t.Parallel()
	const max = 3*queueBlock + 5
	q := newQueue(max)
	next, want := 0, 0
	buf := make([]Event, 0, queueBlock/2+1)
	for round := range 5 {
		for q.len() < max {
			if !q.push(Event{Member: Member{User: string(rune('a' + next%26))}, Channel: itoa(next)}) {
				t.Fatalf("round %d: push refused at %d of %d", round, q.len(), max)
			}
			next++
		}
		if q.push(Event{}) {
			t.Fatal("push past the bound accepted")
		}
		for n := 0; n < max-round; {
			buf = q.take(buf)
			for _, ev := range buf {
				if ev.Channel != itoa(want) {
					t.Fatalf("took %s, want %d", ev.Channel, want)
				}
				want++
			}
			n += len(buf)
			if len(buf) == 0 {
				break
			}
		}
	}
	q.close()
	if q.push(Event{}) {
		t.Fatal("push after close accepted")
	}
}

// TestQueueTakeRepair: a repair is due once every event pushed before the
// last refused push has been taken, not before, and once.
func TestQueueTakeRepair(t *testing.T) {
	t.Parallel()
	q := newQueue(2)
	q.push(Event{Channel: "1"})
	q.push(Event{Channel: "2"})
	if q.push(Event{Channel: "3"}) || q.takeRepair() {
		t.Fatal("refused push: no repair due before the events before it are taken")
	}
	buf := q.take(make([]Event, 0, 1))
	q.push(Event{Channel: "4"})
	if q.takeRepair() {
		t.Fatal("repair due with event 2 still queued")
	}
	q.take(buf)
	if !q.takeRepair() || q.takeRepair() {
		t.Fatal("repair not due exactly once after events 1 and 2 were taken")
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
