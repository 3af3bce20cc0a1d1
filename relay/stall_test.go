package relay_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/natstest"
	"github.com/wsgate/wsgate/relay"
)

// promptBound is how long a relay call may take while the bus is stalled.
// The target is far lower (the calls only touch the relay's own state);
// this bound is generous so a loaded 2-core machine cannot fail it, and
// still an order of magnitude under the 12+ s hangs it guards against.
const promptBound = time.Second

// prompt runs f and fails the test if it does not return within
// promptBound. It returns how long f took, for the log.
func prompt(t *testing.T, what string, f func()) time.Duration {
	t.Helper()
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		f()
		done <- time.Since(start)
	}()
	select {
	case d := <-done:
		return d
	case <-time.After(promptBound):
		t.Fatalf("%s did not return within %s: the caller is blocked on the bus", what, promptBound)
		return 0
	}
}

// TestNATSStalledBusDoesNotBlockCallers: with a NATS server that completes
// the handshake and then stops reading (a dropped network), the relay's
// callers (the reactor's event loops and hub lock, /readyz, /api/stats)
// never wait for it: Publish, Interest, Status and Stats return at once,
// Publish still delivers locally and refuses with ErrQueueFull once the
// queue is full. When a healthy server comes up at the address, the relay
// reconnects, its interests are in force and publications flow both ways.
func TestNATSStalledBusDoesNotBlockCallers(t *testing.T) {
	addr := testkit.ReserveAddr(t) // a healthy NATS takes it over after the stall
	fake := natstest.StartStalled(t, addr)
	r, err := relay.DialNATS(relay.NATSConfig{
		URLs:          []string{fake.URL()},
		Name:          "stalled",
		Logger:        quietLogger,
		PublishBuffer: 1 << 20,
		Options:       fastReconnect(nats.SetCustomDialer(natstest.SmallSendBuffer())),
	})
	if err != nil {
		t.Fatalf("DialNATS: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	h := &recorder{}
	if err := r.Start(h); err != nil {
		t.Fatal(err)
	}
	r.Interest("before", true)

	// 4 MiB of publications: far more than the fake's and the client's
	// socket buffers and nats.go's write buffer take, and than the queue
	// holds, so the bus writer blocks and the queue fills.
	data := []byte(`"` + strings.Repeat("x", 64<<10) + `"`)
	var worst time.Duration
	var worstWhat string
	note := func(what string, d time.Duration) {
		if d > worst {
			worst, worstWhat = d, what
		}
	}
	accepted, refused := 0, 0
	for i := range 64 {
		what := fmt.Sprintf("Publish #%d", i)
		note(what, prompt(t, what, func() {
			switch err := r.Publish("stall", data, ""); {
			case err == nil:
				accepted++
			case errors.Is(err, relay.ErrQueueFull), errors.Is(err, relay.ErrBufferFull):
				refused++
			default:
				t.Errorf("%s: %v", what, err)
			}
		}))
	}
	if refused == 0 {
		t.Errorf("all %d publications of 64 KiB were accepted with the bus stalled and a 1 MiB queue", accepted)
	}
	if s := r.Stats(); s.Refused != int64(refused) || s.BufferedBytes > 1<<20 {
		t.Errorf("Stats() = %+v, want %d refused and at most 1 MiB buffered", s, refused)
	}
	if got := h.count("stall"); got != accepted {
		t.Errorf("local handler got %d publications, want the %d accepted", got, accepted)
	}

	// The stall is in force now. Everything a caller does returns at once.
	for i := range 20 {
		ch := fmt.Sprintf("during.%d", i)
		note("Interest on", prompt(t, "Interest(on)", func() { r.Interest(ch, true) }))
		note("Interest off", prompt(t, "Interest(off)", func() { r.Interest(ch, i%2 == 0) }))
		note("Status", prompt(t, "Status", func() { _ = r.Status() }))
		note("Stats", prompt(t, "Stats", func() { _ = r.Stats() }))
		note("Publish", prompt(t, "Publish", func() { _ = r.Publish("small", []byte(`{}`), "") }))
		time.Sleep(20 * time.Millisecond) // spread the calls over the stall
	}
	s := r.Stats()
	t.Logf("stalled bus: %d publications accepted, %d refused, %d interest changes pending; slowest call %s took %s",
		accepted, refused, s.InterestsPending, worstWhat, worst)
	if fake.Handshakes() == 0 {
		t.Fatal("the relay never completed a handshake with the fake server")
	}

	// The network comes back as a healthy server at the same address.
	fake.Close()
	srv := natstest.Start(t, natstest.At(addr))
	testkit.Eventually(t, 10*time.Second, "the relay to reconnect", func() bool { return r.Status() == nil })
	want := []string{"wsgate.ch.before"}
	for i := 0; i < 20; i += 2 {
		want = append(want, fmt.Sprintf("wsgate.ch.during.%d", i))
	}
	waitSubs(t, srv, "stalled", want...)

	raw := dialRaw(t, srv)
	sub, err := raw.SubscribeSync("wsgate.ch.after")
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := raw.Publish("wsgate.ch.before", []byte(`"from the bus"`)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "a publication from the bus", func() bool { return h.has("before", `"from the bus"`) })
	testkit.Eventually(t, 10*time.Second, "a publication to reach the bus", func() bool {
		_ = r.Publish("after", []byte(`"to the bus"`), "")
		m, err := sub.NextMsg(100 * time.Millisecond)
		return err == nil && string(m.Data) == `"to the bus"`
	})
}
