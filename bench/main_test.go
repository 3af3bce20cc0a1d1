package bench

import (
	"fmt"
	"os"
	"testing"
)

// TestMain lets the test binary serve as a wsbench worker process, so
// multi-process runs are tested with real processes.
func TestMain(m *testing.M) {
	if os.Getenv(WorkerEnv) == "1" {
		if err := ServeWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
