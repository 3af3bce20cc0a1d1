package wsproto_test

import (
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
	for _, e := range testkit.ImportEdges(t, "github.com/wsgate/wsgate/wsproto") {
		if testkit.IsUnder(e.To, wsprotoNeverImports) && !testkit.IsUnder(e.From, wsprotoNeverImports) {
			t.Errorf("%s imports %s: wsproto never imports a loop, a bus or the gateway (STYLE.md §1)", e.From, e.To)
		}
	}
}
