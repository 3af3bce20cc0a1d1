package presence

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

// benchMembers is the ring of members the Join+Leave benchmarks cycle
// through: distinct connections, so every Join adds and every Leave
// removes.
const benchMembers = 1024

func benchRing(node string) []Member {
	ring := make([]Member, benchMembers)
	for i := range ring {
		ring[i] = member(node, i, fmt.Sprint("user", i))
	}
	return ring
}

// BenchmarkLocalJoinLeave is the cost of one Join and its Leave on the
// Local store: what an event loop pays. "watched" adds the event queue and
// the dispatcher (to a handler that does nothing).
func BenchmarkLocalJoinLeave(b *testing.B) {
	for _, watched := range []bool{false, true} {
		b.Run(fmt.Sprintf("watched=%v", watched), func(b *testing.B) {
			l := NewLocal()
			defer func() { _ = l.Close() }()
			if err := l.Start(func(Event) {}); err != nil {
				b.Fatal(err)
			}
			if watched {
				l.Watch("room")
			}
			l.Join("room", member("solo", benchMembers, "resident")) // the channel stays
			ring := benchRing("solo")
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m := ring[i%benchMembers]
				l.Join("room", m)
				l.Leave("room", m)
				i++
				if watched && i%4096 == 0 {
					for l.events.len() > 0 { // let the dispatcher keep up, not drop
						runtime.Gosched()
					}
				}
			}
			reportPerPair(b)
		})
	}
}

// BenchmarkNATSJoinLeaveEnqueue is what an event loop pays for one Join
// and its Leave on the NATS store: the local set and the write queue.
// NATS is down, so the writer sends nothing; the benchmark empties the
// queue itself, timer stopped, before it fills.
func BenchmarkNATSJoinLeaveEnqueue(b *testing.B) {
	srv := startJetStream(b)
	n, nc := newNode(b, srv.ClientURL(), "a")
	srv.Shutdown()
	for nc.IsConnected() {
		runtime.Gosched()
	}
	n.Join("room", member("a", benchMembers, "resident")) // the channel stays
	ring := benchRing("a")
	buf := make([]Event, 0, writeBatch)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m := ring[i%benchMembers]
		n.Join("room", m)
		n.Leave("room", m)
		if i++; i%(DefaultQueueSize/4) == 0 {
			b.StopTimer()
			for len(n.queue.take(buf)) > 0 {
			}
			b.StartTimer()
		}
	}
	reportPerPair(b)
	b.StopTimer()
	if st := n.Stats(); st.Dropped != 0 {
		b.Fatalf("Stats = %+v", st)
	}
}

// BenchmarkNATSJoinLeaveWritten is the whole cost of one Join and its
// Leave on the NATS store: until JetStream acknowledged both writes, to
// an in-process server (file storage in TMPDIR). The server shares the
// process, so its CPU time and allocations count too.
func BenchmarkNATSJoinLeaveWritten(b *testing.B) {
	srv := startJetStream(b)
	n, _ := newNode(b, srv.ClientURL(), "a")
	n.Join("room", member("a", benchMembers, "resident")) // the channel stays
	ring := benchRing("a")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m := ring[i%benchMembers]
		n.Join("room", m)
		n.Leave("room", m)
		if i++; n.unwritten.Load() > DefaultQueueSize/2 {
			waitWritten(n)
		}
	}
	waitWritten(n)
	reportPerPair(b)
	b.StopTimer()
	if st := n.Stats(); st.Dropped != 0 || st.Errors != 0 {
		b.Fatalf("Stats = %+v", st)
	}
	if c, err := n.Count(context.Background(), "room"); err != nil || c != 1 {
		b.Fatalf("Count = %d, %v after every leave", c, err)
	}
}

// reportPerPair reports the time per Join and Leave as a figure of its
// own, which the benchmark summaries keep (they leave ns/op out).
func reportPerPair(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/join+leave")
}

// waitWritten waits until the writer has written everything queued.
func waitWritten(n *NATS) {
	for n.unwritten.Load() > 0 {
		runtime.Gosched()
	}
}

// BenchmarkLocalList100k is one page of 1,000 from a channel of 100,000
// members on the Local store.
func BenchmarkLocalList100k(b *testing.B) {
	l := NewLocal()
	defer func() { _ = l.Close() }()
	for i := range 100_000 {
		l.Join("big", member("solo", i, ""))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.List(context.Background(), "big", "", MaxLimit); err != nil {
			b.Fatal(err)
		}
	}
}

// memoryMembers is how many members the memory benchmarks hold.
const memoryMembers = 20_000

// BenchmarkMemberMemory is the node's heap per presence member (B/member):
// what the store keeps in the gateway's process for each member it joined
// (the NATS server's own storage of the bucket is not counted).
func BenchmarkMemberMemory(b *testing.B) {
	b.Run("local", func(b *testing.B) {
		for b.Loop() {
			l := NewLocal()
			b.ReportMetric(heapPerMember("m", func(m Member) { l.Join("room", m) }, func() {}), "B/member")
			_ = l.Close()
		}
	})
	b.Run("nats", func(b *testing.B) {
		srv := startJetStream(b)
		for i := 0; b.Loop(); i++ {
			node := fmt.Sprint("m", i)
			n, _ := newNode(b, srv.ClientURL(), node)
			b.ReportMetric(heapPerMember(node, func(m Member) {
				n.Join("room", m)
				if n.unwritten.Load() > DefaultQueueSize/2 {
					waitWritten(n)
				}
			}, func() { waitWritten(n) }), "B/member")
			_ = n.Close()
		}
	})
}

// heapPerMember joins memoryMembers members of node with join, waits with settle,
// and returns the live heap's growth per member.
func heapPerMember(node string, join func(Member), settle func()) float64 {
	members := make([]Member, memoryMembers)
	for i := range members {
		members[i] = member(node, i, fmt.Sprint("user", i))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, m := range members {
		join(m)
	}
	settle()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / memoryMembers
}
