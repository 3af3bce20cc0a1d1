package reactor

import (
	"context"
	"os"
	"testing"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/wsproto"
)

// sinkConn is a gnet.Conn whose socket is /dev/null: every write is taken
// whole, so fan-out can be measured without a network. Methods fan-out does
// not use panic through the nil embedded interface.
type sinkConn struct {
	gnet.Conn
	fd     int
	writes int
}

func (s *sinkConn) Fd() int                             { return s.fd }
func (s *sinkConn) OutboundBuffered() int               { return 0 }
func (s *sinkConn) Write(p []byte) (int, error)         { s.writes++; return len(p), nil }
func (s *sinkConn) Writev(bs [][]byte) (n int, _ error) { s.writes++; return 0, nil }

// fanOutFixture is a loop with subs connections subscribed to "news",
// writing to /dev/null.
func fanOutFixture(t testing.TB, subs int) (*loop, *topic, []*sinkConn) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devNull.Close() })
	l := newTestLoop()
	l.eng.cfg = Config{}.withDefaults()
	var sinks []*sinkConn
	for range subs {
		s := &sinkConn{fd: int(devNull.Fd())}
		c := &conn{gc: s, loop: l, state: stateOpen}
		l.subscribe(c, "news")
		sinks = append(sinks, s)
	}
	return l, l.topics["news"], sinks
}

// Fan-out allocates nothing per recipient: a batch costs the same few
// allocations (none once the loop's scratch arrays have grown) whether it
// goes to 10 or 1,000 subscribers.
func TestFanOutAllocatesNothingPerSubscriber(t *testing.T) {
	for _, subs := range []int{10, 1000} {
		l, tp, _ := fanOutFixture(t, subs)
		frame := wsproto.Prepare(ws.OpText, []byte(`{"type":"message","channel":"news","data":1}`))
		batch := func() {
			for range 8 {
				frame.Retain(1)
				l.inbox = append(l.inbox, delivery{topic: tp, frame: frame})
			}
			_ = l.drainInbox(context.Background())
		}
		batch() // grow the scratch arrays
		if allocs := testing.AllocsPerRun(100, batch); allocs != 0 {
			t.Errorf("%d subscribers: %.1f allocations per batch of 8 messages, want 0", subs, allocs)
		}
		if got := l.stats.deliveries.Load(); got != int64(102*8*subs) { // the first call, AllocsPerRun's warm-up, 100 runs
			t.Errorf("%d subscribers: %d deliveries, want %d", subs, got, 102*8*subs)
		}
		frame.Release()
	}
}

// A batch reaches each connection as one write, whatever its size.
func TestFanOutOneWritePerConnectionPerBatch(t *testing.T) {
	l, tp, sinks := fanOutFixture(t, 50)
	frame := wsproto.Prepare(ws.OpText, []byte(`"x"`))
	for range 20 {
		frame.Retain(1)
		l.inbox = append(l.inbox, delivery{topic: tp, frame: frame})
	}
	_ = l.drainInbox(context.Background())
	frame.Release()
	for i, s := range sinks {
		if s.writes != 0 {
			t.Fatalf("connection %d: %d writes through gnet, want 0 (the whole batch went out in one writev)", i, s.writes)
		}
	}
	if got := l.stats.framesOut.Load(); got != 20*50 {
		t.Fatalf("frames out %d, want %d", got, 20*50)
	}
}

func BenchmarkFanOut(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run("batch="+itoa(batch), func(b *testing.B) {
			l, tp, _ := fanOutFixture(b, 1000)
			frame := wsproto.Prepare(ws.OpText, make([]byte, 64))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for range batch {
					frame.Retain(1)
					l.inbox = append(l.inbox, delivery{topic: tp, frame: frame})
				}
				_ = l.drainInbox(context.Background())
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch*1000), "ns/delivery")
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
