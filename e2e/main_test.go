package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binDir holds the binaries built once for the whole package.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wsgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := func() int {
		defer os.RemoveAll(dir)
		for _, pkg := range []string{"./cmd/wsgate", "./internal/wstest/subscribers", "./internal/wstest/attacker", "github.com/nats-io/nats-server/v2"} {
			out := filepath.Join(dir, filepath.Base(strings.TrimSuffix(pkg, "/v2")))
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Dir = ".."
			if b, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, b)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

func bin(name string) string { return filepath.Join(binDir, name) }

// freeAddr returns a loopback address with a port that was free a moment
// ago (processes we start must be told their port up front). Ports come from
// below the kernel's ephemeral range, so the thousands of client sockets the
// tests open cannot take one between this check and the child's bind, and a
// port is never handed out twice in one test binary: bind(:0) may return the
// port it just released, which once gave nats-server the same client and
// monitor port.
func freeAddr(t testing.TB) string {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	if ports.given == nil {
		ports.given = map[int]bool{}
		ports.lo, ports.hi = 20000, ephemeralLow()
		ports.next = ports.lo + os.Getpid()%max(1, ports.hi-ports.lo)
	}
	for range ports.hi - ports.lo {
		p := ports.next
		ports.next++
		if ports.next >= ports.hi {
			ports.next = ports.lo
		}
		if ports.given[p] {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		ports.given[p] = true
		return addr
	}
	t.Fatalf("no free port in [%d, %d)", ports.lo, ports.hi)
	return ""
}

var ports struct {
	sync.Mutex
	given        map[int]bool
	lo, hi, next int
}

// ephemeralLow is the bottom of the kernel's ephemeral port range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil || lo <= 21000 {
		return 32768
	}
	return lo
}

// process is a started child with its output captured.
type process struct {
	cmd    *exec.Cmd
	lines  chan string // stdout, line by line
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

func (p *process) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

type lockedWriter struct{ p *process }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}

// start runs one of the built binaries until the test ends (then it is
// killed).
func start(t testing.TB, name string, args ...string) *process {
	t.Helper()
	return startCmd(t, exec.Command(bin(name), args...))
}

// startCmd runs cmd until the test ends (then it is killed).
func startCmd(t testing.TB, cmd *exec.Cmd) *process {
	t.Helper()
	name := cmd.Path
	args := cmd.Args[1:]
	p := &process{cmd: cmd, done: make(chan struct{}), lines: make(chan string, 64)}
	p.cmd.Stderr = lockedWriter{p}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Read all of stdout before Wait, which closes the pipe.
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s %s stderr:\n%s", name, strings.Join(args, " "), lastLines(p.Stderr(), 30))
		}
	})
	return p
}

// wait waits for the process to exit and returns its error.
func (p *process) wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("process %s did not exit within %s", p.cmd.Path, timeout)
		return nil
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// node is a running wsgate process.
type node struct {
	*process
	ws, admin string // host:port
}

// startNode starts wsgate with the given extra flags and waits until its
// admin API answers.
func startNode(t testing.TB, extra ...string) *node {
	t.Helper()
	return startNodeEnv(t, nil, extra...)
}

// startNodeEnv is startNode with extra environment variables.
func startNodeEnv(t testing.TB, env []string, extra ...string) *node {
	t.Helper()
	n := &node{ws: freeAddr(t), admin: freeAddr(t)}
	args := append([]string{"--listen", n.ws, "--admin-listen", n.admin, "--log-level", "info"}, extra...)
	cmd := exec.Command(bin("wsgate"), args...)
	cmd.Env = append(os.Environ(), env...)
	n.process = startCmd(t, cmd)
	waitFor(t, 10*time.Second, "wsgate admin API", func() bool {
		resp, err := http.Get("http://" + n.admin + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return n
}

func (n *node) url(path string) string { return "ws://" + n.ws + path }

// publish posts data on channel through the node's admin API.
func (n *node) publish(t testing.TB, channel string, data any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"channel": channel, "data": data})
	resp, err := http.Post("http://"+n.admin+"/api/publish", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("publish on %s: %d %s", n.admin, resp.StatusCode, b)
	}
}

// stats fetches /api/stats.
func (n *node) stats(t testing.TB) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + n.admin + "/api/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// subscribers starts the subscribers test process and waits until all its
// connections are upgraded.
func subscribers(t testing.TB, n, expect int, timeout time.Duration, urls ...string) *process {
	t.Helper()
	args := []string{"-n", fmt.Sprint(n), "-expect", fmt.Sprint(expect), "-timeout", timeout.String()}
	for _, u := range urls {
		args = append(args, "-url", u)
	}
	p := start(t, "subscribers", args...)
	line, err := p.readLine(30 * time.Second)
	if err != nil || line != fmt.Sprintf("READY %d", n) {
		t.Fatalf("subscribers: want READY %d, got %q (%v); stderr: %s", n, line, err, p.Stderr())
	}
	return p
}

// readLine reads one stdout line within timeout.
func (p *process) readLine(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", io.EOF
		}
		return strings.TrimSpace(l), nil
	case <-time.After(timeout):
		return "", fmt.Errorf("no output within %s", timeout)
	}
}

// summary waits for the subscribers process to finish and checks its report.
func (p *process) summary(t testing.TB, timeout time.Duration) map[string]any {
	t.Helper()
	line, err := p.readLine(timeout)
	if err != nil {
		t.Fatalf("subscribers summary: %v; stderr: %s", err, p.Stderr())
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(line), &s); err != nil {
		t.Fatalf("subscribers summary %q: %v", line, err)
	}
	if err := p.wait(t, 10*time.Second); err != nil {
		t.Fatalf("subscribers failed: %v: %s", err, line)
	}
	return s
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
