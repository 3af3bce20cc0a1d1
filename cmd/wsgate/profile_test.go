package main

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
)

func TestProfileFlagsFillOptions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want profileOptions
	}{
		{nil, profileOptions{}},
		{[]string{"--cpuprofile", "cpu.prof"}, profileOptions{cpuFile: "cpu.prof"}},
		{[]string{"--memprofile", "heap.prof", "--cpuprofile", "cpu.prof"}, profileOptions{cpuFile: "cpu.prof", heapFile: "heap.prof"}},
	} {
		fs := flag.NewFlagSet("wsgate", flag.ContinueOnError)
		var got profileOptions
		addProfileFlags(fs, &got)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%v: got %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

// A SIGUSR1 writes the heap profile; stopping then keeps that one (the
// snapshot taken under load) instead of replacing it with the drained
// node's; stop ends a CPU profile that go tool pprof can read.
func TestProfilerHeapOnSIGUSR1IsKeptAtStop(t *testing.T) {
	keepMemProfileRate(t)
	dir := t.TempDir()
	opts := profileOptions{cpuFile: filepath.Join(dir, "cpu.prof"), heapFile: filepath.Join(dir, "heap.prof")}
	p, err := startProfiling(opts, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	if runtime.MemProfileRate != heapSampleRate {
		t.Errorf("MemProfileRate = %d, want %d", runtime.MemProfileRate, heapSampleRate)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the heap profile SIGUSR1 asks for", p.heapWritten)
	first := readProfile(t, opts.heapFile)
	p.stopping()
	p.stop()
	if again := readProfile(t, opts.heapFile); !bytes.Equal(again, first) {
		t.Error("stopping replaced the heap profile SIGUSR1 wrote")
	}
	readProfile(t, opts.cpuFile)
	if _, err := os.Stat(opts.heapFile + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary heap file left behind: %v", err)
	}
}

// Without a SIGUSR1 the heap profile is taken when the node stops.
func TestProfilerHeapAtStopWithoutSIGUSR1(t *testing.T) {
	keepMemProfileRate(t)
	heap := filepath.Join(t.TempDir(), "heap.prof")
	p, err := startProfiling(profileOptions{heapFile: heap}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(heap); len(b) != 0 {
		t.Fatalf("heap profile written before the stop (%d bytes)", len(b))
	}
	p.stop()
	p.stop() // a second stop (deferred after an early one) does nothing
	readProfile(t, heap)
}

// A path that cannot be written fails the start, naming the flag, and
// leaves no CPU profile running.
func TestProfilerBadPathFailsAtStart(t *testing.T) {
	keepMemProfileRate(t)
	missing := filepath.Join(t.TempDir(), "no-such-dir", "x.prof")
	ok := filepath.Join(t.TempDir(), "ok.prof")
	for _, tc := range []struct {
		opts profileOptions
		flag string
	}{
		{profileOptions{cpuFile: missing}, "--cpuprofile"},
		{profileOptions{heapFile: missing, cpuFile: ok}, "--memprofile"},
		{profileOptions{heapFile: ok, cpuFile: missing}, "--cpuprofile"},
	} {
		p, err := startProfiling(tc.opts, discardLogger())
		if err == nil {
			p.stop()
			t.Fatalf("%+v: started", tc.opts)
		}
		if !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%+v: error %q does not name %s", tc.opts, err, tc.flag)
		}
	}
	// StartCPUProfile fails while another CPU profile runs.
	p, err := startProfiling(profileOptions{cpuFile: ok}, discardLogger())
	if err != nil {
		t.Fatalf("a failed start left a CPU profile running: %v", err)
	}
	p.stop()
}

func (p *profiler) heapWritten() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wroteHeap
}

// readProfile reads a profile file and checks it is one: gzip-compressed
// protobuf, as runtime/pprof writes.
func readProfile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 20 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("%s is not a gzipped profile (%d bytes)", path, len(b))
	}
	return b
}

func keepMemProfileRate(t *testing.T) {
	rate := runtime.MemProfileRate
	t.Cleanup(func() { runtime.MemProfileRate = rate })
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
