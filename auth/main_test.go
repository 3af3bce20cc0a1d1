package auth

import (
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// TestMain fails the package when goroutines (a JWKS refresher not
// closed, a fetch's connection) or file descriptors outlive the tests.
// Test servers and Verifiers close in t.Cleanup.
func TestMain(m *testing.M) { testkit.Main(m) }
