package main

import (
	"fmt"
	"io"
)

// runWorker serves as one worker process of a multi-process run.
func runWorker(stderr io.Writer) int {
	fmt.Fprintln(stderr, "wsbench worker: not implemented yet")
	return 2
}
