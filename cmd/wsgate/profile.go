package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
)

// profileOptions are the Go profiler settings: the node's own CPU and heap
// profiles, so a benchmark profiles the binary users run (bench/run-suite.sh
// does, for BENCHMARKS.md's profile summaries).
type profileOptions struct {
	cpuFile  string // --cpuprofile: CPU profile of the whole run
	heapFile string // --memprofile: heap profile on SIGUSR1, else when the node stops
}

// heapSampleRate is runtime.MemProfileRate under --memprofile: one sample
// per 4 KiB allocated on average (the default is 512 KiB), fine enough to
// see per-connection structures.
const heapSampleRate = 4096

// addProfileFlags declares --cpuprofile and --memprofile, filling p.
func addProfileFlags(fs *flag.FlagSet, p *profileOptions) {
	fs.Func("cpuprofile", "write a CPU profile of the whole run, start to exit, to `file` (read it with go tool pprof)", func(v string) error {
		p.cpuFile = v
		return nil
	})
	fs.Func("memprofile", "write a heap profile to `file` on every SIGUSR1 (each replaces the last), or when the node stops if no SIGUSR1 came; samples every 4 KiB allocated, which costs some CPU", func(v string) error {
		p.heapFile = v
		return nil
	})
}

// profiler runs the profiles profileOptions ask for. Its methods may be
// called from any goroutine.
type profiler struct {
	opts   profileOptions
	logger *slog.Logger
	cpu    *os.File       // nil without --cpuprofile
	usr1   chan os.Signal // nil without --memprofile
	done   chan struct{}  // closed by stop: ends the SIGUSR1 goroutine

	mu        sync.Mutex // serialises heap writes and guards wroteHeap
	wroteHeap bool

	stopOnce sync.Once
	wg       sync.WaitGroup
}

// startProfiling starts the CPU profile and the SIGUSR1 handler. Call it
// before the node allocates what the profiles should see, and stop at exit.
// Both files are created at once, so a bad path fails the start rather than
// the exit.
func startProfiling(opts profileOptions, logger *slog.Logger) (*profiler, error) {
	p := &profiler{opts: opts, logger: logger, done: make(chan struct{})}
	if opts.heapFile != "" {
		f, err := os.Create(opts.heapFile)
		if err != nil {
			return nil, fmt.Errorf("--memprofile: %w", err)
		}
		_ = f.Close()
		runtime.MemProfileRate = heapSampleRate
	}
	if opts.cpuFile != "" {
		f, err := os.Create(opts.cpuFile)
		if err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		p.cpu = f
	}
	if opts.heapFile != "" {
		p.usr1 = make(chan os.Signal, 1)
		signal.Notify(p.usr1, syscall.SIGUSR1)
		p.wg.Add(1)
		go p.onSIGUSR1()
	}
	return p, nil
}

func (p *profiler) onSIGUSR1() {
	defer p.wg.Done()
	for {
		select {
		case <-p.usr1:
			p.writeHeap()
		case <-p.done:
			return
		}
	}
}

// stopping writes the heap profile if no SIGUSR1 has: call it when the
// node starts to stop, before the drain lets go of its connections.
func (p *profiler) stopping() {
	if p.opts.heapFile == "" {
		return
	}
	p.mu.Lock()
	wrote := p.wroteHeap
	p.mu.Unlock()
	if !wrote {
		p.writeHeap()
	}
}

// stop ends the profiles: the heap profile as stopping does, then the CPU
// profile. Later calls do nothing, so a deferred stop and an early one on
// the way to os.Exit may both run.
func (p *profiler) stop() {
	p.stopOnce.Do(func() {
		if p.usr1 != nil {
			signal.Stop(p.usr1)
		}
		close(p.done)
		p.wg.Wait()
		p.stopping()
		if p.cpu != nil {
			pprof.StopCPUProfile()
			if err := p.cpu.Close(); err != nil {
				p.logger.Error("--cpuprofile", "err", err)
			}
		}
	})
}

// writeHeap replaces the heap profile with one taken now, after a GC so it
// shows what is live. The profile is written beside the file and renamed
// over it, so a reader never sees half of one.
func (p *profiler) writeHeap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	runtime.GC()
	tmp := p.opts.heapFile + ".tmp"
	f, err := os.Create(tmp)
	if err == nil {
		err = errors.Join(pprof.WriteHeapProfile(f), f.Close())
	}
	if err == nil {
		err = os.Rename(tmp, p.opts.heapFile)
	}
	if err != nil {
		_ = os.Remove(tmp)
		p.logger.Error("--memprofile", "err", err)
		return
	}
	p.wroteHeap = true
	p.logger.Info("heap profile written", "file", p.opts.heapFile)
}
