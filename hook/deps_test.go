package hook_test

import (
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// TestDepsStandardLibraryOnly: hook knows nothing of sockets, frames,
// loops or the bus; it is HTTP and HMAC (docs/architecture.md). Its tests
// may use the test kit.
func TestDepsStandardLibraryOnly(t *testing.T) {
	for _, e := range testkit.ImportEdges(t, "github.com/wsgate/wsgate/hook") {
		if !strings.HasPrefix(e.From, "github.com/wsgate/wsgate/hook") {
			continue
		}
		if e.To != "github.com/wsgate/wsgate/internal/testkit" && !strings.HasPrefix(e.To, "github.com/wsgate/wsgate/hook") &&
			strings.Contains(strings.SplitN(e.To, "/", 2)[0], ".") {
			t.Errorf("%s imports %s: hook imports the standard library only", e.From, e.To)
		}
	}
}
