package e2e

import (
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
)

// BenchmarkPresenceMember reports what presence costs a node per member:
// the same subscribers join a channel with presence (--presence) and one
// without, and the differences are the member's extra RSS and the extra
// CPU of its join (at subscribe) and of its leave (at close), with the
// in-process store (local) and with NATS JetStream KV (nats, where the
// NATS server's CPU per member, join and leave together, is reported too).
//
//	go test -run '^$' -bench PresenceMember -benchtime 1x -count 3 ./e2e/
func BenchmarkPresenceMember(b *testing.B) {
	conns := benchConns()
	for _, mode := range []string{"local", "nats"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				var flags []string
				var natsPID int
				if mode == "nats" {
					addr := testkit.ReserveAddr(b)
					srv := startNATSJetStream(b, addr, b.TempDir())
					natsPID = srv.cmd.Process.Pid
					flags = []string{"--nats", "nats://" + addr}
				}
				with := presenceRun(b, conns, append(flags, "--presence", "room.>"), "room.1", natsPID)
				without := presenceRun(b, conns, flags, "plain.1", natsPID)
				b.ReportMetric(float64(with.rss-without.rss)/float64(conns), "B/member")
				b.ReportMetric(float64((with.join-without.join).Nanoseconds())/1e3/float64(conns), "µs-CPU/join")
				b.ReportMetric(float64((with.leave-without.leave).Nanoseconds())/1e3/float64(conns), "µs-CPU/leave")
				if mode == "nats" {
					b.ReportMetric(float64((with.bus-without.bus).Nanoseconds())/1e3/float64(conns), "µs-NATS-CPU/member")
				}
			}
		})
	}
}

// presenceCosts are one run's measures: the node's RSS with every
// subscriber in, its CPU while they joined and while they left, and the
// NATS server's CPU over both.
type presenceCosts struct {
	rss              int64
	join, leave, bus time.Duration
}

func presenceRun(b *testing.B, conns int, flags []string, channel string, natsPID int) presenceCosts {
	n := startNode(b, flags...)
	pid := n.cmd.Process.Pid
	settledRSS(b, pid)
	var busStart time.Duration
	if natsPID != 0 {
		busStart = cpuTime(b, natsPID)
	}
	start := cpuTime(b, pid)
	p := subscribers(b, conns, 1, 10*time.Minute, n.url("/ws?channels="+channel))
	testkit.Eventually(b, time.Minute, "all subscribed", func() bool {
		return n.stats(b)["stats"].(map[string]any)["subscriptions"] == float64(conns)
	})
	var c presenceCosts
	c.rss = settledRSS(b, pid)
	joined := cpuTime(b, pid)
	c.join = joined - start
	n.publish(b, channel, "A:0") // the subscribers take it and close
	p.summary(b, time.Minute)
	testkit.Eventually(b, time.Minute, "all gone", func() bool {
		return n.stats(b)["stats"].(map[string]any)["connections"] == float64(0)
	})
	time.Sleep(time.Second) // the leaves reach the store
	c.leave = cpuTime(b, pid) - joined
	if natsPID != 0 {
		c.bus = cpuTime(b, natsPID) - busStart
	}
	return c
}
