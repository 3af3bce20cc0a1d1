package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/bench"
)

// echoServer is a gorilla/websocket echo server standing for a node (bench
// and wsbench never import wsgate's server) that records each upgrade
// request's headers.
type echoServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []http.Header
}

// startEchoServer serves WebSocket echo on any path, choosing among
// protocols (none: no subprotocol) as a server does.
func startEchoServer(t *testing.T, protocols ...string) *echoServer {
	t.Helper()
	s := &echoServer{}
	up := websocket.Upgrader{Subprotocols: protocols}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Header.Clone())
		s.mu.Unlock()
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			op, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(op, msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *echoServer) url(path string) string { return "ws" + strings.TrimPrefix(s.URL, "http") + path }

func (s *echoServer) seen() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// runWsbench runs the command with args and returns its exit status,
// stdout and stderr (a buffer: no terminal).
func runWsbench(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

var progressLine = regexp.MustCompile(`^wsbench: progress( [a-z0-9_]+=[^ =]+)+$`)

// TestHeaderReachesServer: wsbench with --header and --subprotocol against
// a real WebSocket server: every upgrade request carries the headers and
// the offer, the run completes, stderr (no terminal) gets plain progress
// lines, the --fail-if conditions hold (exit 0), and the JSON report keeps
// the conditions judged but not the header values.
func TestHeaderReachesServer(t *testing.T) {
	srv := startEchoServer(t, bench.ProtocolJSON)
	jsonPath := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runWsbench("echo", "--url", srv.url("/echo"), "--conns", "3", "--rate", "300", "--duration", "600ms", "--procs", "1",
		"--header", "X-Test: hello", "--header=Authorization: Bearer s3cret.jwt.value", "--subprotocol", bench.ProtocolJSON,
		"--progress-every", "100ms", "--fail-if", "errors=0,opened=3", "--fail-if", "p99<30s,echo_per_sec>0", "--json", jsonPath)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	reqs := srv.seen()
	if len(reqs) != 3 {
		t.Fatalf("%d upgrade requests, want 3", len(reqs))
	}
	for i, h := range reqs {
		if h.Get("X-Test") != "hello" || h.Get("Authorization") != "Bearer s3cret.jwt.value" || h.Get("Sec-Websocket-Protocol") != bench.ProtocolJSON {
			t.Errorf("request %d: headers %v", i, h)
		}
	}
	var progress int
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "wsbench: progress") {
			progress++
			if !progressLine.MatchString(l) {
				t.Errorf("progress line %q: not key=value fields", l)
			}
		}
	}
	if progress < 3 || strings.ContainsAny(stderr, "\r\x1b") {
		t.Errorf("%d plain progress lines (want one per 100 ms of a 0.6 s load), or terminal control characters:\n%q", progress, stderr)
	}
	if !strings.Contains(stderr, "wsbench: fail-if: all 4 conditions held") || !strings.Contains(stdout, "4 of 4 conditions hold") {
		t.Errorf("conditions not reported as held:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("s3cret")) || bytes.Contains([]byte(stdout), []byte("s3cret")) {
		t.Errorf("the report holds a header value:\n%s", raw)
	}
	var rep bench.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Thresholds) != 4 || !rep.Thresholds[0].Pass || !slices.Equal(rep.Settings.Headers, []string{"X-Test", "Authorization"}) ||
		!strings.Contains(rep.Command, "--header=Authorization: <redacted>") {
		t.Errorf("report: thresholds %+v, headers %q, command %q", rep.Thresholds, rep.Settings.Headers, rep.Command)
	}
}

// TestFailIfExits3: a run that completes but misses a condition exits 3
// and prints each failed condition with the value measured.
func TestFailIfExits3(t *testing.T) {
	srv := startEchoServer(t)
	code, stdout, stderr := runWsbench("connect", "--url", srv.url("/ws"), "--conns", "2", "--hold", "10ms", "--procs", "1",
		"--fail-if", "errors!=0,opened=2,failed>0")
	if code != exitThreshold {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitThreshold, stdout, stderr)
	}
	for _, want := range []string{"wsbench: fail-if: errors!=0 failed: measured 0\n", "wsbench: fail-if: failed>0 failed: measured 0\n", "wsbench: fail-if: 2 of 3 conditions failed\n"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "opened=2 failed") || !strings.Contains(stdout, "1 of 3 conditions hold; FAILED: errors!=0 (measured 0), failed>0 (measured 0)") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
}

// TestFailIfOnFailedHandshakes: connections the server refuses fail the
// handshake under their own kind, and --fail-if errors=0 turns that into
// exit 3: a subprotocol offered and not chosen.
func TestFailIfOnFailedHandshakes(t *testing.T) {
	srv := startEchoServer(t) // chooses no subprotocol
	code, stdout, stderr := runWsbench("connect", "--url", srv.url("/ws"), "--conns", "2", "--hold", "10ms", "--procs", "1",
		"--subprotocol", "wsgate.v1.proto", "--fail-if", "errors=0")
	if code != exitThreshold || !strings.Contains(stdout, "handshake_no_subprotocol=2") || !strings.Contains(stderr, "errors=0 failed: measured 2") {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitThreshold, stdout, stderr)
	}
}

// TestTokenFile: --token-file sends the JWT as a bearer token, or with
// --token-in protocol as the subprotocol entry beside wsgate.v1, which
// the server chooses.
func TestTokenFile(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2ln"
	path := writeToken(t, jwt)
	for _, c := range []struct {
		args          []string
		authorization string
		protocols     string
	}{
		{nil, "Bearer " + jwt, ""},
		{[]string{"--token-in", "protocol"}, "", bench.ProtocolJSON + ", " + bench.TokenProtocolPrefix + jwt},
		{[]string{"--token-in", "protocol", "--subprotocol", "wsgate.v1.proto"}, "", "wsgate.v1.proto, " + bench.TokenProtocolPrefix + jwt},
	} {
		srv := startEchoServer(t, bench.ProtocolJSON, "wsgate.v1.proto")
		args := append([]string{"connect", "--url", srv.url("/ws"), "--conns", "2", "--hold", "10ms", "--procs", "1",
			"--token-file", path, "--fail-if", "errors=0,opened=2"}, c.args...)
		code, stdout, stderr := runWsbench(args...)
		if code != exitOK {
			t.Errorf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", c.args, code, stdout, stderr)
			continue
		}
		if strings.Contains(stdout, jwt) {
			t.Errorf("%q: the report shows the token:\n%s", c.args, stdout)
		}
		for i, h := range srv.seen() {
			if h.Get("Authorization") != c.authorization || h.Get("Sec-Websocket-Protocol") != c.protocols {
				t.Errorf("%q: request %d: Authorization %q, Sec-WebSocket-Protocol %q; want %q, %q", c.args, i,
					h.Get("Authorization"), h.Get("Sec-Websocket-Protocol"), c.authorization, c.protocols)
			}
		}
	}
}

// TestQuietNoProgress: --quiet and --progress-every 0 write no progress
// line.
func TestQuietNoProgress(t *testing.T) {
	srv := startEchoServer(t)
	for _, flag := range []string{"--quiet", "--progress-every=0"} {
		code, _, stderr := runWsbench("connect", "--url", srv.url("/ws"), "--conns", "1", "--hold", "400ms", "--procs", "1",
			"--progress-every", "100ms", flag)
		if code != exitOK || strings.Contains(stderr, "progress") {
			t.Errorf("%s: exit %d, stderr %q", flag, code, stderr)
		}
	}
}

// TestRedactArgs: header values are left out of the command line the
// report keeps, in every way a flag can be written; nothing else changes.
func TestRedactArgs(t *testing.T) {
	in := []string{"broadcast", "--header", "Authorization: Bearer x", "-header=Cookie: a=b", "--publish-header", "X-API-Key: k",
		"--publish-header=X-API-Key:k", "--label", "Authorization: Bearer y", "--header", "--token-file", "t.jwt"}
	want := []string{"broadcast", "--header", "Authorization: <redacted>", "-header=Cookie: <redacted>", "--publish-header", "X-API-Key: <redacted>",
		"--publish-header=X-API-Key: <redacted>", "--label", "Authorization: Bearer y", "--header", "--token-file: <redacted>", "t.jwt"}
	if got := redactArgs(in); !slices.Equal(got, want) {
		t.Errorf("redactArgs:\n got %q\nwant %q", got, want)
	}
}

// TestIsTerminal: buffers and pipes are no terminal, so they get plain
// progress lines.
func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(&bytes.Buffer{}) || isTerminal(w) {
		t.Error("a buffer or a pipe is taken for a terminal")
	}
}
