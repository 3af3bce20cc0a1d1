package testkit

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// ImportEdge is one import: package From imports package To.
type ImportEdge struct{ From, To string }

// ImportEdges lists, once each, the imports between the packages patterns
// need, their tests' included (go list -deps -test): the raw material of a
// test that an import rule holds (bench never reaches the server, wsproto
// never a loop or bus). It skips without the go tool (fails under
// CI=true) and fails when go list does or lists nothing.
func ImportEdges(t testing.TB, patterns ...string) []ImportEdge {
	t.Helper()
	goTool := RequireTool(t, "go")
	args := append([]string{"list", "-deps", "-test", "-f", `{{$p := .ImportPath}}{{range .Imports}}{{$p}}{{"\t"}}{{.}}{{"\n"}}{{end}}`}, patterns...)
	out, err := exec.Command(goTool, args...).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var edges []ImportEdge
	seen := map[ImportEdge]bool{}
	for line := range strings.Lines(string(out)) {
		from, to, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok {
			continue
		}
		// A test build's variants are "path [path.test]".
		from, _, _ = strings.Cut(from, " ")
		to, _, _ = strings.Cut(to, " ")
		if e := (ImportEdge{from, to}); !seen[e] {
			seen[e] = true
			edges = append(edges, e)
		}
	}
	if len(edges) == 0 {
		t.Fatalf("go %s listed no imports", strings.Join(args, " "))
	}
	return edges
}

// IsUnder reports whether pkg is one of roots or a package below one.
func IsUnder(pkg string, roots []string) bool {
	return slices.ContainsFunc(roots, func(r string) bool { return pkg == r || strings.HasPrefix(pkg, r+"/") })
}
