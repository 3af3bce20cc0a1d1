package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/testkit"
)

const ioTimeout = 15 * time.Second

// TestBinary builds wsgate and runs it as a user would: flags, a real
// listener, signals and exit codes.
func TestBinary(t *testing.T) {
	bin := buildWsgate(t)

	t.Run("Help", func(t *testing.T) {
		t.Parallel()
		out, code := runToExit(t, bin, "--help")
		if code != 0 {
			t.Fatalf("wsgate --help exited %d, want 0:\n%s", code, out)
		}
		for _, want := range []string{"Usage: wsgate", "-listen", "-drain-window"} {
			if !strings.Contains(out, want) {
				t.Errorf("wsgate --help does not mention %q:\n%s", want, out)
			}
		}
	})

	t.Run("BadUsage", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{{"--no-such-flag"}, {"serve", "extra"}, {"--log-format", "xml"}, {"--loops", "-1"}} {
			if out, code := runToExit(t, bin, args...); code != 2 {
				t.Errorf("wsgate %s exited %d, want 2:\n%s", strings.Join(args, " "), code, out)
			}
		}
	})

	// An open-file limit too low for the loops' pollers and listeners plus
	// a few sockets is refused before anything starts, naming the limit
	// (before the socket budget, the loops failed after booting).
	t.Run("TooFewDescriptorsRefusedAtStart", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `ulimit -n 60 && exec "$0" "$@"`, bin,
			"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--loops", "64", "--log-level", "warn")
		out, _ := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("wsgate kept running without descriptors for its loops:\n%s", out)
		}
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "open-file limit") {
			t.Fatalf("wsgate exited %d, want 2 naming the open-file limit:\n%s", code, out)
		}
	})

	t.Run("SIGTERMClosesWith1001", func(t *testing.T) {
		t.Parallel()
		// The acceptance form is `wsgate --listen 127.0.0.1:PORT`, on
		// a port reserved for the test (never one picked and handed over: a
		// race); the admin port and a short drain window keep the test
		// hermetic and quick.
		addr := testkit.ReserveAddr(t)
		cmd := exec.Command(bin, "--listen", addr, "--admin-listen", "127.0.0.1:0", "--drain-window", "200ms")
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		var waitErr error
		go func() {
			waitErr = cmd.Wait()
			close(exited)
		}()
		t.Cleanup(func() {
			select {
			case <-exited:
			default:
				_ = cmd.Process.Kill()
				<-exited
			}
		})

		// Start logs "listening" once the loops accept; "admin API
		// listening" is the last line before the signal handlers.
		if got := logAttr(t, &stderr, exited, "listening", "addr"); got != addr {
			t.Fatalf("wsgate --listen %s logged listening addr=%s", addr, got)
		}
		logAttr(t, &stderr, exited, "admin API listening", "addr")
		d := gorilla.Dialer{HandshakeTimeout: ioTimeout}
		c, _, err := d.Dial("ws://"+addr+"/echo", nil)
		if err != nil {
			t.Fatalf("dial: %v\nwsgate stderr:\n%s", err, stderr.String())
		}
		defer c.Close()
		for _, msg := range []struct {
			typ     int
			payload []byte
		}{
			{gorilla.TextMessage, []byte("héllo wsgate")},
			{gorilla.BinaryMessage, bytes.Repeat([]byte{0, 1, 2, 0xff}, 16<<10)},
		} {
			_ = c.SetWriteDeadline(time.Now().Add(ioTimeout))
			if err := c.WriteMessage(msg.typ, msg.payload); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
			typ, got, err := c.ReadMessage()
			if err != nil || typ != msg.typ || !bytes.Equal(got, msg.payload) {
				t.Fatalf("echo: type %d, %d bytes, err %v; want type %d, %d bytes", typ, len(got), err, msg.typ, len(msg.payload))
			}
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
		_, _, err = c.ReadMessage() // gorilla answers the close frame itself
		var ce *gorilla.CloseError
		if !errors.As(err, &ce) || ce.Code != gorilla.CloseGoingAway {
			t.Errorf("after SIGTERM the client read %v, want close 1001", err)
		}
		_ = c.Close()

		select {
		case <-exited:
			if waitErr != nil {
				t.Fatalf("wsgate exited with %v, want 0\nstderr:\n%s", waitErr, stderr.String())
			}
		case <-time.After(ioTimeout):
			t.Fatalf("wsgate did not exit after SIGTERM\nstderr:\n%s", stderr.String())
		}
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("exit code %d, want 0", code)
		}
		for _, want := range []string{"listening", "draining", "stopped"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("log does not mention %q:\n%s", want, stderr.String())
			}
		}
	})
}

// buildWsgate compiles this command into a temporary directory.
func buildWsgate(t *testing.T) string {
	t.Helper()
	goTool := testkit.RequireTool(t, "go") // builds wsgate
	bin := filepath.Join(t.TempDir(), "wsgate")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runToExit runs wsgate to completion and returns its combined output and
// exit code.
func runToExit(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run wsgate %v: %v", args, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// logAttr waits for the first line of wsgate's log whose message is msg
// and returns its attribute key, failing the test if wsgate exits first or
// logs no such line within ioTimeout.
func logAttr(t *testing.T, stderr *syncBuffer, exited <-chan struct{}, msg, key string) string {
	t.Helper()
	var value string
	gone := false
	testkit.Poll(ioTimeout, func() bool {
		if value = attr(stderr.String(), msg, key); value != "" {
			return true
		}
		select {
		case <-exited:
			gone = true
			value = attr(stderr.String(), msg, key) // all of its log is in
			return true
		default:
			return false
		}
	})
	switch {
	case value != "":
		return value
	case gone:
		t.Fatalf("wsgate exited before logging %q with %s:\n%s", msg, key, stderr.String())
	default:
		t.Fatalf("wsgate logged no %q with %s within %s:\n%s", msg, key, ioTimeout, stderr.String())
	}
	return ""
}

// attr returns the attribute key of the first line of log (slog's text
// format: msg=listening addr=127.0.0.1:8080, values with spaces quoted)
// whose message is msg, or "". It reads values without spaces only, as
// addresses and URLs are.
func attr(log, msg, key string) string {
	field := "msg=" + msg
	if strings.ContainsAny(msg, " =\"") {
		field = "msg=" + strconv.Quote(msg)
	}
	for line := range strings.Lines(log) {
		line = " " + strings.TrimSuffix(line, "\n") + " "
		if !strings.Contains(line, " "+field+" ") {
			continue
		}
		if _, rest, ok := strings.Cut(line, " "+key+"="); ok {
			value, _, _ := strings.Cut(rest, " ")
			return value
		}
		return ""
	}
	return ""
}

// syncBuffer is a bytes.Buffer the process's output goroutine writes while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestAttrReadsSlogText: attr finds a message whole, quoted or not, and
// not inside a longer one.
func TestAttrReadsSlogText(t *testing.T) {
	var b strings.Builder
	log := slog.New(slog.NewTextHandler(&b, nil))
	log.Info("admin API listening", "addr", "127.0.0.1:2", "node", "n 1")
	log.Info("listening", "addr", "127.0.0.1:1", "loops", 2)
	log.Info("embedded NATS listening: point other nodes' --nats here", "url", "nats://127.0.0.1:3")
	log.Info("stopped", "addr", "last")
	for _, tc := range []struct{ msg, key, want string }{
		{"listening", "addr", "127.0.0.1:1"},
		{"admin API listening", "addr", "127.0.0.1:2"},
		{"embedded NATS listening: point other nodes' --nats here", "url", "nats://127.0.0.1:3"},
		{"stopped", "addr", "last"},
		{"listening", "url", ""},
		{"API listening", "addr", ""},
	} {
		if got := attr(b.String(), tc.msg, tc.key); got != tc.want {
			t.Errorf("attr(%q, %q) = %q, want %q\n%s", tc.msg, tc.key, got, tc.want, b.String())
		}
	}
}
