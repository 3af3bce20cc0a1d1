package main

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/relay"
)

// TestNATSFlags: the relay's bounds are flags, environment variables and
// file settings; a zero keeps the relay's default, which --help shows.
func TestNATSFlags(t *testing.T) {
	_, opts, err := parse(t, []string{
		"--nats-publish-buffer-msgs", "100", "--nats-close-grace", "3s", "--nats-required",
		"--nats-max-conns", "10",
	}, map[string]string{"WSGATE_NATS_WRITE_TIMEOUT": "7s"})
	if err != nil {
		t.Fatal(err)
	}
	o := opts.nats
	if o.PublishBufferMsgs != 100 || o.CloseGrace != 3*time.Second || !o.Required || o.maxConns != 10 || o.WriteTimeout != 7*time.Second {
		t.Errorf("parsed %+v, want 100 messages, 3s grace, required, 10 conns, 7s write timeout", o)
	}
	_, opts, err = parse(t, []string{"--config", writeConfig(t, "nats-ping-interval = \"9s\"\nnats-max-conns = 3\n")}, nil)
	if err != nil || opts.nats.PingInterval != 9*time.Second || opts.nats.maxConns != 3 {
		t.Errorf("from a file: %+v, %v; want a 9s ping interval and 3 conns", opts.nats, err)
	}
	for _, bad := range [][]string{
		{"--nats-publish-buffer-msgs", "-1"}, {"--nats-close-grace", "soon"}, {"--nats-max-conns", "many"},
	} {
		if _, _, err := parse(t, bad, nil); err == nil {
			t.Errorf("parse(%q) succeeded", bad)
		}
	}

	var help bytes.Buffer
	if _, _, err := parseConfig([]string{"--help"}, env(nil), &help); err == nil {
		t.Fatal("--help did not stop parsing")
	}
	for _, want := range []string{
		"-nats-publish-buffer-msgs n", "(default 65536)",
		"-nats-close-grace duration", "(default 2s)",
		"-nats-max-conns n", "(default 256)",
		"-nats-write-timeout duration", "(default 5s)",
		"-nats-ping-interval duration", "(default 20s)",
		"-nats-required",
	} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help does not show %q", want)
		}
	}
}

// startTestRelay runs startRelay with the given flags and stops what it
// started when the test ends.
func startTestRelay(t *testing.T, args ...string) (relay.Relay, string, error) {
	t.Helper()
	_, opts, err := parse(t, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	r, stop, err := startRelay(&opts, "test", slog.New(slog.NewTextHandler(&logs, nil)))
	if err == nil {
		t.Cleanup(func() {
			_ = r.Close()
			stop()
		})
	}
	return r, logs.String(), err
}

// TestStartRelayLocksTheEmbeddedServer: --nats-listen applies the node's
// credentials to the server it starts, refuses to open it beyond loopback
// without them, and refuses --nats-creds, which it could not verify.
func TestStartRelayLocksTheEmbeddedServer(t *testing.T) {
	t.Run("token", func(t *testing.T) {
		r, logs, err := startTestRelay(t, "--nats-listen", "127.0.0.1:0", "--nats-token", "s3cret")
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(attr(logs, "embedded NATS listening: point other nodes' --nats here", "url"))
		if err != nil || u.Host == "" {
			t.Fatalf("the log does not say where the embedded server listens (%v):\n%s", err, logs)
		}
		addr := u.Host
		if err := r.Status(); err != nil {
			t.Errorf("the node's own relay: %v", err)
		}
		if got := rawNATSConnect(t, addr); got != "-ERR 'Authorization Violation'" {
			t.Errorf("CONNECT {} to the embedded server: %q, want an authorization violation", got)
		}
		if !strings.Contains(logs, "auth=token") {
			t.Errorf("the log does not say the embedded server wants a token:\n%s", logs)
		}
	})
	t.Run("open beyond loopback", func(t *testing.T) {
		_, _, err := startTestRelay(t, "--nats-listen", "0.0.0.0:0")
		if err == nil || !strings.Contains(err.Error(), "--nats-token") || !strings.Contains(err.Error(), "--nats-user") {
			t.Errorf("--nats-listen 0.0.0.0:0 without authentication: %v, want an error naming the flags to add", err)
		}
	})
	t.Run("creds", func(t *testing.T) {
		_, _, err := startTestRelay(t, "--nats-listen", "127.0.0.1:0", "--nats-creds", "user.creds")
		if err == nil || !strings.Contains(err.Error(), "--nats-creds") {
			t.Errorf("--nats-listen with --nats-creds: %v, want a refusal naming --nats-creds", err)
		}
	})
	t.Run("monitor on loopback", func(t *testing.T) {
		_, logs, err := startTestRelay(t, "--nats-listen", "127.0.0.1:0", "--nats-monitor", ":0")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs, "monitoring listening") || !strings.Contains(logs, "addr=127.0.0.1:") {
			t.Errorf("the log does not say monitoring listens on 127.0.0.1:\n%s", logs)
		}
	})
}

// rawNATSConnect sends CONNECT {} and PING to a NATS server and returns its
// answer.
func rawNATSConnect(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	br := bufio.NewReader(c)
	if _, err := br.ReadString('\n'); err != nil { // INFO
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "CONNECT {}\r\nPING\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// TestStartRelayWithoutTheBus: with NATS unreachable the node starts
// degraded, unless --nats-required.
func TestStartRelayWithoutTheBus(t *testing.T) {
	u := url.URL{Scheme: "nats", Host: testkit.ReserveAddr(t)} // refuses connections
	r, logs, err := startTestRelay(t, "--nats", u.String())
	if err != nil {
		t.Fatalf("startRelay with NATS down: %v", err)
	}
	if r.Status() == nil {
		t.Error("Status() = nil with NATS down")
	}
	if !strings.Contains(logs, "NATS unreachable") {
		t.Errorf("the log does not say NATS is unreachable:\n%s", logs)
	}
	if _, _, err := startTestRelay(t, "--nats", u.String(), "--nats-required"); err == nil {
		t.Error("startRelay with --nats-required and NATS down succeeded")
	}
}

func TestNATSReservedFDs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 0},
		{[]string{"--nats", "nats://a:4222"}, 1},
		{[]string{"--nats-listen", "127.0.0.1:4222"}, 1 + 1 + relay.DefaultEmbeddedMaxConns},
		{[]string{"--nats-listen", "127.0.0.1:4222", "--nats-max-conns", "10", "--nats-monitor", ":8222"}, 1 + 1 + 10 + 1},
	} {
		_, opts, err := parse(t, tc.args, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := opts.nats.reservedFDs(); got != tc.want {
			t.Errorf("%q: reservedFDs() = %d, want %d", tc.args, got, tc.want)
		}
	}
}
