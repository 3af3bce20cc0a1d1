package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// natsServer is an external nats-server process.
type natsServer struct {
	*process
	addr, monitor string
}

// startNATS runs nats-server on ports the kernel picks (-p -1, -m -1)
// and reads them from its log.
func startNATS(t testing.TB) *natsServer { return startNATSPort(t, "-1") }

// startNATSAt runs nats-server on addr, a testkit.ReserveAddr address that
// stays reserved for the test: the one nodes were told before NATS came
// up, or the one it comes back on after an outage (killed, or a stalled
// fake taken away). Its monitoring port is new each time.
func startNATSAt(t testing.TB, addr string) *natsServer {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("nats-server address %q: %v", addr, err)
	}
	return startNATSPort(t, port)
}

func startNATSPort(t testing.TB, port string) *natsServer {
	t.Helper()
	p := start(t, "nats-server", "-a", "127.0.0.1", "-p", port, "-m", "-1")
	s := &natsServer{process: p}
	s.monitor = p.logLine(t, 10*time.Second, "Starting http monitor on ")
	s.addr = p.logLine(t, 10*time.Second, "Listening for client connections on ")
	testkit.Eventually(t, 10*time.Second, "nats-server monitoring on "+s.monitor, func() bool { return s.subscriptions(t) >= 0 })
	return s
}

// subscriptionsAt counts the channel subscriptions that wsgate nodes hold
// on NATS (connections named wsgate-*; the server's own internal ones, and
// the nodes' control and presence subjects, are left out), from its
// monitoring endpoint, or -1 while it does not answer.
func subscriptionsAt(monitor string) int {
	resp, err := http.Get("http://" + monitor + "/connz?subs=1")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var v struct {
		Connections []struct {
			Name string   `json:"name"`
			Subs []string `json:"subscriptions_list"`
		} `json:"connections"`
	}
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return -1
	}
	n := 0
	for _, c := range v.Connections {
		if !strings.HasPrefix(c.Name, "wsgate-") {
			continue
		}
		for _, sub := range c.Subs {
			// The control plane's and presence's own subjects, and
			// request inboxes, are not channel interest.
			if !strings.HasPrefix(sub, "wsgate.ctl.") && !strings.HasPrefix(sub, "wsgate.presence.") && !strings.HasPrefix(sub, "_INBOX.") && !strings.HasPrefix(sub, "$") {
				n++
			}
		}
	}
	return n
}

func (s *natsServer) subscriptions(testing.TB) int { return subscriptionsAt(s.monitor) }

// cluster is three wsgate nodes sharing one NATS.
type cluster struct {
	nodes   [3]*node
	natsURL string
	monitor string
}

// startCluster starts three nodes; with embedded set, node a embeds NATS,
// else they join an external nats-server.
func startCluster(t testing.TB, embedded bool, ext *natsServer) *cluster {
	t.Helper()
	c := &cluster{}
	if embedded {
		a := startNode(t, "--node-id", "a", "--nats-listen", "127.0.0.1:0", "--nats-monitor", "127.0.0.1:0")
		c.natsURL = a.logAttr(t, 10*time.Second, "embedded NATS listening", "url")
		c.monitor = a.logAttr(t, 10*time.Second, "embedded NATS monitoring listening", "addr")
		c.nodes[0] = a
	} else {
		c.natsURL, c.monitor = "nats://"+ext.addr, ext.monitor
		c.nodes[0] = startNode(t, "--node-id", "a", "--nats", c.natsURL, "--nats-replay-delay", "3s")
	}
	c.nodes[1] = startNode(t, "--node-id", "b", "--nats", c.natsURL, "--nats-replay-delay", "3s")
	c.nodes[2] = startNode(t, "--node-id", "c", "--nats", c.natsURL, "--nats-replay-delay", "3s")
	return c
}

func (c *cluster) urls(path string) []string {
	return []string{c.nodes[0].url(path), c.nodes[1].url(path), c.nodes[2].url(path)}
}

// waitSubscriptions waits until NATS holds at least n subscriptions.
func (c *cluster) waitSubscriptions(t testing.TB, n int) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, fmt.Sprintf("%d NATS subscriptions", n), func() bool { return subscriptionsAt(c.monitor) >= n })
}

// Publications from a client frame on node a, the HTTP API on node b and
// straight on NATS each reach every subscriber on every node exactly once,
// in order per publisher.
func TestClusterDeliversEachPublicationOnceInOrder(t *testing.T) {
	for _, mode := range []string{"embedded", "external"} {
		t.Run(mode, func(t *testing.T) {
			var ext *natsServer
			if mode == "external" {
				ext = startNATS(t)
			}
			c := startCluster(t, mode == "embedded", ext)
			const subs, perPublisher = 60, 200
			p := subscribers(t, subs, 3*perPublisher, time.Minute, c.urls("/ws?channels=news")...)
			c.waitSubscriptions(t, 3)

			pub, err := wstest.Dial(c.nodes[0].url("/ws"), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			nc, err := nats.Connect(c.natsURL)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()

			var wg sync.WaitGroup
			wg.Add(3)
			go func() { // a client frame on node a
				defer wg.Done()
				for i := range perPublisher {
					frame := fmt.Sprintf(`{"type":"publish","channel":"news","data":"A:%d"}`, i)
					if err := pub.WriteText([]byte(frame)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			go func() { // the HTTP API of node b
				defer wg.Done()
				for i := range perPublisher {
					c.nodes[1].publish(t, "news", fmt.Sprintf("B:%d", i))
				}
			}()
			go func() { // a backend publishing on NATS directly
				defer wg.Done()
				for i := range perPublisher {
					if err := nc.Publish("wsgate.ch.news", []byte(strconv.Quote(fmt.Sprintf("N:%d", i)))); err != nil {
						t.Error(err)
						return
					}
				}
				_ = nc.Flush()
			}()
			wg.Wait()
			s := p.summary(t, time.Minute)
			if s["messages"] != float64(subs*3*perPublisher) {
				t.Fatalf("got %v messages, want %d: %v", s["messages"], subs*3*perPublisher, s)
			}
		})
	}
}

// A node with no subscriber of a channel receives none of its traffic.
func TestClusterInterestOnlyWhereSubscribed(t *testing.T) {
	ext := startNATS(t)
	c := startCluster(t, false, ext)
	a, b, cNode := c.nodes[0], c.nodes[1], c.nodes[2]
	const msgs = 100
	p := subscribers(t, 10, msgs, time.Minute, a.url("/ws?channels=only-a"))
	c.waitSubscriptions(t, 1)
	if got := subscriptionsAt(c.monitor); got != 1 {
		t.Errorf("nodes hold %d subscriptions on NATS, want 1 (node a's, for its 10 subscribers)", got)
	}
	for i := range msgs {
		b.publish(t, "only-a", fmt.Sprintf("B:%d", i))
	}
	p.summary(t, time.Minute)

	relayIn := func(n *node) float64 { return n.stats(t)["relay"].(map[string]any)["messages_in"].(float64) }
	if got := relayIn(a); got != msgs {
		t.Errorf("node a received %v messages from NATS, want %d", got, msgs)
	}
	if got := relayIn(cNode); got != 0 {
		t.Errorf("node c has no subscriber but received %v messages from NATS", got)
	}
	if got := relayIn(b); got != 0 {
		t.Errorf("node b (the publisher, no subscribers) received %v messages from NATS", got)
	}
}

// NATS restarted in the middle of a stream: delivery resumes on every node,
// and what node b accepted during the outage reaches every subscriber, in
// order.
func TestClusterSurvivesNATSRestart(t *testing.T) {
	addr := testkit.ReserveAddr(t) // NATS comes back on it
	ext := startNATSAt(t, addr)
	c := startCluster(t, false, ext)
	const subs, before, during, after = 30, 100, 50, 100
	p := subscribers(t, subs, before+during+after, 40*time.Second, c.urls("/ws?channels=stream")...)
	c.waitSubscriptions(t, 3)
	seq := 0
	publish := func(n int) {
		for range n {
			c.nodes[1].publish(t, "stream", fmt.Sprintf("B:%d", seq))
			seq++
		}
	}
	publish(before)
	// Core NATS is at most once: what is in flight when the server dies is
	// lost. Kill it only once nodes a and c have received the first batch.
	for _, n := range []*node{c.nodes[0], c.nodes[2]} {
		testkit.Eventually(t, 10*time.Second, "the first batch to cross NATS", func() bool {
			return n.stats(t)["relay"].(map[string]any)["delivered"] == float64(before)
		})
	}
	ext.cmd.Process.Signal(syscall.SIGKILL)
	<-ext.done
	for _, n := range c.nodes {
		testkit.Eventually(t, 10*time.Second, "relay to notice the outage", func() bool {
			return n.stats(t)["relay"].(map[string]any)["connected"] == false
		})
	}
	publish(during) // held by node b, delivered locally at once
	if held := c.nodes[1].stats(t)["relay"].(map[string]any)["buffered_bytes"].(float64); held == 0 {
		t.Fatal("node b holds no publications during the outage")
	}

	startNATSAt(t, addr)
	for _, n := range c.nodes {
		testkit.Eventually(t, 15*time.Second, "relay to reconnect", func() bool {
			return n.stats(t)["relay"].(map[string]any)["connected"] == true
		})
	}
	publish(after)
	s := p.summary(t, time.Minute)
	if s["messages"] != float64(subs*(before+during+after)) {
		t.Fatalf("got %v messages, want %d: %v", s["messages"], subs*(before+during+after), s)
	}
}

// 9,000 subscribers over three nodes, held by three client processes, all
// receive a burst of 1,000 messages.
func TestCluster9000SubscribersReceiveBurst(t *testing.T) {
	ext := startNATS(t)
	c := startCluster(t, false, ext)
	const perProcess, msgs = 3000, 1000
	var procs []*process
	for range 3 {
		procs = append(procs, subscribers(t, perProcess, msgs, 3*time.Minute, c.urls("/ws?channels=fanout")...))
	}
	c.waitSubscriptions(t, 3)
	for i := range msgs {
		c.nodes[i%3].publish(t, "fanout", fmt.Sprintf("P%d:%d", i%3, i/3))
	}
	for _, p := range procs {
		s := p.summary(t, 3*time.Minute)
		if s["messages"] != float64(perProcess*msgs) {
			t.Fatalf("got %v messages, want %d: %v", s["messages"], perProcess*msgs, s)
		}
	}
}
