package e2e

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/wstest"
)

// BenchmarkClusterCrossNode measures three nodes sharing an external NATS
// on this host. latency: publications over node a's HTTP API at 100/s reach
// 100 subscribers on each of nodes b and c; the end-to-end latency of every
// delivery is reported as p50/p99/max. throughput: 9,000 subscribers over the
// three nodes (three client processes) get a 1,000-message burst published
// round-robin on the three nodes; deliveries/s and the CPU of the three
// nodes and NATS per delivery. Run once:
//
//	go test -run '^$' -bench ClusterCrossNode -benchtime 1x ./e2e/
func BenchmarkClusterCrossNode(b *testing.B) {
	b.Run("latency", func(b *testing.B) {
		for range b.N {
			ext := startNATS(b)
			c := startCluster(b, false, ext)
			const perNode, msgs = 10, 1000
			var (
				mu   sync.Mutex
				lats []time.Duration
				wg   sync.WaitGroup
			)
			for _, n := range c.nodes[1:] {
				for range perNode {
					conn, err := wstest.Dial(n.url("/ws?channels=lat"), 10*time.Second)
					if err != nil {
						b.Fatal(err)
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer conn.Close()
						_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
						local := make([]time.Duration, 0, msgs)
						for range msgs {
							_, p, err := conn.ReadMessage()
							if err != nil {
								b.Error(err)
								return
							}
							now := time.Now()
							local = append(local, now.Sub(time.Unix(0, sentAt(p))))
						}
						mu.Lock()
						lats = append(lats, local...)
						mu.Unlock()
					}()
				}
			}
			c.waitSubscriptions(b, 2)
			tick := time.NewTicker(10 * time.Millisecond)
			for i := range msgs {
				<-tick.C
				c.nodes[0].publish(b, "lat", fmt.Sprintf("A:%d:%d", i, time.Now().UnixNano()))
			}
			tick.Stop()
			wg.Wait()
			slices.Sort(lats)
			pct := func(p float64) float64 { return float64(lats[int(p*float64(len(lats)-1))].Microseconds()) }
			b.ReportMetric(pct(0.50), "p50-µs")
			b.ReportMetric(pct(0.99), "p99-µs")
			b.ReportMetric(pct(1), "max-µs")
			b.ReportMetric(float64(len(lats)), "deliveries")
		}
	})
	b.Run("throughput", func(b *testing.B) {
		for range b.N {
			ext := startNATS(b)
			c := startCluster(b, false, ext)
			const perProcess, msgs = 3000, 1000
			var procs []*process
			for range 3 {
				procs = append(procs, subscribers(b, perProcess, msgs, 5*time.Minute, c.urls("/ws?channels=fanout")...))
			}
			c.waitSubscriptions(b, 3)
			pids := []int{ext.cmd.Process.Pid, c.nodes[0].cmd.Process.Pid, c.nodes[1].cmd.Process.Pid, c.nodes[2].cmd.Process.Pid}
			cpu := func() (sum time.Duration) {
				for _, pid := range pids {
					sum += cpuTime(b, pid)
				}
				return sum
			}
			before, start := cpu(), time.Now()
			for i := range msgs {
				c.nodes[i%3].publish(b, "fanout", fmt.Sprintf("P%d:%d", i%3, i/3))
			}
			for _, p := range procs {
				p.summary(b, 5*time.Minute)
			}
			elapsed, used := time.Since(start), cpu()-before
			deliveries := float64(3 * perProcess * msgs)
			b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(float64(used.Microseconds())/deliveries, "µs-CPU/delivery")
		}
	})
}

// sentAt reads the timestamp from data "A:seq:unixnano".
func sentAt(msg []byte) int64 {
	s := string(msg)
	i := strings.Index(s, `"data":"`)
	if i < 0 {
		return 0
	}
	fields := strings.Split(strings.TrimSuffix(s[i+len(`"data":"`):], `"}`), ":")
	ts, _ := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	return ts
}
