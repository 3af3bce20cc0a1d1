package bench

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
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
	edges := importEdges(t, "github.com/wsgate/wsgate/bench/...", "github.com/wsgate/wsgate/cmd/wsbench")
	for _, e := range edges {
		if isUnder(e.to, serverPackages) && !isUnder(e.from, serverPackages) {
			t.Errorf("%s imports %s: bench is a client and never imports the server (STYLE.md §1)", e.from, e.to)
		}
	}
}

type importEdge struct{ from, to string }

// importEdges runs go list -deps -test on patterns: every import, once,
// between the packages they need, their tests' included.
func importEdges(t *testing.T, patterns ...string) []importEdge {
	t.Helper()
	goTool := testkit.RequireTool(t, "go")
	args := append([]string{"list", "-deps", "-test", "-f", `{{$p := .ImportPath}}{{range .Imports}}{{$p}}{{"\t"}}{{.}}{{"\n"}}{{end}}`}, patterns...)
	out, err := exec.Command(goTool, args...).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var edges []importEdge
	seen := map[importEdge]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		from, to, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		// A test build's variants are "path [path.test]".
		from, _, _ = strings.Cut(from, " ")
		to, _, _ = strings.Cut(to, " ")
		if e := (importEdge{from, to}); !seen[e] {
			seen[e] = true
			edges = append(edges, e)
		}
	}
	if len(edges) == 0 {
		t.Fatalf("go %s listed no imports", strings.Join(args, " "))
	}
	return edges
}

// isUnder reports whether pkg is one of roots or below one.
func isUnder(pkg string, roots []string) bool {
	return slices.ContainsFunc(roots, func(r string) bool { return pkg == r || strings.HasPrefix(pkg, r+"/") })
}
