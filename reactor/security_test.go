package reactor

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gorilla "github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
	"github.com/wsgate/wsgate/wire"
)

var testSecret = []byte("reactor-test-secret-0123456789abcdef")

func testVerifier(t testing.TB) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(auth.Config{HMACSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// token signs an HS256 token for sub, valid for ttl, with the patterns.
func token(t testing.TB, sub string, ttl time.Duration, subscribe, publish []string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "exp": time.Now().Add(ttl).Unix(), "subscribe": subscribe, "publish": publish,
	}).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dialHeaders dials path with extra headers and returns the connection or
// the refusal's status and body.
func dialHeaders(e *Engine, path string, header map[string]string) (*wstest.Conn, int, string) {
	c, err := wstest.DialOptions("ws://"+e.Addr().String()+path, 5*time.Second, wstest.Options{Header: header})
	var he *wstest.HandshakeError
	switch {
	case errors.As(err, &he):
		return nil, he.Status, he.Body
	case err != nil:
		return nil, -1, err.Error()
	}
	return c, 101, ""
}

func TestAuthRequiredHandshake(t *testing.T) {
	e := gateway(t, Config{Auth: testVerifier(t), AuthRequired: true})
	good := token(t, "alice", time.Hour, []string{"news"}, nil)
	other, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte("another-secret-0123456789abcdefghij"))
	for _, tc := range []struct {
		name   string
		path   string
		header map[string]string
		status int
		reason string
	}{
		{"no token", "/ws", nil, 401, "no token"},
		{"garbage", "/ws?token=abc", nil, 401, "malformed token"},
		{"bad signature", "/ws?token=" + other, nil, 401, "bad token signature"},
		{"expired", "/ws?token=" + token(t, "alice", -time.Minute, nil, nil), nil, 401, "token expired"},
		{"two tokens", "/ws?token=" + good, map[string]string{"Authorization": "Bearer " + good}, 401, "more than one token"},
		{"query", "/ws?token=" + good, nil, 101, ""},
		{"bearer", "/ws", map[string]string{"Authorization": "Bearer " + good}, 101, ""},
		{"subprotocol", "/ws", map[string]string{"Sec-WebSocket-Protocol": "wsgate.v1, wsgate.token." + good}, 101, ""},
		{"channel allowed", "/ws?channels=news&token=" + good, nil, 101, ""},
		{"channel forbidden", "/ws?channels=secret&token=" + good, nil, 403, "does not allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, status, body := dialHeaders(e, tc.path, tc.header)
			if status != tc.status || !strings.Contains(body, tc.reason) {
				t.Fatalf("status %d %q, want %d with %q", status, body, tc.status, tc.reason)
			}
			if c != nil {
				defer c.Close()
				if tc.name == "subprotocol" && c.Protocol != auth.Protocol {
					t.Fatalf("selected protocol %q, want %q (never the token)", c.Protocol, auth.Protocol)
				}
			}
		})
	}
	if s := e.Stats(); s.Unauthorized != 5 || s.Forbidden != 1 {
		t.Fatalf("unauthorized %d forbidden %d, want 5 and 1", s.Unauthorized, s.Forbidden)
	}
}

func TestAuthChannelPermissions(t *testing.T) {
	e := gateway(t, Config{Auth: testVerifier(t), AuthRequired: true, PublicChannels: mustPatterns(t, "public.>")})
	c := dialWS(t, e, "/ws?token="+token(t, "bob", time.Hour, []string{"user.bob.>"}, []string{"chat.*"}))
	for _, tc := range []struct{ frame, want string }{
		{`{"type":"subscribe","channel":"user.bob.inbox","id":1}`, "ack"},
		{`{"type":"subscribe","channel":"user.eve.inbox","id":2}`, "forbidden"},
		{`{"type":"subscribe","channel":"public.news","id":3}`, "ack"},
		{`{"type":"publish","channel":"chat.lobby","data":1,"id":4}`, "ack"},
		{`{"type":"publish","channel":"chat.a.b","data":1,"id":5}`, "forbidden"},
		{`{"type":"publish","channel":"public.news","data":1,"id":6}`, "forbidden"},
	} {
		got := send(t, c, tc.frame)
		if got["type"] != tc.want && got["code"] != tc.want {
			t.Fatalf("%s: got %v, want %s", tc.frame, got, tc.want)
		}
	}
	// Anonymous: public channels only, read only.
	anon := dialWS(t, e, "/ws?channels=public.news")
	if got := send(t, anon, `{"type":"subscribe","channel":"user.bob.inbox","id":1}`); got["code"] != "forbidden" {
		t.Fatalf("anonymous subscribe to a private channel: %v", got)
	}
	if got := send(t, anon, `{"type":"publish","channel":"public.news","data":1,"id":2}`); got["code"] != "forbidden" {
		t.Fatalf("anonymous publish: %v", got)
	}
	if _, status, _ := dialHeaders(e, "/ws?channels=user.bob.inbox", nil); status != 401 {
		t.Fatalf("anonymous ?channels= of a private channel: %d, want 401", status)
	}
	if n := e.Stats().ForbiddenFrames; n != 5 {
		t.Fatalf("forbidden frames %d, want 5", n)
	}
}

func mustPatterns(t testing.TB, list ...string) []auth.Pattern {
	t.Helper()
	p, err := auth.CompilePatterns(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Without AuthRequired, a token is optional but, when given, verified and
// applied; anonymous clients may do anything.
func TestAuthOptional(t *testing.T) {
	e := gateway(t, Config{Auth: testVerifier(t)})
	anon := dialWS(t, e, "/ws")
	if got := send(t, anon, `{"type":"publish","channel":"any","data":1,"id":1}`); got["type"] != "ack" {
		t.Fatalf("anonymous publish: %v", got)
	}
	if _, status, _ := dialHeaders(e, "/ws?token=bad", nil); status != 401 {
		t.Fatalf("bad token with auth optional: %d, want 401", status)
	}
	c := dialWS(t, e, "/ws?token="+token(t, "c", time.Hour, nil, nil))
	if got := send(t, c, `{"type":"publish","channel":"any","data":1,"id":1}`); got["code"] != "forbidden" {
		t.Fatalf("token without publish patterns: %v", got)
	}
}

func TestTokenExpiryClosesWith4001(t *testing.T) {
	e := gateway(t, Config{Auth: testVerifier(t), AuthRequired: true})
	c := dialWS(t, e, "/ws?token="+token(t, "dave", 1500*time.Millisecond, []string{">"}, nil))
	ce := expectClose(t, c, 5*time.Second)
	if ce.Code != wire.CloseTokenExpired || ce.Reason != "token expired" {
		t.Fatalf("close %d %q, want 4001 token expired", ce.Code, ce.Reason)
	}
	if n := e.Stats().TokenExpiries; n != 1 {
		t.Fatalf("token expiries %d", n)
	}
}

func TestRefreshKeepsConnectionAndRevokes(t *testing.T) {
	e := gateway(t, Config{Auth: testVerifier(t), AuthRequired: true})
	c := dialWS(t, e, "/ws?channels=a,b&token="+token(t, "erin", 1500*time.Millisecond, []string{"a", "b"}, nil))
	if got := send(t, c, `{"type":"refresh","token":"`+token(t, "mallory", time.Hour, []string{">"}, nil)+`","id":1}`); got["code"] != "unauthorized" {
		t.Fatalf("refresh for another subject: %v", got)
	}
	if got := send(t, c, `{"type":"refresh","token":"garbage","id":2}`); got["code"] != "unauthorized" {
		t.Fatalf("refresh with garbage: %v", got)
	}
	if got := send(t, c, `{"type":"refresh","token":"`+token(t, "erin", time.Hour, []string{"a"}, nil)+`","id":3}`); got["type"] != "unsubscribed" || got["channel"] != "b" || got["reason"] != "forbidden" {
		t.Fatalf("refresh that drops b: want the unsubscribed notice first, got %v", got)
	}
	if got := readJSON(t, c); got["type"] != "ack" || got["id"] != float64(3) {
		t.Fatalf("refresh reply: %v", got)
	}
	testkit.Eventually(t, waitTimeout, "b to be dropped", func() bool { return e.Stats().Subscriptions == 1 })
	// Past the first token's expiry the connection still works.
	_ = c.SetReadDeadline(time.Now().Add(2500 * time.Millisecond))
	if _, _, err := c.ReadMessage(); err == nil || strings.Contains(err.Error(), "closed by server") {
		t.Fatalf("after the old token's expiry: %v", err)
	}
	if got := send(t, c, `{"type":"subscribe","channel":"a","id":4}`); got["type"] != "ack" {
		t.Fatalf("after refresh: %v", got)
	}
	if e.Stats().Refreshes != 1 || e.Stats().TokenExpiries != 0 {
		t.Fatalf("stats %+v", e.Stats())
	}
}

func TestRateLimitMessagesThenClose1008(t *testing.T) {
	e := gateway(t, Config{MessageRate: 1, MessageBurst: 5})
	c := dialWS(t, e, "/ws")
	for i := range 40 {
		if err := c.WriteText([]byte(`{"type":"subscribe","channel":"x","id":1}`)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	acks, limited := 0, 0
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, p, err := c.ReadMessage()
		var ce *wstest.CloseError
		if errors.As(err, &ce) {
			if ce.Code != 1008 || ce.Reason != "rate limit exceeded" {
				t.Fatalf("close %d %q", ce.Code, ce.Reason)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(string(p), `"ack"`):
			acks++
		case strings.Contains(string(p), `"rate_limited"`):
			limited++
		default:
			t.Fatalf("unexpected %s", p)
		}
	}
	// The burst (5, plus at most a refill during the writes) passes; then
	// 16 refusals in a row close the connection.
	if acks < 5 || acks > 7 || limited != maxConsecutiveErrs {
		t.Fatalf("%d acks, %d rate_limited; want 5-7 and %d", acks, limited, maxConsecutiveErrs)
	}
}

func TestRateLimitBytes(t *testing.T) {
	e := gateway(t, Config{ByteRate: 4096, MaxDataSize: 64 << 10})
	c := dialWS(t, e, "/ws")
	big := `{"type":"publish","channel":"x","data":"` + strings.Repeat("a", 10000) + `","id":1}`
	if got := send(t, c, big); got["type"] != "ack" {
		t.Fatalf("first message over the burst passes (debt): %v", got)
	}
	if got := send(t, c, big); got["code"] != "rate_limited" {
		t.Fatalf("second: %v", got)
	}
	// Small frames are refused too while in debt.
	if got := send(t, c, `{"type":"subscribe","channel":"x","id":2}`); got["code"] != "rate_limited" {
		t.Fatalf("while in debt: %v", got)
	}
}

// Over the per-address handshake rate: 429 with Retry-After; other
// addresses are unaffected.
func TestHandshakeRatePerIP(t *testing.T) {
	e := gateway(t, Config{HandshakeRatePerIP: 0.5, HandshakeBurstPerIP: 3})
	for i := range 3 {
		c, status, body := dialHeaders(e, "/ws", nil)
		if status != 101 {
			t.Fatalf("handshake %d: %d %s", i, status, body)
		}
		c.Close()
	}
	if _, status, body := dialHeaders(e, "/ws", nil); status != 429 || !strings.Contains(body, "too many") {
		t.Fatalf("fourth: %d %q, want 429", status, body)
	}
	c, err := wstest.DialOptions("ws://"+e.Addr().String()+"/ws", 5*time.Second, wstest.Options{LocalAddr: "127.0.0.2"})
	if err != nil {
		t.Fatalf("another address: %v", err)
	}
	c.Close()
	if n := e.Stats().HandshakeRateLimited; n != 1 {
		t.Fatalf("rate limited %d", n)
	}
}

func TestIPLimiterStaysBounded(t *testing.T) {
	l := newIPLimiter(1, 1, 100)
	now := time.Now()
	for i := range 10_000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if !l.allow(ip, now) {
			t.Fatalf("first handshake of %v refused", ip)
		}
		if l.len() > 100 {
			t.Fatalf("%d entries, cap 100", l.len())
		}
	}
	a := netip.MustParseAddr("192.0.2.1")
	l.allow(a, now)
	if l.allow(a, now) {
		t.Fatal("second handshake within the second allowed")
	}
	if !l.allow(a, now.Add(time.Second)) {
		t.Fatal("not refilled after a second")
	}
}

func TestOriginHandshake(t *testing.T) {
	e := gateway(t, Config{AllowedOrigins: []string{"https://*.example.com"}})
	for origin, want := range map[string]int{
		"":                        101,
		"https://app.example.com": 101,
		"https://evil.com":        403,
		"null":                    403,
	} {
		h := map[string]string{}
		if origin != "" {
			h["Origin"] = origin
		}
		c, status, _ := dialHeaders(e, "/ws", h)
		if status != want {
			t.Errorf("Origin %q: %d, want %d", origin, status, want)
		}
		if c != nil {
			c.Close()
		}
	}
}

func TestValidateSecuritySettings(t *testing.T) {
	for name, cfg := range map[string]Config{
		"auth required without a verifier": {AuthRequired: true},
		"bad origin pattern":               {AllowedOrigins: []string{"example.com"}},
		"byte rate below 1 KiB/s":          {ByteRate: 10},
		"message rate too large":           {MessageRate: 1 << 21},
		"negative handshake rate":          {HandshakeRatePerIP: -1},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (Config{MessageRate: -1, ByteRate: -1}).Validate(); err != nil {
		t.Errorf("limits off: %v", err)
	}
}

// A third-party client offering the token as a subprotocol, the way a
// browser must: gorilla checks that the server selects one of the offered
// protocols, and the selection must be wsgate.v1, never the token.
func TestAuthSubprotocolWithGorilla(t *testing.T) {
	e := gateway(t, Config{Auth: testVerifier(t), AuthRequired: true})
	tok := token(t, "frank", time.Hour, []string{"news"}, nil)
	d := gorilla.Dialer{Subprotocols: []string{auth.Protocol, auth.TokenProtocolPrefix + tok}, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial("ws://"+e.Addr().String()+"/ws?channels=news", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer c.Close()
	if c.Subprotocol() != auth.Protocol {
		t.Fatalf("selected %q, want %q", c.Subprotocol(), auth.Protocol)
	}
	gorillaConnected(t, c)
	testkit.Eventually(t, waitTimeout, "the subscription", func() bool { return e.Stats().Subscriptions == 1 })
	if err := e.Publish("news", []byte(`"hi"`)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, p, err := c.ReadMessage(); err != nil || !strings.Contains(string(p), `"hi"`) {
		t.Fatalf("read %q, %v", p, err)
	}
	// Without the token the same client is refused with 401.
	d.Subprotocols = []string{auth.Protocol}
	if _, resp, err := d.Dial("ws://"+e.Addr().String()+"/ws", nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("without a token: %v %v", err, resp)
	}
}
