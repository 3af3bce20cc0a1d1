package reactor_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/reactor"
)

// connectedOnWS upgrades a raw connection on path (a /ws one) and returns
// the first message the server sends after the 101, which must be a text
// frame.
func connectedOnWS(t *testing.T, e *reactor.Engine, path string) (*rawClient, []byte) {
	t.Helper()
	c := dialRaw(t, e)
	c.expectUpgrade(c.sendUpgrade(path))
	op, p, err := c.readMessage()
	if err != nil {
		t.Fatalf("%s: the first frame after the 101: %v", path, err)
	}
	if op != ws.OpText {
		t.Fatalf("%s: the first frame after the 101 is %v %s, want text", path, op, snippet(p))
	}
	return c, p
}

// wantConnected checks that p is, byte for byte, the connected frame for
// node, version and ping interval, with a connection ID "<node>.<32 hex digits>" (identity.go), and returns
// the ID.
func wantConnected(t *testing.T, p []byte, node, version string, ping time.Duration) string {
	t.Helper()
	hello, err := wstest.ParseConnected(p)
	if err != nil {
		t.Fatal(err)
	}
	idPattern := regexp.MustCompile(`^` + regexp.QuoteMeta(node) + `\.[0-9a-f]{32}$`)
	if !idPattern.MatchString(hello.Client) {
		t.Errorf("client id %q, want %s.<32 hex digits>", hello.Client, node)
	}
	quote := func(s string) string {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want := `{"type":"connected","client":` + quote(hello.Client) + `,"node":` + quote(node) +
		`,"version":` + quote(version) + `,"ping_interval_ms":` + strconv.FormatInt(ping.Milliseconds(), 10) + `}`
	if string(p) != want {
		t.Errorf("connected frame\n got %s\nwant %s", p, want)
	}
	return hello.Client
}

// TestConnectedFrameFirstOnWS: the first frame a /ws client gets after the
// 101 is the connected frame with the node's NodeID, Version and
// PingInterval (in ms); every connection gets its own client id; the
// connection then works as before; and /echo gets no connected frame.
func TestConnectedFrameFirstOnWS(t *testing.T) {
	const (
		node    = "node-7"
		version = "1.2.3-test"
		ping    = 7250 * time.Millisecond
	)
	e := gatewaytest.Start(t, reactor.Config{Loops: 2, NodeID: node, Version: version, PingInterval: ping, Echo: reactor.EchoOn})

	ids := map[string]bool{}
	for i, path := range []string{"/ws", "/ws?channels=news", "/ws", "/ws?channels=a,b", "/ws", "/ws", "/ws", "/ws"} {
		c, p := connectedOnWS(t, e, path)
		id := wantConnected(t, p, node, version, ping)
		if ids[id] {
			t.Errorf("connection %d (%s) got client id %q again", i, path, id)
		}
		ids[id] = true
		if i == 0 {
			// The connection carries on as before behind its greeting.
			c.send(ws.OpText, true, []byte(`{"type":"subscribe","channel":"after.hello","id":1}`))
			op, reply, err := c.readMessage()
			var ack struct {
				Type string
				ID   int
			}
			if err != nil || op != ws.OpText || json.Unmarshal(reply, &ack) != nil || ack.Type != "ack" || ack.ID != 1 {
				t.Fatalf("subscribe after the connected frame: %v %s %v, want ack 1", op, snippet(reply), err)
			}
			c.closeHandshake()
		}
	}

	// wstest.Dial reads the same frame for the tests that use it.
	w, err := wstest.Dial(wsURL(e, "/ws?channels=news"), ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Connected.Node != node || w.Connected.Version != version || w.Connected.PingIntervalMS != ping.Milliseconds() || ids[w.Connected.Client] {
		t.Errorf("wstest.Dial's connected frame %+v, want node %q, version %q, %d ms and a new client id", w.Connected, node, version, ping.Milliseconds())
	}

	// /echo: the first frame the client gets is the echo of its own
	// message, nothing before it.
	echo := dialRaw(t, e)
	echo.expectUpgrade(echo.sendUpgrade(reactor.EchoPath))
	echo.send(ws.OpText, true, []byte("first"))
	echo.expectMessage(ws.OpText, []byte("first"))
	echo.closeHandshake()
}

// TestConnectedFrameDefaultsAndEscaping: with NodeID and Version unset the
// frame names node "wsgate", version "dev" and the default ping interval;
// a version that needs escaping is escaped as encoding/json does.
func TestConnectedFrameDefaultsAndEscaping(t *testing.T) {
	e := gatewaytest.Start(t, reactor.Config{})
	_, p := connectedOnWS(t, e, "/ws")
	wantConnected(t, p, "wsgate", "dev", reactor.DefaultPingInterval)

	const version = `1.0 "beta" <x> & \ é`
	e = gatewaytest.Start(t, reactor.Config{NodeID: "n", Version: version})
	_, p = connectedOnWS(t, e, "/ws")
	wantConnected(t, p, "n", version, reactor.DefaultPingInterval)
}
