// Command wsgateprof runs a wsgate node (reactor and admin API on their
// defaults) under the Go profiler, for the profile summaries BENCHMARKS.md
// gives where a target is missed. It is wsgate's wiring with profiling
// added, not a second server: the gateway code is the reactor package.
//
//	wsgateprof --listen 127.0.0.1:8080 --admin-listen 127.0.0.1:8081 --cpuprofile cpu.prof --memprofile heap.prof
//
// The CPU profile covers the process's whole life. The heap profile is
// written on SIGUSR1 (bench/run-suite.sh sends it while the connections are
// held), or on SIGTERM/SIGINT if no SIGUSR1 came.
package main

import (
	"context"
	"flag"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/admin"
	"github.com/wsgate/wsgate/reactor"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "`address` for WebSocket clients")
	adminListen := flag.String("admin-listen", "127.0.0.1:8081", "`address` for the admin API")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to `file`")
	memProfile := flag.String("memprofile", "", "write a heap profile to `file` on SIGTERM")
	flag.Parse()
	runtime.MemProfileRate = 4096 // fine enough to see per-connection structures

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	eng, err := reactor.New(reactor.Config{Listen: *listen, MessageRate: -1, ByteRate: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *adminListen)
	if err != nil {
		log.Fatal(err)
	}
	if err := eng.Start(); err != nil {
		log.Fatal(err)
	}
	api := admin.NewHTTPServer(*adminListen, admin.New(eng, admin.Config{NodeID: "prof"}))
	go func() { _ = api.Serve(ln) }()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1)
	wrote := false
	for s := range sig {
		if *memProfile != "" && (s == syscall.SIGUSR1 || !wrote) {
			writeHeap(*memProfile)
			wrote = true
		}
		if s != syscall.SIGUSR1 {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = eng.Shutdown(ctx)
	_ = api.Shutdown(ctx)
}

func writeHeap(path string) {
	runtime.GC()
	if f, err := os.Create(path); err == nil {
		_ = pprof.WriteHeapProfile(f)
		_ = f.Close()
	}
}
