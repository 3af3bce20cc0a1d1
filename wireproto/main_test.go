package wireproto_test

import (
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// TestMain fails the package when goroutines or file descriptors outlive
// the tests.
func TestMain(m *testing.M) { testkit.Main(m) }
