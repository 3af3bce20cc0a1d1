package hook

import (
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// TestMain fails the package when goroutines (a call, the batcher, a
// backend's handler) or file descriptors outlive the tests. Clients and
// backends close in t.Cleanup.
func TestMain(m *testing.M) { testkit.Main(m) }
