package bench

import (
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// serverPackages are wsgate's server side. bench is a client of the
// gateway (STYLE.md §1, docs/architecture.md): it reaches the server only
// through its sockets, so what it measures is the binary users run.
var serverPackages = []string{
	"github.com/wsgate/wsgate/reactor",
	"github.com/wsgate/wsgate/admin",
	"github.com/wsgate/wsgate/relay",
	"github.com/wsgate/wsgate/auth",
	"github.com/wsgate/wsgate/wire",
}

// TestDepsNoServerPackage: nothing bench or wsbench builds, tests
// included, needs a server package, directly or through another.
func TestDepsNoServerPackage(t *testing.T) {
	for _, e := range testkit.ImportEdges(t, "github.com/wsgate/wsgate/bench/...", "github.com/wsgate/wsgate/cmd/wsbench") {
		if testkit.IsUnder(e.To, serverPackages) && !testkit.IsUnder(e.From, serverPackages) {
			t.Errorf("%s imports %s: bench is a client and never imports the server (STYLE.md §1)", e.From, e.To)
		}
	}
}
