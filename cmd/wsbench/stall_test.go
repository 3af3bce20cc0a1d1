package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// TestRampStallFailsWithTheStageAndCounts: against a listener that accepts
// and never answers, the ramp makes no progress; the run fails after
// --ramp-stall, not the connect timeout, and says where it stopped and
// what it reached, with no figure per connection computed from zeros.
func TestRampStallFailsWithTheStageAndCounts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	jsonPath := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runWsbench("connect", "--url", "ws://"+ln.Addr().String()+"/ws", "--conns", "5", "--procs", "1",
		"--connect-timeout", "60s", "--ramp-stall", "1s", "--quiet", "--json", jsonPath)
	if code != exitRunFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitRunFailed, stdout, stderr)
	}
	if !strings.Contains(stdout, "RUN FAILED") || !strings.Contains(stdout, "at the ramp") || !strings.Contains(stdout, "reached 0 of 5") ||
		strings.Contains(stdout, "B/conn") || !strings.Contains(stderr, "ramp stalled") {
		t.Fatalf("the report should name the ramp and the counts, with no figure per connection:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	rep := readReport(t, jsonPath)
	if rep.Failure == nil || rep.Failure.Stage != "ramp" || rep.Failure.Planned != 5 || rep.Server != nil {
		t.Fatalf("report failure %+v, server %+v", rep.Failure, rep.Server)
	}
}
