package bench

import (
	"testing"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wsproto"
)

// connectedFrame is the frame wsgate sends first on /ws.
const connectedFrame = `{"type":"connected","client":"wsgate.0.1","node":"wsgate","version":"dev","ping_interval_ms":25000}`

// TestConnectedFrameIsNotADelivery: a subscriber skips the connected frame
// wsgate sends first on /ws (not a delivery, not unstamped), whether it
// comes alone or in one read with the messages behind it. Only the first
// message is a greeting: the same frame later, or unstamped text, still
// counts as unstamped, and a server that sends none loses no message.
func TestConnectedFrameIsNotADelivery(t *testing.T) {
	const now = int64(2_000_000_000)
	l := newLoop(nil, &Shard{plan: Plan{Publishers: 1, Payload: 64}})
	frames := func(payloads ...string) []byte {
		var b []byte
		for _, p := range payloads {
			b = wsproto.AppendFrame(b, ws.OpText, true, []byte(p))
		}
		return b
	}
	msg := func(seq uint32) string {
		return `{"type":"message","channel":"bench.0","data":` + string(AppendPayload(nil, Stamp{Seq: seq, Intended: now - 1000}, 64)) + `}`
	}
	open := func() *conn {
		c := &conn{gc: &captureConn{}, loop: l, state: stateOpen, opened: true, stable: true}
		l.add(c)
		return c
	}
	check := func(step string, delivered, unique, foreign int64) {
		t.Helper()
		st := &l.stats
		if st.delivered.Load() != delivered || st.unique.Load() != unique || st.foreign.Load() != foreign || st.errors.Load() != 0 {
			t.Fatalf("%s: delivered %d, unique %d, unstamped %d, errors %v; want %d, %d, %d and none",
				step, st.delivered.Load(), st.unique.Load(), st.foreign.Load(), l.errors, delivered, unique, foreign)
		}
	}

	c := open()
	c.readFrames(frames(connectedFrame, msg(1), msg(2)), now)
	check("greeting and two messages in one read", 2, 2, 0)
	c.readFrames(frames(connectedFrame, `{"type":"error","code":"x"}`, msg(3)), now)
	check("a connected frame after the first message", 3, 3, 2)

	c = open()
	c.readFrames(frames(connectedFrame), now)
	check("a greeting alone", 3, 3, 2)
	c.readFrames(frames(msg(1)), now)
	check("the message after it", 4, 4, 2)

	c = open()
	c.readFrames(frames(msg(1), msg(2)), now)
	check("no greeting (another server)", 6, 6, 2)

	c = open()
	c.readFrames(wsproto.AppendFrame(nil, ws.OpBinary, true, []byte(connectedFrame)), now)
	check("a binary first frame is not the greeting", 6, 6, 3)

	for _, p := range []string{connectedFrame, `{"type":"connected","client":"a"}`} {
		if !isConnected([]byte(p)) {
			t.Errorf("isConnected(%q) = false", p)
		}
	}
	for _, p := range []string{"", `{"type":"connected"}`, `{"type":"message","data":{"type":"connected",1}}`, `{"type":"connected",`, msg(1)} {
		if isConnected([]byte(p)) {
			t.Errorf("isConnected(%q) = true", p)
		}
	}
}
