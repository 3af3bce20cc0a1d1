package reactor_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/testkit/gatewaytest"
	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/wsproto"
)

func TestLifecycleHandshakeTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	e := gatewaytest.Start(t, reactor.Config{HandshakeTimeout: timeout})

	// Upgraded in time: the handshake timer must not touch it later.
	upgraded := dialWS(t, e, reactor.EchoPath)

	t.Run("PartialRequest", func(t *testing.T) {
		slow := dialRaw(t, e)
		start := time.Now()
		slow.write([]byte("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
		slow.expectRejection(http.StatusRequestTimeout)
		elapsed := time.Since(start)
		// The wheel ticks every timeout/4, so the timer fires between
		// 3/4 of the timeout (a tick already under way) and 5/4 of it
		// plus scheduling; the bounds are loose for a loaded machine.
		if elapsed < timeout/2 || elapsed > 10*timeout {
			t.Errorf("closed after %v, want about %v", elapsed, timeout)
		}
		if got := e.Stats().HandshakeTimeouts; got != 1 {
			t.Errorf("Stats().HandshakeTimeouts = %d, want 1", got)
		}
	})

	t.Run("Trickle", func(t *testing.T) {
		// A byte every 10ms never completes the request; activity must not
		// extend the deadline.
		slow := dialRaw(t, e)
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for range tick.C {
				_ = slow.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
				if _, err := slow.conn.Write([]byte("x")); err != nil || time.Since(start) > ioTimeout {
					return
				}
			}
		}()
		slow.expectRejection(http.StatusRequestTimeout)
		if elapsed := time.Since(start); elapsed > 10*timeout {
			t.Errorf("closed after %v, want about %v", elapsed, timeout)
		}
		_ = slow.conn.Close() // ends the writer
		<-done
		if got := e.Stats().HandshakeTimeouts; got != 2 {
			t.Errorf("Stats().HandshakeTimeouts = %d, want 2", got)
		}
	})

	// More than the timeout has passed since it upgraded.
	upgraded.send(ws.OpText, true, []byte("still here"))
	upgraded.expectMessage(ws.OpText, []byte("still here"))
	upgraded.closeHandshake()
	if got := e.Stats().HandshakeTimeouts; got != 2 {
		t.Errorf("Stats().HandshakeTimeouts = %d, want 2", got)
	}
}

func TestLifecycleShutdownGoingAway(t *testing.T) {
	t.Parallel()
	e := gatewaytest.Start(t, reactor.Config{})

	var raws []*rawClient
	for range 5 {
		raws = append(raws, dialWS(t, e, reactor.EchoPath))
	}
	g, _, err := dialGorilla(t, e, 0)
	if err != nil {
		t.Fatal(err)
	}
	handshaking := dialRaw(t, e)
	handshaking.write([]byte("GET /echo HTTP/1.1\r\n"))
	silent := dialRaw(t, e)
	testkit.Eventually(t, ioTimeout, "8 connections", func() bool { return e.Stats().Connections == 8 })

	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdownErr <- e.Shutdown(ctx)
	}()

	for i, c := range raws {
		if reason := c.expectCloseFrame(ws.StatusGoingAway); reason == "" {
			t.Errorf("client %d: close 1001 without a reason", i)
		}
		c.sendClose(ws.StatusGoingAway, "")
		c.expectEOF()
	}
	_ = g.SetReadDeadline(time.Now().Add(ioTimeout))
	_, _, err = g.ReadMessage() // gorilla answers the close frame itself
	var ce *gorilla.CloseError
	if !errors.As(err, &ce) || ce.Code != gorilla.CloseGoingAway {
		t.Errorf("gorilla client: read returned %v, want close 1001", err)
	}
	_ = g.Close()
	// Connections still in their handshake are closed without a word.
	handshaking.expectEOF()
	silent.expectEOF()

	select {
	case err := <-shutdownErr:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("Shutdown did not return")
	}
	if got := e.Stats().Connections; got != 0 {
		t.Errorf("Stats().Connections = %d after Shutdown, want 0", got)
	}
	if nc, err := net.DialTimeout("tcp", e.Addr().String(), ioTimeout); err == nil {
		_ = nc.Close()
		t.Error("the listener still accepts after Shutdown")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after Shutdown: %v, want connection refused", err)
	}
	if err := e.Shutdown(context.Background()); err == nil {
		t.Error("a second Shutdown returned nil, want an error")
	}
}

// TestLifecycleShutdownDrains checks the drain: new connections are refused
// with 503 while it lasts, and a client that never answers close 1001 is
// disconnected after CloseTimeout.
func TestLifecycleShutdownDrains(t *testing.T) {
	t.Parallel()
	const closeTimeout = 300 * time.Millisecond
	e := gatewaytest.Start(t, reactor.Config{CloseTimeout: closeTimeout})
	deaf := dialWS(t, e, reactor.EchoPath)

	start := time.Now()
	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdownErr <- e.Shutdown(ctx)
	}()
	deaf.expectCloseFrame(ws.StatusGoingAway)

	late := dialRaw(t, e)
	late.sendUpgrade(reactor.EchoPath)
	late.expectRejection(http.StatusServiceUnavailable)

	deaf.expectEOF() // never answered: cut after CloseTimeout
	select {
	case err := <-shutdownErr:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("Shutdown did not return")
	}
	if elapsed := time.Since(start); elapsed < closeTimeout/2 {
		t.Errorf("Shutdown returned after %v, before the close timeout %v", elapsed, closeTimeout)
	}
	if got := e.Stats().Connections; got != 0 {
		t.Errorf("Stats().Connections = %d after Shutdown, want 0", got)
	}
}

// TestLifecycleShutdownContextEnds checks that Shutdown returns when its
// context ends even though a client never answers the close.
func TestLifecycleShutdownContextEnds(t *testing.T) {
	t.Parallel()
	e := gatewaytest.Start(t, reactor.Config{CloseTimeout: time.Minute})
	deaf := dialWS(t, e, reactor.EchoPath)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- e.Shutdown(ctx) }()
	deaf.expectCloseFrame(ws.StatusGoingAway)
	deaf.expectEOF()
	select {
	case <-shutdownErr:
	case <-time.After(ioTimeout):
		t.Fatal("Shutdown did not return after its context ended")
	}
	if got := e.Stats().Connections; got != 0 {
		t.Errorf("Stats().Connections = %d after Shutdown, want 0", got)
	}
}

func TestLifecycleShutdownIdle(t *testing.T) {
	t.Parallel()
	e := gatewaytest.Start(t, reactor.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown of an idle engine: %v", err)
	}
}

func TestLifecycleDisableEcho(t *testing.T) {
	t.Parallel()
	e := gatewaytest.Start(t, reactor.Config{Echo: reactor.EchoOff})

	c := dialRaw(t, e)
	c.sendUpgrade(reactor.EchoPath)
	c.expectRejection(http.StatusNotFound)

	_, resp, err := gorilla.DefaultDialer.Dial(wsURL(e, reactor.EchoPath), nil)
	if !errors.Is(err, gorilla.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusNotFound {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("gorilla dial: %v, status %d, want bad handshake with 404", err, status)
	}
	_ = resp.Body.Close()
	if got := e.Stats().Handshakes; got != 0 {
		t.Errorf("Stats().Handshakes = %d, want 0", got)
	}
}

func TestLifecycleConnectionCount(t *testing.T) {
	t.Parallel()
	e := gatewaytest.Start(t, reactor.Config{})
	if got := e.Stats(); got.Connections != 0 || got.Handshakes != 0 || got.HandshakeTimeouts != 0 || got.Upgraded != 0 {
		t.Fatalf("Stats() of a new engine = %+v, want zeros", got)
	}

	raws := []*rawClient{dialWS(t, e, reactor.EchoPath), dialWS(t, e, reactor.EchoPath), dialWS(t, e, reactor.EchoPath)}
	g, _, err := dialGorilla(t, e, 0)
	if err != nil {
		t.Fatal(err)
	}
	cd, _, err := dialCoder(t, e)
	if err != nil {
		t.Fatal(err)
	}
	rejected := dialRaw(t, e)
	rejected.sendUpgrade("/nope")
	rejected.expectRejection(http.StatusNotFound)
	idle := dialRaw(t, e) // never sends a byte
	testkit.Eventually(t, ioTimeout, "7 connections", func() bool { return e.Stats().Connections == 7 })
	if got := e.Stats().Handshakes; got != 5 {
		t.Errorf("Stats().Handshakes = %d, want 5", got)
	}

	for _, c := range raws {
		c.closeHandshake()
	}
	if err := gorillaClose(g); err != nil {
		t.Error(err)
	}
	_ = g.Close()
	if err := cd.Close(coder.StatusNormalClosure, ""); err != nil {
		t.Errorf("coder close: %v", err)
	}
	// The rejected connection waits for its client to go, like a closed one.
	_ = rejected.conn.Close()
	_ = idle.conn.Close()
	testkit.Eventually(t, ioTimeout, "0 connections", func() bool { return e.Stats().Connections == 0 })
	if got := e.Stats(); got.Handshakes != 5 || got.Connections != 0 || got.Upgraded != 0 || got.HandshakeTimeouts != 0 {
		t.Errorf("Stats() = %+v, want Handshakes: 5 and no connection left", got)
	}
}

// TestLifecycleResetPeerLeavesOthersAlone has clients fail the protocol and
// reset their connection at once, in a loop, each followed by a new client.
// The server's close frame then meets the reset; that must not affect the
// next connection, which may get the same descriptor number.
func TestLifecycleResetPeerLeavesOthersAlone(t *testing.T) {
	t.Parallel()
	e := gatewaytest.Start(t, reactor.Config{Loops: 1})
	const rounds = 1500
	cut := 0
	for range rounds {
		c := dialRaw(t, e)
		c.sendUpgrade(reactor.EchoPath)
		if _, err := c.readResponseHead(); err != nil {
			cut++ // this connection was shut down by the server before its 101
			continue
		}
		_ = c.conn.SetLinger(0)
		c.write([]byte{0x81, 0x01, 'x'}) // unmasked: the server answers 1002
		_ = c.conn.Close()               // ... into a reset
	}
	if cut > 0 {
		t.Errorf("%d of %d handshakes were cut off by the server", cut, rounds)
	}
	testkit.Eventually(t, ioTimeout, "0 connections", func() bool { return e.Stats().Connections == 0 })
}

func TestLifecycleStartAddressInUse(t *testing.T) {
	t.Parallel()
	first := gatewaytest.Start(t, reactor.Config{})
	second, err := reactor.New(reactor.Config{Listen: first.Addr().String(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := second.Start(); err == nil {
		_ = second.Shutdown(context.Background())
		t.Fatalf("a second engine started on %s, which is in use", first.Addr())
	}
	// The first engine is unaffected.
	c := dialWS(t, first, reactor.EchoPath)
	c.send(ws.OpText, true, []byte("still serving"))
	c.expectMessage(ws.OpText, []byte("still serving"))
	c.closeHandshake()
}

func TestLifecycleNewRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  reactor.Config
	}{
		{"NegativeLoops", reactor.Config{Loops: -1}},
		{"NegativeFrameSize", reactor.Config{Limits: wsproto.Limits{MaxFrameSize: -1}}},
		{"FrameOverMessage", reactor.Config{Limits: wsproto.Limits{MaxFrameSize: 2000, MaxMessageSize: 1000}}},
		{"NegativeTimeout", reactor.Config{HandshakeTimeout: -time.Second}},
		{"BadListen", reactor.Config{Listen: "no-port"}},
		{"ReusePortWithSingleListener", reactor.Config{ReusePort: true, SingleListener: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e, err := reactor.New(tc.cfg); err == nil || e != nil {
				t.Errorf("New(%+v) = %v, %v; want nil and an error", tc.cfg, e, err)
			}
		})
	}
}
