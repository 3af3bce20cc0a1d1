package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/internal/testkit"
)

// These benchmarks measure a real wsgate process from the outside, as an
// operator would: run each once (-benchtime 1x), e.g.
//
//	go test -run '^$' -bench . -benchtime 1x ./e2e/
//
// WSGATE_BENCH_CONNS sets the number of subscribers (default 5000; the test
// process's open-files cap allows up to about 9,000).

func benchConns() int {
	if n, err := strconv.Atoi(os.Getenv("WSGATE_BENCH_CONNS")); err == nil && n > 0 {
		return n
	}
	return 5000
}

// cpuTime is a process's user plus system CPU time, from /proc.
func cpuTime(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	s, err := bench.SampleProc(pid)
	if err != nil {
		tb.Fatal(err)
	}
	return time.Duration(s.CPUNanos)
}

// settledRSS waits until the process's RSS stops changing (within 64 KiB
// over 500ms, at most 10s) and returns it.
func settledRSS(t testing.TB, pid int) int64 {
	prev := rssBytes(t, pid)
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		cur := rssBytes(t, pid)
		if d := cur - prev; d < 64<<10 && d > -64<<10 {
			return cur
		}
		prev = cur
	}
	return prev
}

// BenchmarkIdleSubscribedConnectionMemory reports the server's RSS per idle
// connection subscribed to one channel (user space only; the kernel keeps
// about 4 KB per idle socket besides, see docs/tuning.md).
func BenchmarkIdleSubscribedConnectionMemory(b *testing.B) {
	conns := benchConns()
	for range b.N {
		tb := b
		n := startNode(tb)
		base := settledRSS(tb, n.cmd.Process.Pid)
		p := subscribers(tb, conns, 1, 10*time.Minute, n.url("/ws?channels=idle"))
		testkit.Eventually(tb, time.Minute, "all upgraded", func() bool {
			return n.stats(tb)["stats"].(map[string]any)["subscriptions"] == float64(conns)
		})
		rss := settledRSS(tb, n.cmd.Process.Pid)
		b.ReportMetric(float64(rss-base)/float64(conns), "B/conn")
		b.ReportMetric(float64(rss)/(1<<20), "MiB-RSS")
		n.publish(tb, "idle", "A:0") // let the subscribers finish
		p.summary(tb, time.Minute)
	}
}

// BenchmarkBroadcastCPUPerDelivery reports the server's CPU time per
// delivered 64-byte message, publishing over the admin API to every
// subscriber of one channel: at 10 messages/s (each message on its own)
// and as a burst (messages queued for one connection go out in one write).
func BenchmarkBroadcastCPUPerDelivery(b *testing.B) {
	conns := benchConns()
	for _, tc := range []struct {
		name     string
		messages int
		interval time.Duration
	}{
		{name: "rate=10/s", messages: 50, interval: 100 * time.Millisecond},
		{name: "burst", messages: 1000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				tb := b
				n := startNode(tb)
				p := subscribers(tb, conns, tc.messages, 10*time.Minute, n.url("/ws?channels=cast"))
				testkit.Eventually(tb, time.Minute, "all subscribed", func() bool {
					return n.stats(tb)["stats"].(map[string]any)["subscriptions"] == float64(conns)
				})
				pid := n.cmd.Process.Pid
				before := cpuTime(tb, pid)
				start := time.Now()
				for i := range tc.messages {
					data := fmt.Sprintf("A:%d:", i)
					n.publish(tb, "cast", data+strings.Repeat("x", 62-len(data))) // 64 bytes of JSON
					if tc.interval > 0 {
						time.Sleep(tc.interval)
					}
				}
				p.summary(tb, 10*time.Minute)
				elapsed := time.Since(start)
				cpu := cpuTime(tb, pid) - before
				deliveries := float64(conns * tc.messages)
				b.ReportMetric(float64(cpu.Microseconds())/deliveries, "µs-CPU/delivery")
				b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
			}
		})
	}
}
