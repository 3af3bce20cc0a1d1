package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/bench"
)

// TestHelpDocumentsEveryFlag: --help exits 0 and names every flag with its
// description.
func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--help"}, io.Discard, &out); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	fs := newFlagSet(new(bench.Config), new(options), io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(out.String(), "-"+f.Name) || f.Usage == "" {
			t.Errorf("flag -%s is not documented", f.Name)
		}
	})
	for _, s := range []string{"connect", "broadcast", "echo", "churn"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("scenario %s is not documented", s)
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"nosuchscenario", "--url", "ws://127.0.0.1:1/ws"},
		{"connect"}, // no --url
		{"broadcast", "--url", "ws://127.0.0.1:1/ws", "--publish-via", "nats"},
		{"connect", "--url", "ws://127.0.0.1:1/ws", "--procs", "zero"},
	} {
		var stderr bytes.Buffer
		if code := run(args, io.Discard, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
	var stderr bytes.Buffer
	run([]string{"broadcast", "--url", "ws://127.0.0.1:1/ws", "--publish-via", "nats"}, io.Discard, &stderr)
	if !strings.Contains(stderr.String(), "--nats-url") {
		t.Errorf("nats: %s", stderr.String())
	}
}
