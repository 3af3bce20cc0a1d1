package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/internal/testkit"
)

// TestConnectGivingUpLeavesOtherCallers: of two Connect calls, the one
// whose context ends first returns its error, joined with the last
// attempt's (here the 503), and the other keeps waiting and connects.
func TestConnectGivingUpLeavesOtherCallers(t *testing.T) {
	var open atomic.Bool
	srv := startFake(t, "f1", func(s *fakeServer) {
		s.refuse = func(int) string {
			if open.Load() {
				return ""
			}
			return "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 9\r\n\r\nstarting\n"
		}
	})
	c := newClient(t, []string{srv.url}, fast(client.Options{}))
	patient := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		patient <- c.Connect(ctx)
	}()
	testkit.Eventually(t, 5*time.Second, "a first attempt", func() bool { return len(srv.handshakes()) > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := c.Connect(ctx)
	var he *client.HandshakeError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &he) || he.Status != 503 {
		t.Fatalf("impatient Connect: %v, want the deadline and the last attempt's 503", err)
	}
	open.Store(true)
	if err := <-patient; err != nil {
		t.Fatalf("patient Connect: %v", err)
	}
	if c.State() != client.StateConnected {
		t.Fatalf("state %v", c.State())
	}
	srv.next(t)
}

// TestTokenReplacesAuthorizationHeader: with Options.Token, an
// Authorization in Options.Header is dropped, not sent beside the token
// (the server refuses two).
func TestTokenReplacesAuthorizationHeader(t *testing.T) {
	srv := startFake(t, "f1", nil)
	c := newClient(t, []string{srv.url}, fast(client.Options{
		Token:  func(context.Context) (string, error) { return "tok", nil },
		Header: http.Header{"Authorization": {"Basic eDp5"}, "X-Trace": {"t1"}},
	}))
	connect(t, c)
	if fc := srv.next(t); !slices.Equal(fc.auths, []string{"Bearer tok"}) {
		t.Fatalf("Authorization headers %q, want the token's alone", fc.auths)
	}
}

// TestSinceZeroPosition: WithSince(Position{}), what Position returns on
// a channel without history, subscribes without since.
func TestSinceZeroPosition(t *testing.T) {
	srv := startFake(t, "f1", nil)
	c := newClient(t, []string{srv.url}, fast(client.Options{}))
	connect(t, c)
	fc := srv.next(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(context.Background(), "news", func(client.Message) {}, client.WithSince(client.Position{}))
		done <- err
	}()
	s := fc.expect("subscribe")
	if s.Since != nil {
		t.Fatalf("since %+v, want none", s.Since)
	}
	fc.send(fmt.Sprintf(`{"type":"ack","id":%d}`, s.ID))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCallsBeforeConnectSaySo: Subscribe, Publish and History on a client
// never started wait for a connection, and when their context ends their
// error says Connect was not called.
func TestCallsBeforeConnectSaySo(t *testing.T) {
	c := newClient(t, []string{"ws://127.0.0.1:1/ws"}, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, subErr := c.Subscribe(ctx, "news", func(client.Message) {})
	pubErr := c.Publish(ctx, "news", 1)
	_, histErr := c.History(ctx, "news", nil, 10)
	for _, err := range []error{subErr, pubErr, histErr} {
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(fmt.Sprint(err), "call Connect") {
			t.Errorf("%v: want the deadline, and a hint to call Connect", err)
		}
	}
}

// TestConnectGiveUpRacesClose: Connect calls giving up while Close runs
// leave the client closed (no late idle), and each returns.
func TestConnectGiveUpRacesClose(t *testing.T) {
	srv := startFake(t, "f1", func(s *fakeServer) {
		s.refuse = func(int) string { return "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n" }
	})
	for i := range 20 {
		var st states
		c := client.New([]string{srv.url}, fast(client.Options{OnState: st.record}))
		done := make(chan error, 3)
		for j := range 3 {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(j*i)*time.Millisecond)
				defer cancel()
				done <- c.Connect(ctx)
			}()
		}
		time.Sleep(time.Duration(i) * time.Millisecond)
		_ = c.Close()
		for range 3 {
			<-done
		}
		if c.State() != client.StateClosed || st.all[len(st.all)-1] != client.StateClosed {
			t.Fatalf("round %d: state %v after %v, want closed", i, c.State(), st.all)
		}
	}
}
