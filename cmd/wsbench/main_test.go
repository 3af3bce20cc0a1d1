package main

import (
	"bytes"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/bench"
	"github.com/wsgate/wsgate/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// help runs wsbench --help and returns what it wrote to stderr.
func help(t *testing.T) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--help"}, &stdout, &stderr); code != 0 || stdout.Len() > 0 {
		t.Fatalf("--help: exit %d, stdout %q; want 0 and the help on stderr", code, stdout.String())
	}
	return stderr.String()
}

// section returns the lines of help between the line head and the next
// blank line (or the end).
func section(help, head string) []string {
	_, rest, ok := strings.Cut(help, "\n"+head+"\n")
	if !ok {
		return nil
	}
	block, _, _ := strings.Cut(rest, "\n\n")
	return strings.Split(block, "\n")
}

// helpFlags lists the flags --help documents: the lines that start with
// "  -name", in order.
func helpFlags(help string) []string {
	var names []string
	for _, line := range section(help, "Flags:") {
		if rest, ok := strings.CutPrefix(line, "  -"); ok {
			name, _, _ := strings.Cut(rest, " ")
			names = append(names, name)
		}
	}
	return names
}

// TestHelpListsEveryScenario: the Scenarios section names exactly bench's
// four scenarios, each once, and each is one bench runs.
func TestHelpListsEveryScenario(t *testing.T) {
	var listed []string
	for _, line := range section(help(t), "Scenarios:") {
		if m := regexp.MustCompile(`^  ([a-z]+)  +\S`).FindStringSubmatch(line); m != nil {
			listed = append(listed, m[1])
		}
	}
	want := []string{bench.ScenarioConnect, bench.ScenarioBroadcast, bench.ScenarioEcho, bench.ScenarioChurn}
	if !slices.Equal(listed, want) {
		t.Errorf("--help lists scenarios %q, want %q", listed, want)
	}
	for _, s := range listed {
		cfg, _, err := parseFlags([]string{s, "--url", "ws://127.0.0.1:1/ws", "--publish-url", "http://127.0.0.1:2", "--churn-rate", "1", "--channels", "1"}, io.Discard)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("scenario %s, documented, does not run: %v", s, err)
		}
	}
}

// flagSamples is a value for each flag, other than its default. A new
// flag needs one here: TestHelpFlagsAreWired checks it reaches the run.
var flagSamples = map[string]string{
	"url": "ws://10.0.0.1:9/x", "conns": "7", "connect-rate": "3", "hold": "3s", "duration": "4s",
	"channels": "5", "channel-prefix": "p.", "rate": "9", "payload": "99", "publishers": "3",
	"publish-via": "ws", "subscribe-via": "frame", "ramp": "100/s:2s", "reconnect": "true", "arrivals": "poisson", "idle-before": "3s", "ramp-stall": "7s", "timeline-csv": "t.csv", "nats-url": "nats://10.0.0.1:4222", "nats-prefix": "n", "publish-url": "http://10.0.0.1:1",
	"publish-all": "true", "window": "17", "churn-rate": "2", "churn-conns": "3", "source-ips": "127.0.0.2",
	"procs": "2", "loops": "3", "dialers": "5", "connect-timeout": "3s", "drain-timeout": "4s",
	"tls-ca": "ca.pem", "tls-insecure": "true", "tls-server-name": "wsgate.test",
	"proxy-protocol": "v2", "proxy-source": "198.51.100.7",
	"server-pid": "12", "server-stats": "http://10.0.0.1:1/api/stats", "payload-kind": "json", "deflate": "true", "json": "r.json", "plot": "r.svg", "label": "L", "quiet": "true", "cpuprofile": "c.prof",
	"header": "X-Test: 1", "subprotocol": "wsgate.v1", "publish-header": "X-API-Key: k", "token-in": "protocol",
	"fail-if": "errors=0,connect_p99<1s", "progress-every": "1s",
	"token-file": "", // set by TestHelpFlagsAreWired: a file it writes
}

// flagCompanions are flags a sample needs beside it to be accepted; the
// sample must still change the run from what the companions alone do.
var flagCompanions = map[string][]string{"token-in": {"--token-file", ""}}

// writeToken writes a JWT-shaped token to a file in t's temporary
// directory and returns its path.
func writeToken(t *testing.T, jwt string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token.jwt")
	if err := os.WriteFile(path, []byte(jwt+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHelpFlagsAreWired: every flag --help documents, on a line of its
// own with a description, is accepted and changes what wsbench runs (the
// bench.Config or the command's options); and every --flag the help text
// mentions is one of them.
func TestHelpFlagsAreWired(t *testing.T) {
	h := help(t)
	documented := helpFlags(h)
	if len(documented) < len(flagSamples) {
		t.Errorf("--help documents %d flags %q, want at least the %d this test knows", len(documented), documented, len(flagSamples))
	}
	tokenFile := writeToken(t, "aaa.bbb.ccc")
	samples := maps.Clone(flagSamples)
	samples["token-file"] = tokenFile
	lines := section(h, "Flags:")
	for _, name := range documented {
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "  -"+name+" ") || l == "  -"+name })
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "    \t") || strings.TrimSpace(lines[i+1]) == "" {
			t.Errorf("-%s has no description in --help", name)
		}
		v, ok := samples[name]
		if !ok {
			t.Errorf("-%s: no sample value in flagSamples", name)
			continue
		}
		companions := slices.Clone(flagCompanions[name])
		for i, c := range companions {
			if c == "" {
				companions[i] = tokenFile
			}
		}
		base, baseOpts, err := parseFlags(append([]string{"connect"}, companions...), io.Discard)
		if err != nil {
			t.Fatalf("companions of --%s %q: %v", name, companions, err)
		}
		var stderr bytes.Buffer
		cfg, opts, err := parseFlags(append([]string{"connect", "--" + name + "=" + v}, companions...), &stderr)
		if err != nil {
			t.Errorf("--%s=%s, documented, is refused: %v %s", name, v, err, stderr.String())
			continue
		}
		if reflect.DeepEqual(cfg, base) && reflect.DeepEqual(opts, baseOpts) {
			t.Errorf("--%s=%s changes nothing wsbench runs", name, v)
		}
	}
	for _, m := range regexp.MustCompile(`--([a-z][a-z-]*[a-z])`).FindAllStringSubmatch(h, -1) {
		if !slices.Contains(documented, m[1]) {
			t.Errorf("--help mentions --%s, which is no flag", m[1])
		}
	}
}

// TestUsageErrorsExit2: each kind of bad usage exits 2 with its own
// message on stderr and no report; only a command line the flag parser
// cannot read shows the usage.
func TestUsageErrorsExit2(t *testing.T) {
	for _, c := range []struct {
		args      []string
		message   string
		showUsage bool
	}{
		{nil, "wsbench: missing scenario: connect, broadcast, echo or churn", true},
		{[]string{"nosuchscenario", "--url", "ws://127.0.0.1:1/ws"}, `wsbench: bench: invalid configuration: scenario "nosuchscenario": want connect, broadcast, echo or churn`, false},
		{[]string{"connect"}, "wsbench: bench: invalid configuration: no --url", false},
		{[]string{"broadcast", "--url", "ws://127.0.0.1:1/ws", "--publish-via", "nats"}, "wsbench: bench: invalid configuration: --publish-via nats needs --nats-url", false},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--procs", "zero"}, `invalid value "zero" for flag -procs: want a positive number or auto`, true},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "extra"}, `wsbench: unexpected argument "extra"`, false},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--header", "X-Test: a\r\nX-Evil: b"}, `invalid value "X-Test: a\r\nX-Evil: b" for flag -header: header X-Test: value has control character '\r'`, true},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--header", "X Test: a"}, `invalid value "X Test: a" for flag -header: header "X Test: a": name has ' '`, true},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--header", "Sec-WebSocket-Protocol: a"}, "wsbench: bench: invalid configuration: --header Sec-WebSocket-Protocol: wsbench sets this header itself (use --subprotocol)", false},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--header", "X-Big: " + strings.Repeat("x", 8192)}, "wsbench: bench: invalid configuration: --header: 8201 bytes of extra header lines, at most 8192", false},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--publish-header", "Content-Type: text/plain"}, "wsbench: bench: invalid configuration: --publish-header Content-Type", false},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--subprotocol", "a b"}, `wsbench: bench: invalid configuration: --subprotocol "a b": ' ' is not allowed`, false},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--progress-every", "-1s"}, "wsbench: --progress-every -1s: want a positive interval, or 0 for none", false},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--token-in", "protocol"}, "wsbench: --token-in protocol without --token-file", false},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--token-file", "/nonexistent/t.jwt"}, "wsbench: --token-file: open /nonexistent/t.jwt", false},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--fail-if", "p99<50"}, `invalid value "p99<50" for flag -fail-if: fail-if: "p99<50": p99 is a duration`, true},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--fail-if", "latency<50ms"}, `invalid value "latency<50ms" for flag -fail-if: fail-if: "latency<50ms": unknown figure "latency"`, true},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--fail-if", "p99<50ms"}, "wsbench: fail-if p99<50ms: p99 is not measured by connect (only by broadcast, echo, churn)", false},
		{[]string{"connect", "--url", "ws://127.0.0.1:1/ws", "--fail-if", "cpu_per_handshake_us<50"}, "wsbench: fail-if cpu_per_handshake_us<50: cpu_per_handshake_us needs --server-pid", false},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		out := stderr.String()
		if code != 2 || stdout.Len() > 0 {
			t.Errorf("%q: exit %d, stdout %q; want 2 and nothing on stdout", c.args, code, stdout.String())
		}
		if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool { return strings.HasPrefix(l, c.message) }) {
			t.Errorf("%q: stderr has no line starting %q:\n%s", c.args, c.message, out)
		}
		if got := strings.Contains(out, "Usage: wsbench"); got != c.showUsage {
			t.Errorf("%q: usage shown %v, want %v:\n%s", c.args, got, c.showUsage, out)
		}
	}
}
