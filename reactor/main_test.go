package reactor_test

import (
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// TestMain fails the package when goroutines or file descriptors outlive
// the tests (engines not shut down, clients not closed); it covers the
// internal tests too, which are in the same test binary.
func TestMain(m *testing.M) { testkit.Main(m) }
