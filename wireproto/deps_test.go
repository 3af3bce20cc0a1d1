package wireproto_test

import (
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// wireprotoNeverImports: wireproto is the protocol both sides of a socket
// share, like wire: no socket, loop, bus or gateway package
// (docs/architecture.md).
var wireprotoNeverImports = []string{
	"github.com/wsgate/wsgate/reactor",
	"github.com/wsgate/wsgate/relay",
	"github.com/wsgate/wsgate/admin",
	"github.com/wsgate/wsgate/auth",
	"github.com/wsgate/wsgate/wsproto",
	"github.com/panjf2000/gnet",
	"github.com/nats-io",
}

// TestDepsProtocolOnly: nothing wireproto builds, tests included, needs a
// package it must never import, directly or through another.
func TestDepsProtocolOnly(t *testing.T) {
	for _, e := range testkit.ImportEdges(t, "github.com/wsgate/wsgate/wireproto") {
		if testkit.IsUnder(e.To, wireprotoNeverImports) && !testkit.IsUnder(e.From, wireprotoNeverImports) {
			t.Errorf("%s imports %s: wireproto imports only wire and the Protobuf runtime", e.From, e.To)
		}
	}
}
