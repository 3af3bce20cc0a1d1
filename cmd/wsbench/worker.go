package main

import (
	"fmt"
	"io"
	"os"

	"github.com/wsgate/wsgate/bench"
)

// runWorker serves as one worker process of a multi-process run (started
// by wsbench itself as `wsbench worker`; see bench/worker.go).
func runWorker(stderr io.Writer) int {
	if err := bench.ServeWorker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(stderr, "wsbench worker:", err)
		return 1
	}
	return 0
}
