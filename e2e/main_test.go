package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/wsgate/wsgate/internal/testkit"
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
		return testkit.Run(m) // the tests, then the leak check: goroutines and descriptors of this process
	}()
	os.Exit(code)
}

func bin(name string) string { return filepath.Join(binDir, name) }

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

// nodeFlags start every node with both listeners on 127.0.0.1:0 (the
// kernel picks the ports, which wsgate logs) and info logging, which
// carries those lines.
var nodeFlags = []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--log-level", "info"}

// startNode starts wsgate with the given extra flags and waits until its
// admin API answers.
func startNode(t testing.TB, extra ...string) *node {
	t.Helper()
	return startNodeEnv(t, nil, extra...)
}

// startNodeEnv is startNode with extra environment variables.
func startNodeEnv(t testing.TB, env []string, extra ...string) *node {
	t.Helper()
	cmd := exec.Command(bin("wsgate"), append(slices.Clone(nodeFlags), extra...)...)
	cmd.Env = append(os.Environ(), env...)
	return startNodeCmd(t, cmd)
}

// startNodeCmd runs cmd, a wsgate started with nodeFlags, reads the
// addresses it bound from its log ("listening addr=..." for WebSocket,
// "admin API listening addr=..." for the admin API) and waits until its
// admin API answers.
func startNodeCmd(t testing.TB, cmd *exec.Cmd) *node {
	t.Helper()
	n := &node{process: startCmd(t, cmd)}
	n.ws = n.logAttr(t, 10*time.Second, "listening", "addr")
	n.admin = n.logAttr(t, 10*time.Second, "admin API listening", "addr")
	testkit.Eventually(t, 10*time.Second, "wsgate admin API on "+n.admin, func() bool {
		resp, err := http.Get("http://" + n.admin + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return n
}

// logAttr waits for the first line of wsgate's log (slog's text format)
// whose msg is msg, or starts with msg and then a character that is not a
// letter ("embedded NATS listening: point other nodes' --nats here"), and
// returns its attribute key. It fails the test if
// the process exits or logs no such line within timeout.
func (p *process) logAttr(t testing.TB, timeout time.Duration, msg, key string) string {
	t.Helper()
	var value string
	found := func() bool {
		for _, line := range strings.Split(p.Stderr(), "\n") {
			if attrs := logfmt(line); isMsg(attrs["msg"], msg) {
				value = attrs[key]
				return true
			}
		}
		return false
	}
	return p.awaitLog(t, timeout, fmt.Sprintf("msg=%q with %s", msg, key), found, &value)
}

func isMsg(got, msg string) bool {
	rest, ok := strings.CutPrefix(got, msg)
	return ok && (rest == "" || !unicode.IsLetter(rune(rest[0])))
}

// logLine waits for the first line of the process's stderr that contains
// prefix and returns what follows it on that line (nats-server logs "...
// [INF] Listening for client connections on 127.0.0.1:4222").
func (p *process) logLine(t testing.TB, timeout time.Duration, prefix string) string {
	t.Helper()
	var value string
	found := func() bool {
		for _, line := range strings.Split(p.Stderr(), "\n") {
			if _, rest, ok := strings.Cut(line, prefix); ok {
				value = strings.TrimSpace(rest)
				return true
			}
		}
		return false
	}
	return p.awaitLog(t, timeout, strconv.Quote(prefix), found, &value)
}

// awaitLog polls found until it holds, failing the test if the process
// exits first, the timeout passes, or the value found is empty.
func (p *process) awaitLog(t testing.TB, timeout time.Duration, what string, found func() bool, value *string) string {
	t.Helper()
	got, exited := false, false
	testkit.Poll(timeout, func() bool {
		if got = found(); got {
			return true
		}
		select {
		case <-p.done: // its whole stderr is in: nothing more will come
			exited = true
			return true
		default:
			return false
		}
	})
	switch {
	case got && *value != "":
		return *value
	case got:
		t.Fatalf("%s logged %s without a value:\n%s", p.cmd.Path, what, lastLines(p.Stderr(), 30))
	case exited:
		t.Fatalf("%s exited (%v) before logging %s:\n%s", p.cmd.Path, p.err, what, lastLines(p.Stderr(), 30))
	default:
		t.Fatalf("%s logged no %s within %s:\n%s", p.cmd.Path, what, timeout, lastLines(p.Stderr(), 30))
	}
	return ""
}

// logfmt splits one line of slog's text format (key=value, values with
// spaces or quotes Go-quoted) into its attributes; a line in any other
// format gives what it gives, never a panic.
func logfmt(line string) map[string]string {
	attrs := map[string]string{}
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimLeft(line, " ") {
		key, rest, ok := strings.Cut(line, "=")
		if !ok || strings.Contains(key, " ") {
			return attrs
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return attrs
			}
			value, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			value, rest, _ = strings.Cut(rest, " ")
		}
		attrs[key] = value
		line = rest
	}
	return attrs
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

// TestLogfmt: the addresses are read from slog's text lines as wsgate
// writes them, quoted message and all; other formats give no match.
func TestLogfmt(t *testing.T) {
	line := `time=2026-01-02T03:04:05.000Z level=INFO msg="admin API listening" addr=127.0.0.1:40123 node="n \"1\""`
	got := logfmt(line)
	if got["msg"] != "admin API listening" || got["addr"] != "127.0.0.1:40123" || got["node"] != `n "1"` || got["level"] != "INFO" {
		t.Errorf("logfmt(%q) = %q", line, got)
	}
	for _, c := range []struct {
		got, msg string
		want     bool
	}{
		{"listening", "listening", true},
		{"admin API listening", "listening", false},
		{"embedded NATS listening: point other nodes' --nats here", "embedded NATS listening", true},
		{"listening for more", "listening", true},
		{"listeningx", "listening", false},
	} {
		if isMsg(c.got, c.msg) != c.want {
			t.Errorf("isMsg(%q, %q) = %v", c.got, c.msg, !c.want)
		}
	}
	if got := logfmt("[123] 2026/01/02 [INF] Listening for client connections on 127.0.0.1:4222"); got["msg"] != "" {
		t.Errorf("a nats-server line parsed as %q", got)
	}
}
