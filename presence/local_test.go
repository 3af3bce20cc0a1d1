package presence

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
)

// TestLocalEventQueueFullDrops: while the handler is busy, events wait in
// the queue up to its bound; past it Join drops them, counts them, and
// returns at once.
func TestLocalEventQueueFullDrops(t *testing.T) {
	t.Parallel()
	l := newLocal(4)
	t.Cleanup(func() { _ = l.Close() })
	entered, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var got []string
	err := l.Start(func(ev Event) {
		mu.Lock()
		got = append(got, ev.Member.Conn)
		first := len(got) == 1
		mu.Unlock()
		if first {
			close(entered)
			<-release
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Watch("room")
	l.Join("room", member("solo", 0, ""))
	<-entered
	for i := 1; i < 10; i++ {
		l.Join("room", member("solo", i, ""))
	}
	if st := l.Stats(); st.Dropped != 5 || st.Queued != 4 || st.Members != 10 {
		t.Fatalf("Stats with the handler busy = %+v, want 5 dropped, 4 queued, 10 members", st)
	}
	close(release)
	testkit.Eventually(t, wait, "the queued events", func() bool { return l.Stats().Events == 5 })
	mu.Lock()
	defer mu.Unlock()
	want := []string{member("solo", 0, "").Conn}
	for i := 1; i <= 4; i++ {
		want = append(want, member("solo", i, "").Conn)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
}

// TestLocalListDuringChurn: List lets Join and Leave in while it scans a
// large channel; what did not change meanwhile is listed, in order.
func TestLocalListDuringChurn(t *testing.T) {
	t.Parallel()
	l := NewLocal()
	t.Cleanup(func() { _ = l.Close() })
	var stable []string
	for i := range 5 * listYield {
		m := member("solo", 2*i, "") // even: stay
		l.Join("big", m)
		stable = append(stable, m.Conn)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := member("solo", 2*(i%(5*listYield))+1, "") // odd: come and go
			l.Join("big", m)
			l.Leave("big", m)
			if i%100 == 0 {
				l.Leave("other", m) // and the map of a channel appears and goes
				l.Join("other", m)
			}
		}
	})
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		got := listAll(t, l, "big", MaxLimit)
		if !slices.IsSorted(got) {
			t.Fatal("a listing out of order")
		}
		var even []string
		for _, c := range got {
			if memberIndex(t, c)%2 == 0 {
				even = append(even, c)
			}
		}
		if !slices.Equal(even, stable) {
			t.Fatalf("listed %d of the %d members that stayed", len(even), len(stable))
		}
	}
	close(stop)
	wg.Wait()
	if _, err := l.Count(context.Background(), "big"); err != nil {
		t.Fatal(err)
	}
}
