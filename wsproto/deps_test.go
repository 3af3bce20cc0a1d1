package wsproto_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// wsprotoNeverImports: wsproto is RFC 6455 as bytes in and bytes out. It
// knows no event loop (gnet, reactor), no bus (relay, NATS) and nothing of
// the gateway above it (STYLE.md §1, docs/architecture.md).
var wsprotoNeverImports = []string{
	"github.com/wsgate/wsgate/reactor",
	"github.com/wsgate/wsgate/relay",
	"github.com/wsgate/wsgate/admin",
	"github.com/wsgate/wsgate/auth",
	"github.com/wsgate/wsgate/wire",
	"github.com/panjf2000/gnet",
	"github.com/nats-io",
}

// TestDepsNoLoopOrBus: nothing wsproto builds, tests included, needs a
// package it must never import, directly or through another.
func TestDepsNoLoopOrBus(t *testing.T) {
	goTool := testkit.RequireTool(t, "go")
	args := []string{"list", "-deps", "-test", "-f", `{{$p := .ImportPath}}{{range .Imports}}{{$p}}{{"\t"}}{{.}}{{"\n"}}{{end}}`, "github.com/wsgate/wsgate/wsproto"}
	out, err := exec.Command(goTool, args...).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	forbidden := func(pkg string) bool {
		return slices.ContainsFunc(wsprotoNeverImports, func(r string) bool { return pkg == r || strings.HasPrefix(pkg, r+"/") })
	}
	seen := map[string]bool{}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, line := range lines {
		from, to, _ := strings.Cut(line, "\t")
		// A test build's variants are "path [path.test]".
		from, _, _ = strings.Cut(from, " ")
		to, _, _ = strings.Cut(to, " ")
		if forbidden(to) && !forbidden(from) && !seen[line] {
			seen[line] = true
			t.Errorf("%s imports %s: wsproto never imports a loop, a bus or the gateway (STYLE.md §1)", from, to)
		}
	}
	if len(lines) < 2 {
		t.Fatalf("go %s listed no imports", strings.Join(args, " "))
	}
}
