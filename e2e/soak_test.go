package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// soakDuration is how long the broadcast and the attacks last: 20s in the
// ordinary suite, WSGATE_SOAK (e.g. 10m) for the long run.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("WSGATE_SOAK")
	if v == "" {
		return 20 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 10*time.Second {
		t.Fatalf("WSGATE_SOAK=%q: want a duration of at least 10s", v)
	}
	return d
}

const (
	soakSecret  = "soak-test-secret-0123456789abcdefghij"
	soakAPIKey  = "soak-api-key"
	soakRate    = 50 // broadcast messages per second
	soakPerNode = 100
	rssBound    = 64 << 20 // RSS after the attack, over the baseline
	gSlack      = 20       // goroutines after the attack, over the baseline
)

// TestSoakUnderAttack: a steady broadcast to well-behaved subscribers on
// two nodes joined by NATS, while attacker processes do slowloris
// handshakes, send malformed and oversize frames, flood publishes, stop
// reading, churn connections, hold idle sockets by the hundred, spam
// commands whose replies they never read and create channels by the
// thousand; NATS is killed and restarted once, then stalled (SIGSTOP: it
// keeps its sockets and stops reading them) for a few seconds. Every
// subscriber must get every message in order, the nodes must answer
// promptly throughout and stay up, and their memory and goroutines must
// come back to their baseline.
func TestSoakUnderAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: not in -short")
	}
	dur := soakDuration(t)
	total := int(dur.Seconds()) * soakRate
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(soakSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	natsAddr := testkit.ReserveAddr(t) // NATS is killed and comes back on it
	ext := startNATSAt(t, natsAddr)
	flags := []string{
		"--nats", "nats://" + natsAddr, "--nats-replay-delay", "1500ms",
		// Held publications cover the outage at the rate clients are
		// allowed (docs/security.md: the buffer is shared by all publishers).
		"--nats-publish-buffer", strconv.Itoa(64 << 20),
		"--jwt-hmac-secret-file", secretFile, "--api-key", soakAPIKey,
		"--handshake-timeout", "2s",
		"--handshake-rate-per-ip", "20", "--handshake-burst-per-ip", "300",
		// Low enough that the fd flood and the channel flood reach them.
		"--max-handshakes-per-ip", "100", "--max-channels", "200",
	}
	// GOMEMLIMIT makes the runtime collect and return garbage as the heap
	// nears it, so RSS after the attack measures what is still live rather
	// than when the next GC cycle happens to run (docs/security.md).
	env := []string{"GOMEMLIMIT=48MiB"}
	nodes := []*node{
		startNodeEnv(t, env, append([]string{"--node-id", "a"}, flags...)...),
		startNodeEnv(t, env, append([]string{"--node-id", "b"}, flags...)...),
	}
	good := soakToken(t, "reader", []string{"stream"}, nil)
	subs := subscribers(t, 2*soakPerNode, total, dur+2*time.Minute,
		nodes[0].url("/ws?channels=stream&token="+good), nodes[1].url("/ws?channels=stream&token="+good))
	testkit.Eventually(t, 10*time.Second, "both nodes' interest on NATS", func() bool { return ext.subscriptions(t) >= 2 })

	baseRSS, baseG := make([]int64, 2), make([]float64, 2)
	for i, n := range nodes {
		baseRSS[i], baseG[i] = rssBytes(t, n.cmd.Process.Pid), goroutines(t, n)
	}
	t.Logf("baseline: RSS %d / %d MiB, goroutines %v / %v", baseRSS[0]>>20, baseRSS[1]>>20, baseG[0], baseG[1])

	attackers := startAttackers(t, nodes, dur)

	// A watcher on node b sees what crosses NATS, so the kill can wait
	// until nothing is in flight: core NATS is at most once, and a message
	// written to a server's socket just before it dies is lost whatever
	// the gateway does (docs/security.md). What is published during the
	// outage is held and replayed, and must all arrive.
	watcher, err := wstest.Dial(nodes[1].url("/ws?channels=stream&token="+good), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	var lastSeen atomic.Int64
	lastSeen.Store(-1)
	go func() {
		for {
			_, p, err := watcher.ReadMessage()
			if err != nil {
				return
			}
			var m struct{ Data string }
			if json.Unmarshal(p, &m) == nil {
				if _, seq, ok := strings.Cut(m.Data, ":"); ok {
					n, _ := strconv.Atoi(seq)
					lastSeen.Store(int64(n))
				}
			}
		}
	}()

	// Phase 1: a third of the broadcast with NATS up.
	before := total / 3
	publishSteadily(t, nodes[0], 0, before)
	testkit.Eventually(t, 10*time.Second, "node b to receive the last message before the outage", func() bool {
		return lastSeen.Load() == int64(before-1)
	})
	// NATS dies; once both nodes know, the broadcast goes on (held by node
	// a, replayed after NATS is back).
	_ = ext.cmd.Process.Signal(syscall.SIGKILL)
	<-ext.done
	for _, n := range nodes {
		testkit.Eventually(t, 10*time.Second, "the outage to be noticed", func() bool { return !relayConnected(t, n) })
	}
	var pubWG sync.WaitGroup
	pubWG.Go(func() { publishSteadily(t, nodes[0], before, total) })
	time.Sleep(2 * time.Second) // the outage lasts this long, while publishing goes on
	ext = startNATSAt(t, natsAddr)
	for _, n := range nodes {
		testkit.Eventually(t, 20*time.Second, "NATS reconnect", func() bool { return relayConnected(t, n) })
	}
	// NATS stalls: its process stops (SIGSTOP) with every socket open, so
	// the nodes' writes to it back up. The bus I/O is off the loops and
	// out of the status path, so the nodes keep answering; what is
	// published meanwhile waits in the publish queue and flows on SIGCONT.
	time.Sleep(time.Second)
	_ = ext.cmd.Process.Signal(syscall.SIGSTOP)
	stallEnd := time.Now().Add(3 * time.Second)
	var worst time.Duration
	for time.Now().Before(stallEnd) {
		for _, n := range nodes {
			worst = max(worst, timeOf(t, func() { n.stats(t) }), timeOf(t, func() { ready(t, n) }))
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = ext.cmd.Process.Signal(syscall.SIGCONT)
	t.Logf("NATS stalled 3 s: the slowest /api/stats or /readyz answer took %s", worst)
	if worst > time.Second {
		t.Errorf("a node took %s to answer while NATS was stalled", worst)
	}
	pubWG.Wait()

	watcher.Close()
	s := subs.summary(t, 2*time.Minute)
	if s["messages"] != float64(2*soakPerNode*total) || s["out_of_order"] != float64(0) || s["complete"] != float64(2*soakPerNode) {
		t.Errorf("well-behaved subscribers: %v, want %d messages each, in order", s, total)
	}
	for mode, p := range attackers {
		line, err := p.readLine(30 * time.Second)
		if err != nil {
			t.Errorf("attacker %s: %v; stderr: %s", mode, err, p.Stderr())
			continue
		}
		t.Logf("attacker %s", line)
	}

	defended := map[string]float64{}
	for i, n := range nodes {
		select {
		case <-n.done:
			t.Fatalf("node %d exited: %v\n%s", i, n.err, lastLines(n.Stderr(), 30))
		default:
		}
		if strings.Contains(n.Stderr(), "panic") {
			t.Errorf("node %d logged a panic:\n%s", i, lastLines(n.Stderr(), 30))
		}
		resp, err := http.Get("http://" + n.admin + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("node %d /healthz: %v %v", i, resp, err)
		}
		resp.Body.Close()
		st := n.stats(t)["stats"].(map[string]any)
		for _, k := range []string{"handshake_timeouts", "handshake_rate_limited", "rate_limited", "forbidden_frames", "slow_consumer_closes", "error_frames", "channels_refused"} {
			defended[k] += st[k].(float64)
		}
		defended["sockets_refused.handshakes_per_ip"] += st["sockets_refused"].(map[string]any)["handshakes_per_ip"].(float64)
		// The subscribers have finished and the attackers have exited:
		// every connection must be gone, none leaked in any state.
		testkit.Eventually(t, 20*time.Second, fmt.Sprintf("node %d to hold no connection", i), func() bool {
			return n.stats(t)["stats"].(map[string]any)["connections"] == float64(0)
		})
		var rss int64
		ok := testkit.Poll(30*time.Second, func() bool {
			rss = rssBytes(t, n.cmd.Process.Pid)
			return rss <= baseRSS[i]+rssBound
		})
		if !ok {
			t.Errorf("node %d RSS %d MiB, baseline %d MiB: over the %d MiB bound", i, rss>>20, baseRSS[i]>>20, rssBound>>20)
		}
		var g float64
		if !testkit.Poll(30*time.Second, func() bool { g = goroutines(t, n); return g <= baseG[i]+gSlack }) {
			t.Errorf("node %d has %v goroutines, baseline %v", i, g, baseG[i])
		}
		t.Logf("node %d after: RSS %d MiB, goroutines %v", i, rss>>20, g)

	}
	t.Logf("defences fired: %v", defended)
	for k, v := range defended {
		if v == 0 {
			t.Errorf("%s = 0: the attack did not exercise this defence", k)
		}
	}
}

// timeOf is how long f takes.
func timeOf(t testing.TB, f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// ready fetches /readyz (200 or 503 both answer).
func ready(t testing.TB, n *node) {
	t.Helper()
	resp, err := http.Get("http://" + n.admin + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// soakToken signs a token valid for an hour.
func soakToken(t testing.TB, sub string, subscribe, publish []string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "subscribe": subscribe, "publish": publish,
	}).SignedString([]byte(soakSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startAttackers starts one attacker process per mode, each from its own
// loopback address, against both nodes, for dur.
func startAttackers(t *testing.T, nodes []*node, dur time.Duration) map[string]*process {
	t.Helper()
	tok := soakToken(t, "attacker", []string{"junk.>", "stream"}, []string{"junk.>"})
	procs := map[string]*process{}
	for i, a := range []struct {
		mode  string
		conns int
	}{
		{"slowloris", 40}, {"malformed", 3}, {"oversize", 3}, {"flood", 3}, {"noread", 10}, {"churn", 3},
		{"fdflood", 2}, {"ackspam", 4}, {"channels", 4},
	} {
		channel := "junk.firehose"
		if a.mode == "churn" {
			channel = "stream" // churn on the channel the good subscribers read
		}
		args := []string{"-mode", a.mode, "-conns", strconv.Itoa(a.conns), "-duration", dur.String(),
			"-source", fmt.Sprintf("127.0.0.%d", 10+i), "-token", tok, "-channel", channel, "-interval", "300ms",
			"-sockets", "150"}
		for _, n := range nodes {
			args = append(args, "-url", n.url(""))
		}
		procs[a.mode] = start(t, "attacker", args...)
	}
	return procs
}

// publishSteadily publishes "A:<from>".."A:<to-1>" on "stream" through
// node's admin API at soakRate per second.
func publishSteadily(t *testing.T, n *node, from, to int) {
	tick := time.NewTicker(time.Second / soakRate)
	defer tick.Stop()
	for i := from; i < to; i++ {
		<-tick.C
		body, _ := json.Marshal(map[string]any{"channel": "stream", "data": fmt.Sprintf("A:%d", i)})
		req, _ := http.NewRequest("POST", "http://"+n.admin+"/api/publish", bytes.NewReader(body))
		req.Header.Set("X-API-Key", soakAPIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("publish %d: %v", i, err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("publish %d: status %d", i, resp.StatusCode)
			return
		}
	}
}

func relayConnected(t testing.TB, n *node) bool {
	return n.stats(t)["relay"].(map[string]any)["connected"] == true
}

// goroutines reads go_goroutines from the node's /metrics.
func goroutines(t testing.TB, n *node) float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			g, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
	}
	t.Fatal("no go_goroutines in /metrics")
	return 0
}
