package reactor

import (
	"errors"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// dialIdle opens n TCP connections from source that never send a byte. A
// connection the server resets before the dial returns is nil.
func dialIdle(t *testing.T, e *Engine, source string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := d.Dial("tcp", e.Addr().String())
		if errors.Is(err, unix.ECONNRESET) {
			conns = append(conns, nil)
			continue
		}
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	return conns
}

// countReset reads each idle connection briefly: a reset one fails at once,
// an admitted one times out (the server waits for its request). It also
// returns the admitted ones: which of several sockets dialed at once the
// server resets depends on which loop accepted which first.
func countReset(conns []net.Conn) (reset int, admitted []net.Conn) {
	var b [1]byte
	for _, c := range conns {
		if c == nil {
			reset++
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := c.Read(b[:])
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			reset++
		} else {
			admitted = append(admitted, c)
		}
	}
	return reset, admitted
}

func refused(e *Engine, limit string) int64 { return e.Stats().SocketsRefused[limit] }

// The fd-exhaustion finding: sockets that never send a byte were not
// counted until upgraded, so enough of them ran the process out of
// descriptors and gnet's failing accept stopped every loop. Now every
// socket counts from accept, and those past MaxSockets are reset while
// the subscribers keep receiving.
func TestSocketsPastMaxSocketsAreResetAtAccept(t *testing.T) {
	e := gateway(t, Config{MaxSockets: 20, MaxHandshakes: 20})
	sub := dialWS(t, e, "/ws?channels=news")
	idle := dialIdle(t, e, "127.0.0.1", 30)
	testkit.Eventually(t, waitTimeout, "11 sockets reset", func() bool { return refused(e, "sockets") == 11 })
	if got, _ := countReset(idle); got != 11 {
		t.Fatalf("%d idle sockets reset, want 11 (19 admitted beside the subscriber)", got)
	}
	if err := e.Publish("news", []byte(`"still here"`)); err != nil {
		t.Fatal(err)
	}
	if m := readJSON(t, sub); m["data"] != "still here" {
		t.Fatalf("subscriber got %v", m)
	}
	if st := e.Stats(); st.Connections != 20 || st.Handshaking != 19 {
		t.Fatalf("connections %d, handshaking %d; want 20 and 19", st.Connections, st.Handshaking)
	}
	for _, c := range idle {
		if c != nil {
			c.Close()
		}
	}
	testkit.Eventually(t, waitTimeout, "the idle sockets to go", func() bool { return e.Stats().Connections == 1 })
	dialWS(t, e, "/ws?channels=news")
	if st := e.Stats(); st.Handshaking != 0 {
		t.Fatalf("handshaking %d after every handshake ended, want 0", st.Handshaking)
	}
}

// Idle sockets cannot take the room upgraded connections need: past
// MaxHandshakes a new socket is reset, and upgraded ones do not count.
func TestHandshakesCappedNodeWide(t *testing.T) {
	e := gateway(t, Config{MaxHandshakes: 5})
	for range 3 {
		dialWS(t, e, "/ws")
	}
	idle := dialIdle(t, e, "127.0.0.1", 8)
	testkit.Eventually(t, waitTimeout, "3 sockets reset", func() bool { return refused(e, "handshakes") == 3 })
	got, admitted := countReset(idle)
	if got != 3 {
		t.Fatalf("%d idle sockets reset, want 3", got)
	}
	admitted[0].Close()
	testkit.Eventually(t, waitTimeout, "a handshake slot to free", func() bool { return e.Stats().Handshaking == 4 })
	dialWS(t, e, "/ws") // takes the free slot, then leaves it on upgrading
}

// Per address, and IPv4 addresses each count alone.
func TestHandshakesCappedPerAddress(t *testing.T) {
	e := gateway(t, Config{MaxHandshakesPerIP: 2})
	a := dialIdle(t, e, "127.0.0.2", 3)
	b := dialIdle(t, e, "127.0.0.3", 2)
	testkit.Eventually(t, waitTimeout, "one socket reset", func() bool { return refused(e, "handshakes_per_ip") == 1 })
	ra, admittedA := countReset(a)
	rb, _ := countReset(b)
	if ra != 1 || rb != 0 {
		t.Fatalf("reset %d from .2 and %d from .3, want 1 and 0", ra, rb)
	}
	// A closed socket frees its slot, and one that upgrades leaves it.
	admittedA[0].Close()
	testkit.Eventually(t, waitTimeout, "the slot to free", func() bool { return e.Stats().Handshaking == 3 })
	c, err := wstest.DialOptions("ws://"+e.Addr().String()+"/ws", 5*time.Second, wstest.Options{LocalAddr: "127.0.0.2"})
	if err != nil {
		t.Fatalf("a WebSocket from 127.0.0.2 with a free slot: %v", err)
	}
	defer c.Close()
	if got, _ := countReset(dialIdle(t, e, "127.0.0.2", 1)); got != 0 {
		t.Fatal("the upgraded connection still holds its handshake slot")
	}
}

func TestPeerKeyGroupsIPv6ByPrefix(t *testing.T) {
	key := func(prefix int, ip string) string {
		e := &Engine{cfg: Config{IPv6Prefix: prefix}}
		k, ok := e.peerKey(&net.TCPAddr{IP: net.ParseIP(ip)})
		if !ok {
			t.Fatalf("no key for %s", ip)
		}
		return k.String()
	}
	for _, tc := range []struct {
		prefix int
		ip     string
		want   string
	}{
		{64, "2001:db8:1:2:aaaa::1", "2001:db8:1:2::"},
		{64, "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::"},
		{64, "2001:db8:1:3::1", "2001:db8:1:3::"},
		{48, "2001:db8:1:3::1", "2001:db8:1::"},
		{128, "2001:db8:1:2::1", "2001:db8:1:2::1"},
		{64, "::ffff:192.0.2.7", "192.0.2.7"}, // IPv4-mapped counts as IPv4
		{64, "192.0.2.7", "192.0.2.7"},
	} {
		if got := key(tc.prefix, tc.ip); got != tc.want {
			t.Errorf("/%d %s: key %s, want %s", tc.prefix, tc.ip, got, tc.want)
		}
	}
	// The IPv6 handshake rate limit and connection caps share the key, so
	// one /64 is one address for them too.
	lim := newIPLimiter(1, 1, 16)
	e := &Engine{cfg: Config{IPv6Prefix: 64}}
	k1, _ := e.peerKey(&net.TCPAddr{IP: net.ParseIP("2001:db8::1")})
	k2, _ := e.peerKey(&net.TCPAddr{IP: net.ParseIP("2001:db8::2")})
	now := time.Now()
	if !lim.allow(k1, now) || lim.allow(k2, now) {
		t.Fatal("two addresses of one /64 got a burst each")
	}
}

func TestAddrCountsHoldsOnlyLiveEntries(t *testing.T) {
	a := newAddrCounts(2)
	k := netip.MustParseAddr("192.0.2.1")
	for i, want := range []bool{true, true, false} {
		if got := a.add(k); got != want {
			t.Fatalf("add %d: %v, want %v (cap 2)", i+1, got, want)
		}
	}
	a.done(k)
	a.done(k)
	if len(a.n) != 0 {
		t.Fatalf("%d entries left at count 0", len(a.n))
	}
}

// gnet reports a failed accept only through its logger; the reactor counts
// it by errno for wsgate_accept_errors_total.
func TestAcceptErrorsCountedByErrno(t *testing.T) {
	e, err := New(Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	g := gnetLogger{slog.New(slog.NewTextHandler(discard{}, nil)), e.acceptFailed}
	g.Errorf(acceptFailure, unix.EMFILE)
	g.Errorf(acceptFailure, unix.EMFILE)
	g.Errorf(acceptFailure, unix.ENOBUFS)
	g.Errorf("failed to set TCP keepalive on fd=%d: %v", 7, unix.EINVAL) // not an accept failure
	st := e.Stats()
	if st.AcceptErrors["EMFILE"] != 2 || st.AcceptErrors["ENOBUFS"] != 1 || st.AcceptErrors["EINVAL"] != 0 || st.AcceptErrors["ENFILE"] != 0 {
		t.Fatalf("accept errors %v, want EMFILE 2, ENOBUFS 1, ENFILE 0 shown", st.AcceptErrors)
	}
	// gnet.Run returns nil after such a failure; the engine reports it.
	if err := e.lastAcceptError(); err == nil || !strings.Contains(err.Error(), "ENOBUFS") || !errors.Is(err, unix.ENOBUFS) {
		t.Fatalf("last accept error %v, want ENOBUFS", err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// MaxSockets can never be set past what the open-file limit allows.
func TestValidateMaxSocketsAgainstOpenFileLimit(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	reserved := DefaultReservedFDs + 4
	ceiling := int(min(lim.Cur, math.MaxInt32)) - reserved
	if err := (Config{Loops: 1, MaxSockets: ceiling}).Validate(); err != nil {
		t.Fatalf("max sockets at the ceiling: %v", err)
	}
	err := Config{Loops: 1, MaxSockets: ceiling + 1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "open-file limit") {
		t.Fatalf("max sockets past the ceiling: %v, want an error naming the open-file limit", err)
	}
	cfg := Config{Loops: 1}.withDefaults()
	if cfg.MaxSockets != ceiling || cfg.MaxHandshakes != max(ceiling/10, 64) {
		t.Fatalf("defaults: max sockets %d, max handshakes %d; want %d, %d", cfg.MaxSockets, cfg.MaxHandshakes, ceiling, max(ceiling/10, 64))
	}
	if err := (Config{Loops: 1, ReservedFDs: int(min(lim.Cur, math.MaxInt32))}).Validate(); err == nil {
		t.Fatal("a reserve that leaves no socket passed validation")
	}
	// gnet's single acceptor empties the whole accept queue before any
	// OnOpen runs: its backlog is reserved too (a review found a flood of
	// queued connections killing a --single-listener node).
	single := Config{Loops: 1, SingleListener: true}.withDefaults()
	if want := ceiling - listenBacklog() - 1; single.MaxSockets != want {
		t.Fatalf("single listener: max sockets %d, want %d (the backlog of %d reserved)", single.MaxSockets, want, listenBacklog())
	}
	if err := (Config{Loops: 1, SingleListener: true, MaxSockets: ceiling}).Validate(); err == nil {
		t.Fatal("a single listener with max sockets at the per-loop ceiling passed validation")
	}
}

// A token refused for its audience gets a generic 401; the operator's log
// names the claim, once per report period whatever the number.
func TestTokenRefusalsReportedWithTheReason(t *testing.T) {
	v, err := auth.NewVerifier(auth.Config{HMACSecret: testSecret, Audience: "wsgate"})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	e := gateway(t, Config{Auth: v, AuthRequired: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 3 {
		if _, status, body := dialHeaders(e, "/ws?token="+token(t, "alice", time.Hour, nil, nil), nil); status != 401 || !strings.Contains(body, "invalid token claims") {
			t.Fatalf("token without the audience: %d %q", status, body)
		}
	}
	var last int64
	e.reportTokenRefusals(&last)
	out := logs.String()
	if !strings.Contains(out, "count=3") || !strings.Contains(out, "aud") || last != 3 {
		t.Fatalf("report %q (last %d): want count=3 and the aud claim named", out, last)
	}
	e.reportTokenRefusals(&last)
	if strings.Count(logs.String(), "refused with 401") != 1 {
		t.Fatalf("a second report with nothing new logged again: %q", logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A refused request keeps its handshake slot while its socket lingers
// (waiting up to CloseTimeout for the client to go): otherwise one address
// could refuse itself over and over, each refused socket open for seconds
// and counted nowhere but MaxSockets.
func TestRefusedHandshakesKeepTheirSlot(t *testing.T) {
	e := gateway(t, Config{MaxHandshakesPerIP: 5})
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}}
	var refusedConns []net.Conn
	for range 5 {
		c, err := d.Dial("tcp", e.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		refusedConns = append(refusedConns, c)
	}
	testkit.Eventually(t, 5*time.Second, "five refusals", func() bool { return e.Stats().HandshakeRejects == 5 })
	if got := e.Stats().Handshaking; got != 5 {
		t.Fatalf("handshaking %d with five refused sockets still open, want 5", got)
	}
	if got, _ := countReset(dialIdle(t, e, "127.0.0.4", 1)); got != 1 {
		t.Fatal("a sixth socket from the address was admitted while five refused ones linger")
	}
	for _, c := range refusedConns {
		c.Close() // the client goes: the slots free
	}
	testkit.Eventually(t, 5*time.Second, "the slots to free", func() bool { return e.Stats().Handshaking == 0 })
	if got, _ := countReset(dialIdle(t, e, "127.0.0.4", 1)); got != 0 {
		t.Fatal("the address is still refused after its refused sockets closed")
	}
}
