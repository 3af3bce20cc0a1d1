package reactor

import (
	"strings"
	"testing"
)

// TestValidateOrder: the start-up error lists reactor.Config's
// problems in one order, the fields' (Validate used to range over maps, so
// two runs of the same bad configuration printed different errors).
func TestValidateOrder(t *testing.T) {
	cfg := Config{
		HandshakeTimeout: -1, CloseTimeout: -1, PingInterval: -1, PongTimeout: -1, IdleTimeout: -1, DrainWindow: -1,
		MaxConns: -1, MaxConnsPerIP: -1, MaxOutboundBytes: -1, MaxSubscriptions: -1, MaxDataSize: -1, MessageBurst: -1,
		MaxSockets: -1, ReservedFDs: -1, MaxHandshakes: -1, MaxHandshakesPerIP: -1, MaxChannels: -1,
	}
	want := []string{
		"handshake timeout", "close timeout", "ping interval", "pong timeout", "idle timeout", "drain window",
		"max conns must", "max conns per ip", "max outbound bytes", "max subscriptions", "max data size", "message burst",
		"max sockets", "reserved fds", "max handshakes must", "max handshakes per ip", "max channels",
	}
	first := cfg.Validate()
	if first == nil {
		t.Fatal("Validate succeeded")
	}
	lines, i := strings.Split(first.Error(), "\n"), 0
	for _, line := range lines {
		if i < len(want) && strings.HasPrefix(line, want[i]) {
			i++
		}
	}
	if i != len(want) {
		t.Errorf("problem %q missing or out of order in\n%v", want[i], first)
	}
	for run := range 20 {
		if err := cfg.Validate(); err.Error() != first.Error() {
			t.Fatalf("run %d reported\n%v\nthe first run\n%v", run+1, err, first)
		}
	}
}
