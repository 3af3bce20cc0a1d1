package reactor

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

func TestPingKeepsAnsweringConnectionOpen(t *testing.T) {
	// The pong timeout leaves the client room to be scheduled late on a busy
	// 2-core machine (50ms failed there under the full suite), yet stays
	// below the ping interval: the next ping is due at the later of the two.
	e := gateway(t, Config{PingInterval: 100 * time.Millisecond, PongTimeout: 90 * time.Millisecond})
	c := dialWS(t, e, "/ws")
	_ = c.SetReadDeadline(time.Now().Add(600 * time.Millisecond))
	if _, _, err := c.ReadMessage(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("want only pings for 600ms, got %v", err)
	}
	if c.Pings < 3 {
		t.Fatalf("answered %d pings in 600ms with a 100ms ping interval, want at least 3", c.Pings)
	}
	if got := send(t, c, `{"type":"subscribe","channel":"alive","id":1}`); got["type"] != "ack" {
		t.Fatalf("connection unusable after pings: %v", got)
	}
	if n := e.Stats().PongTimeouts; n != 0 {
		t.Fatalf("pong timeouts = %d", n)
	}
}

// TestIdleLoopIsNotTickedForNothing shows an idle loop costs nothing per
// tick: with 5 ms ticks (a 320 ms drain window) and the next ping an hour
// away, no tick runs on an idle loop in a quiet second, where the ticker
// used to post 200 a second, and then one a second for the lag probe.
func TestIdleLoopIsNotTickedForNothing(t *testing.T) {
	e := gateway(t, Config{PingInterval: time.Hour, PongTimeout: time.Minute, DrainWindow: 320 * time.Millisecond})
	if e.tick != 5*time.Millisecond {
		t.Fatalf("tick = %v, want 5ms", e.tick)
	}
	c := dialWS(t, e, "/ws")
	if got := send(t, c, `{"type":"subscribe","channel":"quiet","id":1}`); got["type"] != "ack" {
		t.Fatalf("subscribe: %v", got)
	}
	ticks := func() (n int64) {
		for _, l := range *e.loops.Load() {
			n += l.stats.ticks.Load()
		}
		return n
	}
	time.Sleep(100 * time.Millisecond) // the handshake's timers settle
	before := ticks()
	time.Sleep(time.Second)
	if n := ticks() - before; n != 0 {
		t.Fatalf("%d ticks ran on %d idle loop(s) in 1s of 5 ms ticks; want none", n, len(*e.loops.Load()))
	}
	// The connection is still served; TestPingKeepsAnsweringConnectionOpen
	// and the drain tests show due timers still fire.
	if got := send(t, c, `{"type":"unsubscribe","channel":"quiet","id":2}`); got["type"] != "ack" {
		t.Fatalf("unsubscribe after the quiet second: %v", got)
	}
}

// TestLagOfAStuckLoopGrows: while a loop is stuck (here in a task that
// sleeps), the lag the stats report is the wait so far of the tick posted
// to it, not the last lag measured; once the loop is free the tick runs
// and the lag it measured stays reported. On a loop with nothing due the
// tick is the probe a read of the stats posts; on one with a timer due
// every tick (25 ms ticks, pings every 100 ms) it is the ticker's, which
// posts no other while one waits (it used to post one a tick, each
// restamping the wait, so the lag never passed a tick).
func TestLagOfAStuckLoopGrows(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"nothing due", Config{PingInterval: time.Hour, PongTimeout: time.Minute}},
		{"timers due", Config{PingInterval: 100 * time.Millisecond, PongTimeout: 900 * time.Millisecond, DrainWindow: 1600 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := gateway(t, tc.cfg)
			c := dialWS(t, e, "/ws")
			go func() { // reading answers the pings
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}()
			time.Sleep(lagProbeEvery) // the loops' last ticks are old enough
			var l *loop               // the connection's: its wheel is not empty
			for _, cand := range *e.loops.Load() {
				if int32(cand.wheel.wake.Load()-cand.clock()) < never/2 {
					l = cand
				}
			}
			if l == nil {
				t.Fatal("no loop with a timer")
			}
			// Stuck long enough that a timer comes due meanwhile (the
			// connection's next is at most PongTimeout away), then looked
			// at once the tick posted for it has waited a while.
			const stuck, look, least = 1600 * time.Millisecond, 1300 * time.Millisecond, 300 * time.Millisecond
			released := make(chan struct{})
			_ = l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
				time.Sleep(stuck)
				close(released)
				return nil
			}))
			if lag := e.Stats().LoopLagSeconds; lag > 0.1 {
				t.Fatalf("lag %.3fs before the loop was stuck for long", lag)
			} // that read posted a probe behind the stuck task, or the ticker will post a tick
			time.Sleep(look)
			if lag := e.Stats().LoopLagSeconds; lag < least.Seconds() {
				t.Errorf("lag %.3fs while the loop has been stuck %v: want it to grow past %v", lag, look, least)
			}
			<-released
			testkit.Eventually(t, waitTimeout, "the tick to run", func() bool { return !l.tickPending() })
			if lag := e.Stats().LoopLagSeconds; lag < least.Seconds() {
				t.Errorf("lag %.3fs after a tick waited behind a %v task: want what it measured", lag, stuck)
			}
		})
	}
}

// TestTimersRunOnALoopBornWhileTheTickerSleeps: with no loop yet, the
// ticker sleeps until its next report (10 s); the first connection's loop
// must wake it, or the connection's timers wait that long. Its ping, due
// 100 ms after the upgrade, must come well before.
func TestTimersRunOnALoopBornWhileTheTickerSleeps(t *testing.T) {
	e := gateway(t, Config{PingInterval: 100 * time.Millisecond, PongTimeout: 90 * time.Millisecond})
	time.Sleep(200 * time.Millisecond) // the ticker has looked, found no loop, and gone to sleep
	c := dialWS(t, e, "/ws")
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := c.ReadMessage(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("want only pings, got %v", err)
	}
	if c.Pings == 0 {
		t.Fatal("no ping in 2s with a 100ms ping interval: the new loop's timers did not run")
	}
}

// rawUpgrade opens a connection and completes the handshake by hand, so the
// test decides whether anything is ever read or answered.
func rawUpgrade(t *testing.T, e *Engine, path string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	return nc
}

func TestPongTimeoutClosesSilentConnection(t *testing.T) {
	e := gateway(t, Config{PingInterval: 50 * time.Millisecond, PongTimeout: 100 * time.Millisecond})
	nc := rawUpgrade(t, e, "/ws") // reads nothing, answers nothing
	testkit.Eventually(t, waitTimeout, "a pong timeout", func() bool { return e.Stats().PongTimeouts == 1 })
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, err := io.ReadAll(nc)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("want the server to close the connection, got %v", err)
	}
	if !strings.Contains(string(all), "pong timeout") {
		t.Fatalf("the close frame should say pong timeout; got %q", all)
	}
	testkit.Eventually(t, waitTimeout, "connection gone", func() bool { return e.Stats().Connections == 0 })
}

func TestIdleTimeoutClosesConnectionWithoutDataMessages(t *testing.T) {
	e := gateway(t, Config{IdleTimeout: 200 * time.Millisecond, PingInterval: 50 * time.Millisecond})
	start := time.Now()
	c := dialWS(t, e, "/ws") // answers pings, sends no data message
	ce := expectClose(t, c, 5*time.Second)
	if ce.Code != ws.StatusNormalClosure || ce.Reason != "idle timeout" {
		t.Fatalf("close %d %q, want 1000 idle timeout", ce.Code, ce.Reason)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("closed after %s, before the 200ms idle timeout", d)
	}
	if c.Pings == 0 {
		t.Fatal("pings should not count as activity, but none were sent")
	}
}

func TestDrainClosesEveryoneWith1001SpreadOverTheWindow(t *testing.T) {
	const window, clients = 400 * time.Millisecond, 20
	e, err := New(Config{Listen: "127.0.0.1:0", DrainWindow: window, CloseTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	var conns []*wstest.Conn
	for range clients {
		conns = append(conns, dialWS(t, e, "/ws?channels=x"))
	}
	testkit.Eventually(t, waitTimeout, "all upgraded", func() bool { return e.Stats().Upgraded == clients })

	drained := make(chan error, 1)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		drained <- e.Drain(ctx)
	}()
	testkit.Eventually(t, waitTimeout, "readiness to turn false", func() bool { return e.Ready() != nil })

	var (
		mu    sync.Mutex
		times []time.Duration
		wg    sync.WaitGroup
	)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ce := expectClose(t, c, 5*time.Second)
			if ce.Code != ws.StatusGoingAway || !strings.HasPrefix(ce.Reason, "draining; retry-after-ms=") {
				t.Errorf("close %d %q, want 1001 draining; retry-after-ms=N", ce.Code, ce.Reason)
			}
			mu.Lock()
			times = append(times, time.Since(start))
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := <-drained; err != nil {
		t.Fatalf("drain: %v", err)
	}
	first, last := times[0], times[0]
	for _, d := range times {
		first, last = min(first, d), max(last, d)
	}
	if last > window+time.Second {
		t.Errorf("last close after %s, window %s", last, window)
	}
	if last-first < window/4 {
		t.Errorf("closes not spread: all within %s of a %s window", last-first, window)
	}
}

func TestDrainRefusesNewConnections(t *testing.T) {
	e, err := New(Config{Listen: "127.0.0.1:0", DrainWindow: time.Second, CloseTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	keep := dialWS(t, e, "/ws") // keeps the drain waiting
	_ = keep
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.Drain(context.Background())
	}()
	testkit.Eventually(t, waitTimeout, "draining", func() bool { return e.Ready() != nil })
	_, err = wstest.Dial("ws://"+e.Addr().String()+"/ws", 5*time.Second)
	var he *wstest.HandshakeError
	if !errors.As(err, &he) || he.Status != 503 {
		t.Fatalf("handshake while draining: %v, want 503", err)
	}
	<-done
}

// TestLagAfterStopDoesNotGrow: once the engine has stopped, its loops
// refuse probes; the stamp of a refused one is taken back, so the stats do
// not show a lag that grows for ever (a tick that will never run).
func TestLagAfterStopDoesNotGrow(t *testing.T) {
	e := gateway(t, Config{PingInterval: time.Hour, PongTimeout: time.Minute})
	dialWS(t, e, "/ws")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_ = e.Shutdown(ctx)       // the client does not answer the close: cut short
	time.Sleep(lagProbeEvery) // the last ticks are old enough to probe
	_ = e.Stats()             // probes, refused
	time.Sleep(300 * time.Millisecond)
	if lag := e.Stats().LoopLagSeconds; lag > 0.1 {
		t.Errorf("lag %.3fs on a stopped engine: a refused probe counts as waiting", lag)
	}
}
