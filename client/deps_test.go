package client_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// clientNeverImports: the client is what applications link. It speaks to
// the gateway only through the socket (STYLE.md §1, docs/architecture.md),
// so it needs nothing of the server, the bus, the token verifier or the
// binaries, and nothing internal to this module. It may use the pure
// protocol packages, wire, wireproto (the Protobuf protocol, with
// google.golang.org/protobuf, its generated code's runtime) and wsproto:
// they are the protocol, not the server. Its tests may import the server
// (they run real nodes): the rule is on the package as users build it.
var clientNeverImports = []string{
	"github.com/wsgate/wsgate/reactor",
	"github.com/wsgate/wsgate/relay",
	"github.com/wsgate/wsgate/admin",
	"github.com/wsgate/wsgate/auth",
	"github.com/wsgate/wsgate/cmd",
	"github.com/wsgate/wsgate/internal",
	"github.com/panjf2000/gnet",
	"github.com/nats-io",
}

// TestDepsNoServerPackage: nothing the client package needs, directly or
// through another, is a server package. testkit.ImportEdges lists test
// imports too (go list -test), and the in-package tests' imports count as
// the package's there, so the build users get is listed without -test.
func TestDepsNoServerPackage(t *testing.T) {
	goTool := testkit.RequireTool(t, "go")
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", "github.com/wsgate/wsgate/client").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	for _, dep := range deps {
		if testkit.IsUnder(dep, clientNeverImports) {
			t.Errorf("the client needs %s: it never imports the server, the bus or internal packages", dep)
		}
	}
}
