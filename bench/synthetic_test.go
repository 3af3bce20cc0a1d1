package bench

import (
	"bufio"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/wsproto"
)

// stallServer is a synthetic WebSocket echo server (a goroutine per
// connection: it is a test fixture) that can be told to stop answering for
// a known time, as a GC pause or an overloaded loop would.
type stallServer struct {
	ln         net.Listener
	stallUntil atomic.Int64 // unix nanos: hold every reply until then
	split      atomic.Bool  // send each reply in two writes, 1 ms apart
	echoed     atomic.Int64
	wg         sync.WaitGroup
}

func startStallServer(t *testing.T) *stallServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stallServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(nc)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// stall holds every reply for d from now.
func (s *stallServer) stall(d time.Duration) { s.stallUntil.Store(time.Now().Add(d).UnixNano()) }

func (s *stallServer) serve(nc net.Conn) {
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(nc)
	var req []byte
	var scan wsproto.HandshakeScanner
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		req = append(req, line...)
		if end, err := scan.Scan(req, 8<<10); err != nil {
			return
		} else if end > 0 {
			break
		}
	}
	r, err := wsproto.ParseRequest(req)
	if err != nil {
		return
	}
	if _, err := nc.Write(wsproto.AppendAccept(nil, r.Key, nil)); err != nil {
		return
	}
	dec := wsproto.NewDecoder(wsproto.ServerSide, nil)
	buf := make([]byte, 4096)
	var out []byte
	for {
		n, err := br.Read(buf)
		if err != nil {
			return
		}
		in := buf[:n]
		for len(in) > 0 {
			m, k, err := dec.Next(in)
			in = in[k:]
			if err != nil || m.Op == ws.OpClose {
				return
			}
			if m.Op != ws.OpText {
				continue
			}
			if wait := time.Until(time.Unix(0, s.stallUntil.Load())); wait > 0 {
				time.Sleep(wait)
			}
			out = wsproto.AppendFrame(out[:0], ws.OpText, true, m.Payload)
			first := len(out)
			if s.split.Load() {
				first = 1 // inside the header: the client must keep a partial frame
			}
			if _, err := nc.Write(out[:first]); err != nil {
				return
			}
			if first < len(out) {
				time.Sleep(time.Millisecond)
				if _, err := nc.Write(out[first:]); err != nil {
					return
				}
			}
			s.echoed.Add(1)
		}
	}
}

// TestCoordinatedOmissionCorrection runs a fixed-rate echo at 1,000 msgs/s
// against a server that stops answering for 300 ms once. Every message due
// during the stall is charged the time it waited: the corrected histogram
// holds about 300 delayed messages spread from 300 ms down to 0, so its p90
// (over ~1,500 messages) is around 150 ms, while the uncorrected one, timed
// from when each message actually went out, sees a single slow reply.
func TestCoordinatedOmissionCorrection(t *testing.T) {
	srv := startStallServer(t)
	const stall = 300 * time.Millisecond
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for srv.echoed.Load() < 300 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		srv.stall(stall)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Scenario: ScenarioEcho, URLs: []string{"ws://" + srv.ln.Addr().String() + "/echo"},
		Conns: 1, Rate: 1000, Duration: 1500 * time.Millisecond, Procs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, u := *rep.Latency, *rep.LatencyRaw
	t.Logf("corrected   %s", c)
	t.Logf("uncorrected %s", u)
	if e := rep.Echo; e.Sent < 1200 || e.Received != e.Sent {
		t.Fatalf("echo = %+v: the sender did not keep its schedule", e)
	}
	ms := func(d time.Duration) int64 { return d.Microseconds() }
	if c.Max < ms(stall*8/10) || c.Max > ms(stall*2) {
		t.Errorf("corrected max %dµs, want about %v", c.Max, stall)
	}
	if c.P90 < ms(80*time.Millisecond) || c.P90 > ms(stall) {
		t.Errorf("corrected p90 %dµs, want about 150ms: the stall must be charged to every message it delayed", c.P90)
	}
	if u.Max < ms(stall*8/10) {
		t.Errorf("uncorrected max %dµs: the stalled reply itself is missing", u.Max)
	}
	if u.P90 > ms(20*time.Millisecond) {
		t.Errorf("uncorrected p90 %dµs, want small: it times only the one stalled message", u.P90)
	}
}

// TestClosedLoopEchoIsNotCorrected: without a schedule there is nothing to
// correct; both histograms agree.
func TestClosedLoopEchoIsNotCorrected(t *testing.T) {
	srv := startStallServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Scenario: ScenarioEcho, URLs: []string{"ws://" + srv.ln.Addr().String() + "/echo"},
		Conns: 4, Duration: 300 * time.Millisecond, Procs: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Echo.Received == 0 || *rep.Latency != *rep.LatencyRaw {
		t.Fatalf("echo %+v, latency %+v vs %+v", rep.Echo, rep.Latency, rep.LatencyRaw)
	}
}

// TestFramesSplitAcrossReads: connections that share a loop's decoder each
// keep their own partial frame between reads, so replies cut inside the
// header reach every connection whole.
func TestFramesSplitAcrossReads(t *testing.T) {
	srv := startStallServer(t)
	srv.split.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{
		Scenario: ScenarioEcho, URLs: []string{"ws://" + srv.ln.Addr().String() + "/echo"},
		Conns: 8, Duration: 500 * time.Millisecond, Procs: 1, Loops: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 || rep.Echo.Received < 100 || rep.Echo.Received < rep.Echo.Sent-8 {
		t.Fatalf("errors %v; echo %+v", rep.Errors, rep.Echo)
	}
}
