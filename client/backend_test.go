package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/wire"
	"github.com/wsgate/wsgate/wireproto"
)

// The backend's features (docs/backend.md) against the scripted server,
// in both formats: sends and pushes, presence, subscriptions the server
// ends. fakeWire plays the server's side in the client's format: it reads
// the client's commands with the server's own parsers (wire's,
// wireproto's) and writes each frame with wire's or wireproto's twin
// function, so one script tests both.

type fakeWire struct{ format client.Format }

// fakeFor starts a scripted server answering in format.
func fakeFor(t *testing.T, format client.Format) (*fakeServer, fakeWire) {
	if format == client.FormatProtobuf {
		return protoFake(t, "f1", nil), fakeWire{format}
	}
	return startFake(t, "f1", nil), fakeWire{format}
}

// expect reads the client's next command, which must be of kind.
func (w fakeWire) expect(fc *fakeConn, kind wire.CommandKind) wire.Command {
	fc.t.Helper()
	for {
		op, p, err := fc.readFrame()
		if err != nil {
			fc.t.Fatalf("reading a %v command: %v", kind, err)
		}
		var cmd wire.Command
		var werr *wire.Error
		switch {
		case op == ws.OpText && w.format == client.FormatJSON:
			cmd, werr = wire.ParseCommand(p, 1<<16)
		case op == ws.OpBinary && w.format == client.FormatProtobuf:
			cmd, werr = wireproto.ParseCommand(p, 1<<16)
		case op == ws.OpClose:
			fc.t.Fatalf("waiting for a %v command: the client closed: %q", kind, p)
		case op == ws.OpText || op == ws.OpBinary:
			fc.t.Fatalf("a %v frame from a %v client", op, w.format)
		default:
			continue // a pong
		}
		if werr != nil || cmd.Kind != kind {
			fc.t.Fatalf("got %q (%+v, %v), want a %v command", p, cmd, werr, kind)
		}
		return cmd
	}
}

// write sends the frame built by the format's twin.
func (w fakeWire) write(fc *fakeConn, jsonFrame, protoFrame []byte) {
	fc.t.Helper()
	if w.format == client.FormatProtobuf {
		fc.sendProto(protoFrame)
		return
	}
	fc.send(string(jsonFrame))
}

func (w fakeWire) ack(fc *fakeConn, id json.RawMessage) {
	fc.t.Helper()
	w.write(fc, wire.AppendAck(nil, id), wireproto.AppendAck(nil, id))
}

func (w fakeWire) position(fc *fakeConn, id json.RawMessage, channel string, offset uint64, epoch string, recovered *bool) {
	fc.t.Helper()
	w.write(fc, wire.AppendPosition(nil, id, channel, offset, epoch, recovered), wireproto.AppendPosition(nil, id, channel, offset, epoch, recovered))
}

func (w fakeWire) error(fc *fakeConn, id json.RawMessage, code, message string) {
	fc.t.Helper()
	w.write(fc, wire.AppendError(nil, id, code, message), wireproto.AppendError(nil, id, code, message))
}

func (w fakeWire) push(fc *fakeConn, data string) {
	fc.t.Helper()
	w.write(fc, wire.AppendPush(nil, []byte(data)), wireproto.AppendPush(nil, []byte(data)))
}

func (w fakeWire) message(fc *fakeConn, channel string, offset, prev uint64, data string) {
	fc.t.Helper()
	if offset == 0 {
		w.write(fc, wire.AppendMessage(nil, channel, []byte(data)), wireproto.AppendMessage(nil, channel, 0, 0, []byte(data)))
		return
	}
	w.write(fc, wire.AppendMessageAt(nil, channel, offset, prev, []byte(data)), wireproto.AppendMessage(nil, channel, offset, prev, []byte(data)))
}

func (w fakeWire) presence(fc *fakeConn, join bool, channel, conn, user string, joinedMS int64) {
	fc.t.Helper()
	w.write(fc, wire.AppendPresence(nil, join, channel, conn, user, "f1", joinedMS), wireproto.AppendPresence(nil, join, channel, conn, user, "f1", joinedMS))
}

func (w fakeWire) unsubscribed(fc *fakeConn, channel, reason string) {
	fc.t.Helper()
	w.write(fc, wire.AppendUnsubscribed(nil, channel, reason), wireproto.AppendUnsubscribed(nil, channel, reason))
}

// subscribeOn subscribes c to channel with opts on the scripted
// connection fc, answering the subscribe with ack, and returns the
// subscribe command and the subscription.
func subscribeOn(t *testing.T, c *client.Client, w fakeWire, fc *fakeConn, channel string, ack func(wire.Command), handler func(client.Message), opts ...client.SubscribeOption) (wire.Command, *client.Subscription) {
	t.Helper()
	type result struct {
		sub *client.Subscription
		err error
	}
	done := make(chan result, 1)
	go func() {
		sub, err := c.Subscribe(context.Background(), channel, handler, opts...)
		done <- result{sub, err}
	}()
	cmd := w.expect(fc, wire.Subscribe)
	if cmd.Channel != channel {
		t.Fatalf("subscribe %+v, want channel %s", cmd, channel)
	}
	ack(cmd)
	r := <-done
	if r.err != nil {
		t.Fatalf("Subscribe %s: %v", channel, r.err)
	}
	return cmd, r.sub
}

// pushes collects what OnPush gets.
type pushes struct {
	mu  sync.Mutex
	all []string
}

func (p *pushes) record(data json.RawMessage) {
	p.mu.Lock()
	p.all = append(p.all, string(data))
	p.mu.Unlock()
}

func (p *pushes) get() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.all)
}

// TestSendAndPush: pushes reach OnPush in order, unasked or as the reply
// to a Send; Send returns at the ack, or the error frame as an *Error;
// a Send made while disconnected waits for the connection, and one whose
// connection ends before the answer fails with ErrConnectionLost and is
// not sent again. In both formats.
func TestSendAndPush(t *testing.T) { eachFormat(t, testSendAndPush) }

func testSendAndPush(t *testing.T, format client.Format) {
	srv, w := fakeFor(t, format)
	var got pushes
	c := newClient(t, []string{srv.url}, fast(client.Options{Format: format, OnPush: got.record}))
	ctx := testContext(t)

	// Made before Connect: it waits, and goes out on the first connection.
	early := make(chan error, 1)
	go func() { early <- c.Send(ctx, "early") }()
	testkit.Eventually(t, 5*time.Second, "the send waiting", func() bool { return client.Pending(c) == 1 })
	connect(t, c)
	fc := srv.next(t)
	cmd := w.expect(fc, wire.Send)
	if string(cmd.Data) != `"early"` || cmd.Channel != "" || cmd.ID == nil {
		t.Fatalf("send %+v (data %s)", cmd, cmd.Data)
	}
	w.ack(fc, cmd.ID)
	if err := <-early; err != nil {
		t.Fatalf("Send made before Connect: %v", err)
	}

	// Unasked pushes, in order; then a send whose reply is a push before
	// the ack.
	w.push(fc, `{"n":1}`)
	w.push(fc, `"two"`)
	done := make(chan error, 1)
	go func() { done <- c.Send(ctx, map[string]any{"hi": []int{1}}) }()
	cmd = w.expect(fc, wire.Send)
	if string(cmd.Data) != `{"hi":[1]}` {
		t.Fatalf("send data %s", cmd.Data)
	}
	w.push(fc, `{"echo":{"hi":[1]}}`)
	w.ack(fc, cmd.ID)
	if err := <-done; err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := []string{`{"n":1}`, `"two"`, `{"echo":{"hi":[1]}}`}
	testkit.Eventually(t, 5*time.Second, "the pushes", func() bool { return len(got.get()) == len(want) })
	if g := got.get(); !slices.Equal(g, want) {
		t.Fatalf("pushes %q, want %q", g, want)
	}

	// The server's refusals come back as *Error with their code.
	for _, code := range []string{wire.CodeUnsupported, wire.CodeBusy, wire.CodeHookUnavailable, wire.CodeTooLarge} {
		go func() { done <- c.Send(ctx, json.RawMessage(`[1]`)) }()
		cmd = w.expect(fc, wire.Send)
		w.error(fc, cmd.ID, code, "refused: "+code)
		var e *client.Error
		if err := <-done; !errors.As(err, &e) || e.Code != code || e.Message != "refused: "+code {
			t.Fatalf("Send refused with %s: %v", code, err)
		}
	}
	if err := c.Send(ctx, json.RawMessage(`{`)); err == nil {
		t.Fatal("Send of invalid JSON accepted")
	}

	// Lost with its connection: fails, and the next connection does not
	// see it again (a send has no idempotency key).
	go func() { done <- c.Send(ctx, "lost") }()
	lost := w.expect(fc, wire.Send)
	_ = fc.nc.Close()
	if err := <-done; !errors.Is(err, client.ErrConnectionLost) {
		t.Fatalf("Send whose connection ended: %v, want ErrConnectionLost", err)
	}
	fc = srv.next(t)
	go func() { done <- c.Send(ctx, "after") }()
	cmd = w.expect(fc, wire.Send)
	if string(cmd.Data) != `"after"` || string(cmd.ID) == string(lost.ID) {
		t.Fatalf("first send on the new connection: %s (id %s): the lost one was sent again", cmd.Data, cmd.ID)
	}
	w.ack(fc, cmd.ID)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Without an answer, ctx bounds it.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := c.Send(short, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered Send: %v", err)
	}
	w.expect(fc, wire.Send)
	// In flight when Close is called: ErrClosed, as every waiting call.
	go func() { done <- c.Send(ctx, "closing") }()
	if cmd := w.expect(fc, wire.Send); string(cmd.Data) != `"closing"` {
		t.Fatalf("send %s", cmd.Data)
	}
	_ = c.Close()
	if err := <-done; !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Send in flight at Close: %v, want ErrClosed", err)
	}
	if err := c.Send(ctx, 1); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

// TestPushWithoutOnPush: pushes to a client without OnPush are dropped and
// start no goroutine (TestMain checks); the connection goes on.
func TestPushWithoutOnPush(t *testing.T) {
	srv, w := fakeFor(t, client.FormatJSON)
	c := newClient(t, []string{srv.url}, fast(client.Options{}))
	connect(t, c)
	fc := srv.next(t)
	w.push(fc, `{"n":1}`)
	ctx := testContext(t)
	done := make(chan error, 1)
	go func() { done <- c.Send(ctx, 1) }()
	w.ack(fc, w.expect(fc, wire.Send).ID)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestPresence: a subscription WithPresence asks for presence in every
// subscribe (the first, and after a reconnection with since), and gets
// each join and leave, in order with its messages, even while its
// resubscribe waits for the ack; a subscription without it neither asks
// nor gets them. In both formats.
func TestPresence(t *testing.T) { eachFormat(t, testPresence) }

func testPresence(t *testing.T, format client.Format) {
	srv, w := fakeFor(t, format)
	c := newClient(t, []string{srv.url}, fast(client.Options{Format: format}))
	connect(t, c)
	fc := srv.next(t)

	var mu sync.Mutex
	var log []string
	record := func(s string) {
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	logged := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(log)
	}
	var members []client.Member
	onJoin := func(m client.Member) {
		mu.Lock()
		members = append(members, m)
		mu.Unlock()
		record("join " + m.ConnID)
	}
	onLeave := func(m client.Member) { record("leave " + m.ConnID) }
	onMessage := func(m client.Message) { record(m.Channel + " " + string(m.Data)) }

	cmd, _ := subscribeOn(t, c, w, fc, "room.1", func(cmd wire.Command) { w.position(fc, cmd.ID, "room.1", 5, "E", nil) },
		onMessage, client.WithPresence(onJoin, onLeave))
	if !cmd.Presence || cmd.Since != nil {
		t.Fatalf("subscribe %+v, want presence", cmd)
	}
	var lobby collector // its own goroutine: no order with room.1's
	plain, _ := subscribeOn(t, c, w, fc, "lobby", func(cmd wire.Command) { w.ack(fc, cmd.ID) }, lobby.message)
	if plain.Presence {
		t.Fatal("a subscription without WithPresence asked for presence")
	}

	const joined = 1765100000123
	w.presence(fc, true, "room.1", "f1.a", "ann", joined)
	w.message(fc, "room.1", 6, 5, `"hi"`)
	w.presence(fc, true, "lobby", "f1.b", "bob", joined) // not asked for: dropped
	w.presence(fc, true, "nowhere", "f1.b", "bob", joined)
	w.presence(fc, false, "room.1", "f1.a", "ann", joined)
	w.message(fc, "lobby", 0, 0, `1`)
	want := []string{"join f1.a", `room.1 "hi"`, "leave f1.a"}
	testkit.Eventually(t, 5*time.Second, "the presence changes", func() bool { return len(logged()) == len(want) && len(lobby.offsets()) == 1 })
	if got := logged(); !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	mu.Lock()
	if m := members[0]; m != (client.Member{Channel: "room.1", ConnID: "f1.a", User: "ann", Node: "f1", Joined: time.UnixMilli(joined)}) {
		t.Errorf("member %+v", m)
	}
	mu.Unlock()

	// A reconnection subscribes again with since and presence; a join
	// before its ack is delivered (presence changes are not replayed).
	_ = fc.nc.Close()
	fc = srv.next(t)
	re := w.expect(fc, wire.Subscribe)
	other := w.expect(fc, wire.Subscribe)
	if re.Channel == "lobby" {
		re, other = other, re
	}
	if !re.Presence || re.Since == nil || re.Since.Offset != 6 || other.Presence {
		t.Fatalf("resubscribes %+v and %+v, want presence and since 6 on room.1 only", re, other)
	}
	w.presence(fc, true, "room.1", "f1.c", "", joined)
	yes := true
	w.position(fc, re.ID, "room.1", 6, "E", &yes)
	w.ack(fc, other.ID)
	w.presence(fc, false, "room.1", "f1.c", "", joined)
	want = append(want, "join f1.c", "leave f1.c")
	testkit.Eventually(t, 5*time.Second, "the changes after reconnecting", func() bool { return len(logged()) == len(want) })
	if got := logged(); !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
}

// TestUnsubscribedByTheServer: an unsubscribed notice with reason server
// (the backend's control API) ends the subscription like forbidden: an
// EventEnded with the reason, no more messages, and no subscribe of it on
// the next connection, while the others resume; the channel may be
// subscribed to anew. In both formats.
func TestUnsubscribedByTheServer(t *testing.T) { eachFormat(t, testUnsubscribedByTheServer) }

func testUnsubscribedByTheServer(t *testing.T, format client.Format) {
	srv, w := fakeFor(t, format)
	var st states
	c := newClient(t, []string{srv.url}, fast(client.Options{Format: format, OnState: st.record}))
	connect(t, c)
	if id := c.ClientID(); id != "f1.0.1" {
		t.Fatalf("ClientID %q, want the connected frame's", id)
	}
	fc := srv.next(t)
	var ended, kept collector
	subscribeOn(t, c, w, fc, "ended", func(cmd wire.Command) { w.position(fc, cmd.ID, "ended", 1, "E", nil) }, ended.message, client.WithEvents(ended.event))
	subscribeOn(t, c, w, fc, "kept", func(cmd wire.Command) { w.ack(fc, cmd.ID) }, kept.message, client.WithEvents(kept.event))

	w.unsubscribed(fc, "ended", wire.UnsubscribedServer)
	w.message(fc, "ended", 2, 1, `2`) // after the notice: nobody's
	testkit.Eventually(t, 5*time.Second, "the end", func() bool { return len(ended.kinds()) == 1 })
	ended.mu.Lock()
	e := ended.events[0]
	ended.mu.Unlock()
	var ee *client.Error
	if e.Kind != client.EventEnded || e.Reason != wire.UnsubscribedServer || e.Channel != "ended" ||
		!errors.As(e.Err, &ee) || ee.Code != wire.UnsubscribedServer || !strings.Contains(ee.Message, "backend") {
		t.Fatalf("event %+v (%v)", e, e.Err)
	}

	_ = fc.nc.Close()
	fc = srv.next(t)
	if re := w.expect(fc, wire.Subscribe); re.Channel != "kept" {
		t.Fatalf("resubscribed %s, want kept alone", re.Channel)
	} else {
		w.ack(fc, re.ID)
	}
	if id := c.ClientID(); id != "f1.0.2" {
		t.Fatalf("ClientID %q after reconnecting, want the new connection's", id)
	}
	// The next command is the new subscription: nothing of "ended" before it.
	again, _ := subscribeOn(t, c, w, fc, "ended", func(cmd wire.Command) { w.ack(fc, cmd.ID) }, func(client.Message) {})
	if again.Since != nil {
		t.Fatalf("a new subscription of the channel %+v: it must not resume the ended one", again)
	}
	w.message(fc, "kept", 0, 0, `"still"`)
	testkit.Eventually(t, 5*time.Second, "the kept subscription's message", func() bool { return len(kept.offsets()) == 1 })
	if n := len(ended.offsets()); n != 0 || len(kept.kinds()) != 0 {
		t.Fatalf("%d messages after the end; kept's events %v", n, kept.kinds())
	}
	if st.count(client.StateConnected) != 2 || c.Err() != nil {
		t.Fatalf("connected %d times, Err %v", st.count(client.StateConnected), c.Err())
	}
}

// TestUnsubscribedReasons: forbidden and an unknown reason end the
// subscription alike, each with its reason.
func TestUnsubscribedReasons(t *testing.T) {
	srv, w := fakeFor(t, client.FormatJSON)
	c := newClient(t, []string{srv.url}, fast(client.Options{}))
	connect(t, c)
	fc := srv.next(t)
	for _, reason := range []string{wire.UnsubscribedForbidden, "later_reason"} {
		var col collector
		subscribeOn(t, c, w, fc, "c", func(cmd wire.Command) { w.ack(fc, cmd.ID) }, col.message, client.WithEvents(col.event))
		w.unsubscribed(fc, "c", reason)
		testkit.Eventually(t, 5*time.Second, "the end", func() bool { return len(col.kinds()) == 1 })
		col.mu.Lock()
		e := col.events[0]
		col.mu.Unlock()
		var ee *client.Error
		if e.Kind != client.EventEnded || e.Reason != reason || !errors.As(e.Err, &ee) || ee.Code != reason {
			t.Fatalf("%s: event %+v", reason, e)
		}
	}
}
