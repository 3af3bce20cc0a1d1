package client_test

import (
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// TestMain fails the package when a test leaves a goroutine or a socket
// behind: Close must end everything the client started.
func TestMain(m *testing.M) { testkit.Main(m) }
