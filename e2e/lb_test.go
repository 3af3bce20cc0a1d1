package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/internal/testkit"
)

// The recipes of deploy/ run with the real proxies: each test renders the
// committed file (only its documented example values replaced: ports,
// certificate paths, node addresses) and starts HAProxy or NGINX on it in
// front of two nodes sharing an embedded NATS, clients connecting over
// TLS from chosen loopback addresses.

// balanced is two nodes behind a proxy running a recipe.
type balanced struct {
	a, b  *node
	front string // the proxy's TLS listener
	tls   *testTLS
	proxy *process
	sock  string // HAProxy's runtime API socket
}

// startPair starts nodes a (embedding NATS) and b with flags.
func startPair(t *testing.T, flags ...string) (a, b *node) {
	t.Helper()
	a = startNode(t, append([]string{"--node-id", "a", "--nats-listen", "127.0.0.1:0"}, flags...)...)
	url := a.logAttr(t, 10*time.Second, "embedded NATS listening", "url")
	b = startNode(t, append([]string{"--node-id", "b", "--nats", url}, flags...)...)
	return a, b
}

func portOf(t testing.TB, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// stopOnCleanup asks p to stop (SIGTERM: both proxies then close their
// listeners and connections, NGINX's master its workers too) before
// startCmd's cleanup kills it, which would leave NGINX's workers running.
func stopOnCleanup(t *testing.T, p *process) {
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop within 10 s of SIGTERM", p.cmd.Path)
		}
	})
}

// startHAProxyPair renders deploy/haproxy/haproxy.cfg for two nodes run as
// it asks (PROXY protocol v2 from HAProxy, the agent-check responder, the
// balancer's idle timeout) plus extra flags, runs HAProxy on it, and waits
// until HAProxy sees both nodes up and has heard from both agents.
func startHAProxyPair(t *testing.T, extra ...string) *balanced {
	t.Helper()
	haproxy := testkit.RequireTool(t, "haproxy")
	cfg := recipe(t, "haproxy/haproxy.cfg")
	flags := append([]string{"--proxy-protocol", "v2", "--trusted-proxies", "127.0.0.1/32", "--agent-listen", "127.0.0.1:0",
		"--lb-idle-timeout", recipeDuration(t, cfg, "timeout tunnel")}, extra...)
	c := &balanced{tls: newTestTLS(t), front: testkit.ReserveAddr(t)}
	c.a, c.b = startPair(t, flags...)
	dir := t.TempDir()
	c.sock = filepath.Join(dir, "admin.sock")
	cfg = replaceAll(t, cfg,
		"maxconn 200000", "maxconn 2000", // this host's open-files cap is lower than a production one's
		"bind :443 ", "bind "+c.front+" ",
		"/etc/wsgate/tls/wsgate.pem", c.tls.pemFile,
		"/run/haproxy/admin.sock", c.sock)
	for _, s := range []struct {
		name string
		n    *node
		ex   string
	}{{"a", c.a, "10.0.1.11:8080"}, {"b", c.b, "10.0.1.12:8080"}} {
		agent := s.n.logAttr(t, 10*time.Second, "agent-check responder listening", "addr")
		cfg = replaceInLine(t, cfg, "server "+s.name+" ",
			s.ex, s.n.ws,
			" port 8081", " port "+portOf(t, s.n.admin),
			"agent-port 8082", "agent-port "+portOf(t, agent))
	}
	if os.Geteuid() != 0 { // only root may chroot and change user
		cfg = replaceAll(t, cfg, "    chroot /var/lib/haproxy\n", "", "    user haproxy\n", "", "    group haproxy\n", "")
	}
	file := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", file).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c rejects the rendered recipe: %v\n%s", err, out)
	}
	c.proxy = startCmd(t, exec.Command(haproxy, "-db", "-f", file))
	stopOnCleanup(t, c.proxy)
	testkit.Eventually(t, 15*time.Second, "HAProxy sees both nodes up and their agents", func() bool {
		st, err := c.servers()
		if err != nil {
			return false
		}
		for _, name := range []string{"a", "b"} {
			if st[name]["status"] != "UP" || !strings.HasPrefix(st[name]["agent_status"], "L7OK") {
				return false
			}
		}
		return true
	})
	return c
}

// servers reads HAProxy's view of the backend's servers ("show stat" on
// the runtime API): by server name, each column by its name (status: UP,
// DRAIN, DOWN...; weight; agent_status; scur, the connections).
func (c *balanced) servers() (map[string]map[string]string, error) {
	conn, err := net.DialTimeout("unix", c.sock, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		return nil, fmt.Errorf("show stat: %q: %v", b, err)
	}
	out := map[string]map[string]string{}
	for _, row := range rows[1:] {
		if len(row) < 2 || row[0] != "wsgate" || row[1] == "BACKEND" {
			continue
		}
		cols := map[string]string{}
		for i, name := range rows[0] {
			if i < len(row) {
				cols[name] = row[i]
			}
		}
		out[row[1]] = cols
	}
	return out, nil
}

// url is the wss:// URL of /ws through the proxy.
func (c *balanced) url() string { return "wss://" + c.front + "/ws" }

// newClient is a Go client connected through the proxy.
func (c *balanced) newClient(t *testing.T) *client.Client {
	t.Helper()
	cl := client.New([]string{c.url()}, client.Options{TLSConfig: c.tls.clientConfig()})
	t.Cleanup(func() { _ = cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := cl.Connect(ctx); err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	return cl
}

// checkPubSub connects two Go clients over TLS through the proxy, which
// must put them on different nodes (least connections); the first
// subscribes, the second publishes: every publication arrives once, in
// order, across the nodes, and so does one from node b's admin API.
func checkPubSub(t *testing.T, c *balanced) {
	sub, pub := c.newClient(t), c.newClient(t)
	if sub.Node() == pub.Node() {
		t.Fatalf("both clients on node %q: the balancer did not spread them", sub.Node())
	}
	got := make(chan json.RawMessage, 1024)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := sub.Subscribe(ctx, "news", func(m client.Message) { got <- m.Data }); err != nil {
		t.Fatal(err)
	}
	// The subscription reaches the other node through NATS: publish until
	// the first arrives, then in earnest.
	testkit.Eventually(t, 10*time.Second, "a first publication across the nodes", func() bool {
		if err := pub.Publish(ctx, "news", "hello"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			return true
		case <-time.After(200 * time.Millisecond):
			return false
		}
	})
	const count = 100
	for i := range count {
		if err := pub.Publish(ctx, "news", i); err != nil {
			t.Fatal(err)
		}
	}
	c.b.publish(t, "news", "from the admin API")
	for i := 0; i <= count; {
		want := fmt.Sprint(i)
		if i == count {
			want = `"from the admin API"`
		}
		select {
		case d := <-got:
			if string(d) == `"hello"` { // one of the first loop's, late
				continue
			}
			if string(d) != want {
				t.Fatalf("publication %d is %s, want %s", i, d, want)
			}
			i++
		case <-ctx.Done():
			t.Fatalf("%d of %d publications arrived", i, count+1)
		}
	}
}

// Over TLS through HAProxy running deploy/haproxy/haproxy.cfg, clients
// are spread over both nodes and a publication on one reaches a
// subscriber on the other, once and in order.
func TestHAProxyRecipePubSubOverTLS(t *testing.T) {
	c := startHAProxyPair(t)
	checkPubSub(t, c)
}

// HAProxy passes each client's own address to the nodes in a PROXY v2
// header, so a per-address cap counts clients, not HAProxy: with
// --max-conns-per-ip 1 on both nodes, a client at 127.0.0.2 gets one
// connection on each node and its third is refused, while a client at
// 127.0.0.3 still connects (all of them reach the nodes from HAProxy's
// 127.0.0.1).
func TestHAProxyRecipePassesClientAddress(t *testing.T) {
	c := startHAProxyPair(t, "--max-conns-per-ip", "1")
	checkPerAddressCap(t, c, nil)
}

// checkPerAddressCap is the per-address check of both recipes; headers go
// with every handshake.
func checkPerAddressCap(t *testing.T, c *balanced, headers []string) {
	t.Helper()
	tc := c.tls.clientConfig()
	first := wsDial(t, "127.0.0.2", c.front, tc, headers...)
	second := wsDial(t, "127.0.0.2", c.front, tc, headers...)
	if first.status != 101 || second.status != 101 {
		t.Fatalf("127.0.0.2's first two connections: %d %q, %d %q; want both upgraded", first.status, first.body, second.status, second.body)
	}
	if first.node == second.node {
		t.Fatalf("127.0.0.2's two connections both on node %q: the balancer should have spread them", first.node)
	}
	third := wsDial(t, "127.0.0.2", c.front, tc, headers...)
	if third.status != 503 || !strings.Contains(third.body, "address") {
		t.Fatalf("127.0.0.2's third connection: %d %q (node %q), want 503 for its address", third.status, third.body, third.node)
	}
	other := wsDial(t, "127.0.0.3", c.front, tc, headers...)
	if other.status != 101 {
		t.Fatalf("127.0.0.3's connection: %d %q, want it upgraded: the nodes counted the proxy, not the clients", other.status, other.body)
	}
	if n := c.a.connections(t) + c.b.connections(t); n != 3 {
		t.Fatalf("the nodes hold %d connections, want 3", n)
	}
}

// A node that starts draining (SIGTERM) answers HAProxy's agent check with
// "drain" at once: within one agent interval (2 s in the recipe) plus
// slack, every new client goes to the other node, while the draining node
// still holds connections it will close over its 10 s drain window.
func TestHAProxyRecipeAgentCheckDrainsNode(t *testing.T) {
	c := startHAProxyPair(t, "--drain-window", "10s")
	tc := c.tls.clientConfig()
	for range 8 { // about half on each node, closed by the drain one by one
		if h := wsDial(t, "127.0.0.4", c.front, tc); h.status != 101 {
			t.Fatalf("connection through HAProxy: %d %q", h.status, h.body)
		}
	}
	if a := c.a.connections(t); a < 2 {
		t.Fatalf("node a holds %d of the 8 connections, want about half (least connections)", a)
	}
	const agentInter, slack = 2 * time.Second, 1500 * time.Millisecond
	const streak = 10 // new connections in a row on b that count as the switch
	sigterm := time.Now()
	if err := c.a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var switched time.Time // the first connection of the final streak on b
	var aStates []string   // node a's states in HAProxy, in order
	observe := func() {
		if st, err := c.servers(); err == nil {
			if s := st["a"]["status"]; len(aStates) == 0 || aStates[len(aStates)-1] != s {
				aStates = append(aStates, s)
			}
		}
	}
	inRow, onA := 0, 0
	for inRow < streak {
		if time.Since(sigterm) > agentInter+slack+5*time.Second {
			t.Fatalf("new connections still reach node a %s after its SIGTERM; its states in HAProxy: %v", time.Since(sigterm), aStates)
		}
		observe()
		at := time.Now()
		h := wsDial(t, "127.0.0.5", c.front, tc)
		switch {
		case h.status == 101 && h.node == "b":
			if inRow == 0 {
				switched = at
			}
			inRow++
			h.conn.Close()
		case h.status == 503 && strings.Contains(h.body, "draining"), h.node == "a":
			inRow, onA = 0, onA+1 // a's drain refuses it, or a took it before the drain began
		default:
			t.Fatalf("connection through HAProxy during a's drain: %d %q (node %q)", h.status, h.body, h.node)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The streak can end before the agent's next check (least connections
	// may send every new client to b at once): the check must still come,
	// within its interval.
	for !slices.Contains(aStates, "DRAIN (agent)") && time.Since(sigterm) < agentInter+slack {
		time.Sleep(50 * time.Millisecond)
		observe()
	}
	took := switched.Sub(sigterm)
	left := c.a.connections(t)
	t.Logf("new clients all on b %s after a's SIGTERM (%d reached a before); a's states in HAProxy: %v; a still holds %d connections", took.Round(time.Millisecond), onA, aStates, left)
	if took > agentInter+slack {
		t.Fatalf("new clients moved off the draining node %s after its SIGTERM, want within the agent interval %s (+%s)", took, agentInter, slack)
	}
	if !slices.Contains(aStates, "DRAIN (agent)") {
		t.Fatalf("node a never showed DRAIN (agent) in HAProxy (states %v): the agent check did not act", aStates)
	}
}
