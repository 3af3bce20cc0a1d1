package relay_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/natstest"
	"github.com/wsgate/wsgate/relay"
)

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// dialNATS connects a relay named name (its NATS connection name) and
// closes it when the test ends.
func dialNATS(t *testing.T, srv *server.Server, name string, cfg relay.NATSConfig) *relay.NATS {
	t.Helper()
	cfg.URLs = []string{srv.ClientURL()}
	cfg.Name = name
	cfg.Logger = quietLogger
	r, err := relay.DialNATS(cfg)
	if err != nil {
		t.Fatalf("DialNATS: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// dialRaw is a plain NATS client, standing for a backend that publishes
// straight on the bus.
func dialRaw(t *testing.T, srv *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatalf("nats.Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// waitSubs polls the server until the client connection named name holds
// exactly the subscriptions want (in any order).
func waitSubs(t *testing.T, srv *server.Server, name string, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	var got []string
	testkit.Eventually(t, 5*time.Second, fmt.Sprintf("%s's subscriptions %q on the server", name, want), func() bool {
		cz, err := srv.Connz(&server.ConnzOptions{Subscriptions: true})
		if err != nil {
			t.Fatalf("Connz: %v", err)
		}
		got = nil
		for _, c := range cz.Conns {
			if c.Name == name {
				got = slices.Sorted(slices.Values(c.Subs))
				return slices.Equal(got, want)
			}
		}
		return false
	})
}

func TestNATSContract(t *testing.T) {
	testRelayContract(t, func(t *testing.T) (relay.Relay, relay.Relay) {
		srv := natstest.Start(t)
		return dialNATS(t, srv, "r1", relay.NATSConfig{}), dialNATS(t, srv, "r2", relay.NATSConfig{})
	})
}

func TestDialNATSErrors(t *testing.T) {
	if _, err := relay.DialNATS(relay.NATSConfig{}); err == nil {
		t.Error("DialNATS without URLs succeeded")
	}
	url := "nats://" + testkit.ReserveAddr(t)
	if r, err := relay.DialNATS(relay.NATSConfig{URLs: []string{url}, Required: true, Logger: quietLogger}); err == nil {
		r.Close()
		t.Errorf("DialNATS(%s) with Required and no server succeeded", url)
	}
}

// TestNATSStartsWithoutTheBus: without Required, a relay whose NATS is down
// at start returns at once, delivers locally, reports itself connecting and
// holds publications; when a server comes up at the address it connects,
// subscribes to what was declared meanwhile, and sends what it held.
func TestNATSStartsWithoutTheBus(t *testing.T) {
	addr := testkit.ReserveAddr(t)
	start := time.Now()
	r, err := relay.DialNATS(relay.NATSConfig{
		URLs:        []string{"nats://" + addr},
		Name:        "late",
		ReplayDelay: 50 * time.Millisecond,
		Logger:      quietLogger,
		Options:     fastReconnect(),
	})
	if err != nil {
		t.Fatalf("DialNATS with NATS down: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if d := time.Since(start); d > promptBound {
		t.Errorf("DialNATS with NATS down took %s", d)
	}
	if err := r.Status(); err == nil || err.Error() != "NATS connecting" {
		t.Errorf("Status() with NATS down at start = %v, want NATS connecting", err)
	}
	h := &recorder{}
	if err := r.Start(h); err != nil {
		t.Fatal(err)
	}
	r.Interest("news", true)
	if err := r.Publish("news", []byte(`"held"`), ""); err != nil {
		t.Fatalf("Publish with NATS down at start: %v", err)
	}
	if got := h.on("news"); !equalStrings(got, []string{`"held"`}) {
		t.Errorf("local handler got %q, want the held publication", got)
	}
	if s := r.Stats(); s.Connected || s.BufferedMessages != 1 {
		t.Errorf("Stats() = %+v, want not connected, 1 publication held", s)
	}

	srv := natstest.Start(t, natstest.At(addr))
	raw := dialRaw(t, srv)
	sub, err := raw.SubscribeSync("wsgate.ch.news")
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the relay to connect", func() bool { return r.Status() == nil })
	waitSubs(t, srv, "late", "wsgate.ch.news")
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != `"held"` {
		t.Errorf("raw subscriber got %v, %v; want the held publication", m, err)
	}
	if err := raw.Publish("wsgate.ch.news", []byte(`"from the bus"`)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "a publication from the bus", func() bool { return h.has("news", `"from the bus"`) })
	if s := r.Stats(); s.Reconnects != 0 || s.Lost != 0 {
		t.Errorf("Stats() = %+v, want no reconnect (a first connection) and nothing lost", s)
	}
}

// TestNATSSubjects: a backend publishing straight on NATS reaches the node,
// on "<prefix>.<channel>" for the default and a custom prefix, and the
// node's own publications travel on the same subjects.
func TestNATSSubjects(t *testing.T) {
	srv := natstest.Start(t)
	raw := dialRaw(t, srv)
	for _, tc := range []struct {
		prefix, want, other string
	}{
		{"", "wsgate.ch", "acme.ws"},
		{"acme.ws", "acme.ws", "wsgate.ch"},
	} {
		t.Run("prefix="+tc.want, func(t *testing.T) {
			name := "node-" + tc.want
			r := dialNATS(t, srv, name, relay.NATSConfig{Prefix: tc.prefix})
			h := &recorder{}
			if err := r.Start(h); err != nil {
				t.Fatal(err)
			}
			channels := []string{"news", "chat.room.42"}
			for _, ch := range channels {
				if got, want := r.Subject(ch), tc.want+"."+ch; got != want {
					t.Errorf("Subject(%q) = %q, want %q", ch, got, want)
				}
				r.Interest(ch, true)
			}
			waitSubs(t, srv, name, tc.want+".news", tc.want+".chat.room.42")

			for _, ch := range channels {
				// Same connection, so the first (wrong prefix) is routed
				// before the second arrives.
				if err := raw.Publish(tc.other+"."+ch, []byte(`"wrong prefix"`)); err != nil {
					t.Fatal(err)
				}
				if err := raw.Publish(tc.want+"."+ch, []byte(`{"b":1,  "a":[1,2]}`)); err != nil {
					t.Fatal(err)
				}
			}
			for _, ch := range channels {
				testkit.Eventually(t, 5*time.Second, "the direct publication on "+ch, func() bool { return h.count(ch) > 0 })
				if got, want := h.on(ch), []string{`{"b":1,  "a":[1,2]}`}; !equalStrings(got, want) {
					t.Errorf("channel %q got %q, want %q", ch, got, want)
				}
			}

			sub, err := raw.SubscribeSync(tc.want + ".>")
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			if err := raw.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := r.Publish("chat.room.42", []byte(`"from the node"`), ""); err != nil {
				t.Fatal(err)
			}
			m, err := sub.NextMsg(5 * time.Second)
			if err != nil {
				t.Fatalf("no message on %s.>: %v", tc.want, err)
			}
			if m.Subject != tc.want+".chat.room.42" || string(m.Data) != `"from the node"` {
				t.Errorf("raw subscriber got %q on %q, want %q on %q", m.Data, m.Subject, `"from the node"`, tc.want+".chat.room.42")
			}
		})
	}
}

// TestNATSInvalidPayload: what arrives from NATS must be JSON (it is spliced
// into client frames as is); anything else is counted and dropped.
func TestNATSInvalidPayload(t *testing.T) {
	srv := natstest.Start(t)
	raw := dialRaw(t, srv)
	r := dialNATS(t, srv, "r", relay.NATSConfig{})
	h := &recorder{}
	if err := r.Start(h); err != nil {
		t.Fatal(err)
	}
	r.Interest("raw", true)
	waitSubs(t, srv, "r", "wsgate.ch.raw")
	invalid := []string{"not json", "", "{", `{"a":1}x`, "\xff", `"unterminated`}
	for _, p := range invalid {
		if err := raw.Publish("wsgate.ch.raw", []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	const valid = ` {"ok": true} `
	if err := raw.Publish("wsgate.ch.raw", []byte(valid)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "the valid publication", func() bool { return h.count("raw") > 0 })
	if got, want := h.on("raw"), []string{valid}; !equalStrings(got, want) {
		t.Errorf("handler got %q, want only %q", got, want)
	}
	s := r.Stats()
	if s.Invalid != int64(len(invalid)) || s.Delivered != 1 || s.MessagesIn != int64(len(invalid))+1 {
		t.Errorf("Stats() Invalid=%d Delivered=%d MessagesIn=%d, want %d, 1, %d",
			s.Invalid, s.Delivered, s.MessagesIn, len(invalid), len(invalid)+1)
	}
}

// gateDialer lets a test keep a relay from reconnecting until it opens the
// gate.
type gateDialer struct {
	closed atomic.Bool
	d      net.Dialer
}

func (g *gateDialer) Dial(network, address string) (net.Conn, error) {
	if g.closed.Load() {
		return nil, errors.New("gate closed")
	}
	return g.d.Dial(network, address)
}

// fastReconnect makes a relay retry every 10ms, without jitter.
func fastReconnect(extra ...nats.Option) []nats.Option {
	return append([]nats.Option{nats.ReconnectWait(10 * time.Millisecond), nats.ReconnectJitter(0, 0)}, extra...)
}

// TestNATSOutage: while NATS is down, a node keeps delivering locally and
// holds what it publishes up to PublishBufferMsgs, refusing the rest; after
// reconnecting it re-sends what it held, in order, ReplayDelay later, and
// the interests of both nodes (including one declared during the outage)
// are in force again.
//
// r1, the publisher, is kept from reconnecting until r2 has reconnected
// and re-subscribed, so the replay cannot race r2's resubscription (which
// is what ReplayDelay covers in production, with retries every 250ms-1.25s
// against a 2s default).
func TestNATSOutage(t *testing.T) {
	const (
		replayDelay = 100 * time.Millisecond
		held        = 10
		msgSize     = len(`{"seq":100}`)
	)
	addr := testkit.ReserveAddr(t) // NATS comes back on it after the outage
	srv := natstest.Start(t, natstest.At(addr))
	gate := &gateDialer{}
	r1 := dialNATS(t, srv, "r1", relay.NATSConfig{
		PublishBufferMsgs: held,
		ReplayDelay:       replayDelay,
		Options:           fastReconnect(nats.SetCustomDialer(gate)),
	})
	r2 := dialNATS(t, srv, "r2", relay.NATSConfig{ReplayDelay: replayDelay, Options: fastReconnect()})
	h1, h2 := startPair(t, r1, r2)
	r1.Interest("back", true)
	r2.Interest("held", true)
	r2.Interest("gone", true)
	r2.Interest("gone", false) // must not come back after the outage
	waitSubs(t, srv, "r1", "wsgate.ch.back")
	waitSubs(t, srv, "r2", "wsgate.ch.held")

	gate.closed.Store(true)
	srv.Shutdown()
	srv.WaitForShutdown()
	testkit.Eventually(t, 5*time.Second, "both relays to notice the outage", func() bool {
		return r1.Status() != nil && r2.Status() != nil
	})
	if s := r1.Stats(); s.Connected {
		t.Errorf("during the outage Stats().Connected = true")
	}
	r2.Interest("late", true) // declared while disconnected

	// One buffer for every publication: the relay must keep its own copy.
	buf := make([]byte, 0, msgSize)
	var want []string
	for i := range held {
		buf = fmt.Appendf(buf[:0], `{"seq":%d}`, 100+i)
		if err := r1.Publish("held", buf, ""); err != nil {
			t.Fatalf("Publish #%d during the outage, within the buffer: %v", i, err)
		}
		want = append(want, string(buf))
		if got := h1.on("held"); !equalStrings(got, want) {
			t.Fatalf("after Publish #%d during the outage, the local handler got %q, want %q", i, got, want)
		}
	}
	if s, cost := r1.Stats(), held*(len("wsgate.ch.held")+msgSize+relay.PublicationOverhead); s.BufferedBytes != int64(cost) || s.BufferedMessages != held {
		t.Errorf("Stats() BufferedBytes = %d, BufferedMessages = %d, want %d and %d", s.BufferedBytes, s.BufferedMessages, cost, held)
	}
	buf = fmt.Appendf(buf[:0], `{"seq":%d}`, 100+held)
	if err := r1.Publish("held", buf, ""); !errors.Is(err, relay.ErrBufferFull) {
		t.Errorf("Publish past PublishBufferMsgs = %v, want %v", err, relay.ErrBufferFull)
	}
	if got := h1.on("held"); !equalStrings(got, want) {
		t.Errorf("a refused publication was delivered locally: handler got %q, want %q", got, want)
	}
	if got := r1.Stats().Refused; got != 1 {
		t.Errorf("Stats().Refused = %d, want 1", got)
	}
	copy(buf, "garbage that overwrites the caller's buffer")

	srv2 := natstest.Start(t, natstest.At(addr))
	testkit.Eventually(t, 5*time.Second, "r2 to reconnect", func() bool { return r2.Status() == nil })
	waitSubs(t, srv2, "r2", "wsgate.ch.held", "wsgate.ch.late")
	if got := h2.on("held"); len(got) != 0 {
		t.Fatalf("r2 got %q before r1 reconnected", got)
	}

	opened := time.Now()
	gate.closed.Store(false)
	testkit.Eventually(t, 5*time.Second, "r1 to reconnect", func() bool { return r1.Status() == nil })
	waitSubs(t, srv2, "r1", "wsgate.ch.back")
	testkit.Eventually(t, 5*time.Second, "the held publications to reach r2", func() bool { return h2.count("held") >= held })
	if elapsed := time.Since(opened); elapsed < replayDelay {
		t.Errorf("held publications reached r2 %s after r1 could reconnect, before ReplayDelay %s", elapsed, replayDelay)
	}
	if got := h2.on("held"); !equalStrings(got, want) {
		t.Errorf("r2 got %q, want %q (in order, as published)", got, want)
	}
	testkit.Eventually(t, 5*time.Second, "the buffer to empty", func() bool { return r1.Stats().BufferedBytes == 0 })

	// Interests are back: new publications flow both ways, including on the
	// channel r2 declared during the outage.
	for _, p := range []struct {
		from    relay.Relay
		channel string
		to      *recorder
	}{{r1, "held", h2}, {r1, "late", h2}, {r2, "back", h1}} {
		data := `"after the outage"`
		if err := p.from.Publish(p.channel, []byte(data), ""); err != nil {
			t.Fatalf("Publish on %s after the outage: %v", p.channel, err)
		}
		testkit.Eventually(t, 5*time.Second, "a publication on "+p.channel+" after the outage", func() bool { return p.to.has(p.channel, data) })
	}
	if got, want := h2.on("held"), append(want, `"after the outage"`); !equalStrings(got, want) {
		t.Errorf("r2 got %q on held, want %q", got, want)
	}
	s1, s2 := r1.Stats(), r2.Stats()
	if !s1.Connected || s1.Reconnects != 1 || s1.Refused != 1 || s1.BufferedBytes != 0 || s1.Interests != 1 {
		t.Errorf("r1 Stats() = %+v, want connected, 1 reconnect, 1 refused, nothing buffered, 1 interest", s1)
	}
	if !s2.Connected || s2.Reconnects != 1 || s2.Refused != 0 || s2.Interests != 2 {
		t.Errorf("r2 Stats() = %+v, want connected, 1 reconnect, nothing refused, 2 interests", s2)
	}
}

// TestNATSOutageOversizedPublication: a publication larger than the
// server's max_payload, accepted while NATS is down, must not wedge the
// relay: what was published after it still reaches the other node once NATS
// is back, and so do new publications.
func TestNATSOutageOversizedPublication(t *testing.T) {
	const maxPayload = 512
	limit := func(o *server.Options) { o.MaxPayload = maxPayload }
	addr := testkit.ReserveAddr(t) // NATS comes back on it after the outage
	srv := natstest.Start(t, natstest.At(addr), limit)
	gate := &gateDialer{}
	r1 := dialNATS(t, srv, "r1", relay.NATSConfig{
		ReplayDelay: 50 * time.Millisecond,
		Options:     fastReconnect(nats.SetCustomDialer(gate)),
	})
	r2 := dialNATS(t, srv, "r2", relay.NATSConfig{Options: fastReconnect()})
	_, h2 := startPair(t, r1, r2)
	r2.Interest("big", true)
	waitSubs(t, srv, "r2", "wsgate.ch.big")

	gate.closed.Store(true)
	srv.Shutdown()
	srv.WaitForShutdown()
	testkit.Eventually(t, 5*time.Second, "r1 to notice the outage", func() bool { return r1.Status() != nil })
	big := fmt.Sprintf(`"%0*d"`, 2*maxPayload, 0)
	for _, data := range []string{`"before"`, big, `"after"`} {
		_ = r1.Publish("big", []byte(data), "") // refusing the big one is fine too
	}

	srv2 := natstest.Start(t, natstest.At(addr), limit)
	testkit.Eventually(t, 5*time.Second, "r2 to reconnect", func() bool { return r2.Status() == nil })
	waitSubs(t, srv2, "r2", "wsgate.ch.big")
	gate.closed.Store(false)
	testkit.Eventually(t, 5*time.Second, "r1 to reconnect", func() bool { return r1.Status() == nil })
	if err := r1.Publish("big", []byte(`"new"`), ""); err != nil {
		t.Errorf("Publish after reconnecting: %v", err)
	}
	want := []string{`"before"`, `"after"`, `"new"`}
	testkit.Poll(3*time.Second, func() bool { return equalStrings(h2.on("big"), want) })
	if got := h2.on("big"); !equalStrings(got, want) {
		t.Errorf("r2 got %q, want %q: the publication over max_payload blocks everything held behind it (Stats %+v)",
			got, want, r1.Stats())
	}
}
