package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/wsproto"
)

// TestParseHeader: what a "Name: value" header may hold, and every way a
// line could smuggle more than one field into the request.
func TestParseHeader(t *testing.T) {
	for _, c := range []struct {
		line        string
		name, value string
		err         string // part of the error; "" for none
	}{
		{"X-Test: a b", "X-Test", "a b", ""},
		{"X-Test:a", "X-Test", "a", ""},
		{"X-Test: \t padded \t", "X-Test", "padded", ""},
		{"X-Test:", "X-Test", "", ""},
		{"X-Test: a\tb", "X-Test", "a\tb", ""},
		{"X-Test: caf\xc3\xa9", "X-Test", "caf\xc3\xa9", ""}, // obs-text
		{"Authorization: Bearer a.b-c_d", "Authorization", "Bearer a.b-c_d", ""},
		{"x!#$%&'*+-.^_`|~9: v", "x!#$%&'*+-.^_`|~9", "v", ""},
		{"X-Test: a: b", "X-Test", "a: b", ""},
		{"X-Test", "", "", "want Name: value"},
		{": v", "", "", "empty name"},
		{"X Test: v", "", "", "not allowed in a header name"},
		{"X-Test : v", "", "", "not allowed in a header name"}, // RFC 9112 §5.1
		{"X(Test): v", "", "", "not allowed in a header name"},
		{"X-Test: a\r\nX-Evil: b", "", "", "control character '\\r'"},
		{"X-Test: a\nGET / HTTP/1.1", "", "", "control character '\\n'"},
		{"X-Test: a\r", "", "", "control character '\\r'"},
		{"X-Test: a\x00b", "", "", "control character '\\x00'"},
		{"X-Test: a\x7fb", "", "", "control character '\\x7f'"},
		{"\r\nX-Test: v", "", "", "not allowed in a header name"},
		{"Na\xc3\xa9me: v", "", "", "not allowed in a header name"},
	} {
		name, value, err := ParseHeader(c.line)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.line, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: err %v, want one saying %q", c.line, err, c.err)
		case c.err == "" && (name != c.name || value != c.value):
			t.Errorf("%q: %q %q, want %q %q", c.line, name, value, c.name, c.value)
		}
	}
}

// TestParseHeaderErrorHidesValue: a refused header's message does not
// print its value whole: it may be a credential.
func TestParseHeaderErrorHidesValue(t *testing.T) {
	secret := strings.Repeat("s3cret", 10)
	for _, line := range []string{"Authorization Bearer " + secret, "Authorization: Bearer " + secret + "\r\n"} {
		if _, _, err := ParseHeader(line); err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("%q: err %v: want an error without the value", line, err)
		}
	}
}

// handshakeConfig is a valid connect run with the given extras.
func handshakeConfig(headers, protocols, publish []string) Config {
	return Config{Scenario: ScenarioConnect, URLs: []string{"ws://127.0.0.1:1/ws"}, Conns: 1,
		Headers: headers, Subprotocols: protocols, PublishHeaders: publish}.withDefaults()
}

// TestValidateHandshake: Validate refuses the fields wsbench writes
// itself, bad subprotocol names, and extra lines over MaxExtraHeaderBytes
// (each line counted with its CRLF, the Sec-WebSocket-Protocol line
// included), at the byte.
func TestValidateHandshake(t *testing.T) {
	// A header line of n bytes with its CRLF.
	line := func(n int) string { return "X-Pad: " + strings.Repeat("x", n-2-len("X-Pad: ")) }
	protoLine := protocolLine([]string{ProtocolJSON}) // 33 bytes, 35 with CRLF
	for _, c := range []struct {
		name               string
		headers, protocols []string
		publish            []string
		err                string
	}{
		{"none", nil, nil, nil, ""},
		{"token and protocols", []string{"Authorization: Bearer a.b.c", "Cookie: s=1"}, []string{ProtocolJSON, TokenProtocolPrefix + "a.b.c"}, []string{"X-API-Key: k"}, ""},
		{"headers at the bound", []string{line(MaxExtraHeaderBytes / 2), line(MaxExtraHeaderBytes / 2)}, nil, nil, ""},
		{"headers a byte over", []string{line(MaxExtraHeaderBytes/2 + 1), line(MaxExtraHeaderBytes / 2)}, nil, nil, "8193 bytes of extra header lines, at most 8192"},
		{"headers and protocols at the bound", []string{line(MaxExtraHeaderBytes - len(protoLine) - 2)}, []string{ProtocolJSON}, nil, ""},
		{"headers and protocols a byte over", []string{line(MaxExtraHeaderBytes - len(protoLine) - 1)}, []string{ProtocolJSON}, nil, "at most 8192"},
		{"protocols alone over", nil, []string{strings.Repeat("p", MaxExtraHeaderBytes)}, nil, "at most 8192"},
		{"publish headers over", nil, nil, []string{line(MaxExtraHeaderBytes + 1)}, "--publish-header: 8193 bytes"},
		{"bad header", []string{"X-Test: a\r\nX-Evil: b"}, nil, nil, "control character"},
		{"Host", []string{"host: evil"}, nil, nil, "--header host: wsbench sets this header itself"},
		{"Sec-WebSocket-Protocol", []string{"Sec-WebSocket-Protocol: x"}, nil, nil, "use --subprotocol"},
		{"Sec-WebSocket-Extensions", []string{"Sec-WebSocket-Extensions: x"}, nil, nil, "use --deflate"},
		{"Sec-WebSocket-Key", []string{"Sec-WebSocket-Key: x"}, nil, nil, "wsbench writes it"},
		{"publish Content-Type", nil, nil, []string{"Content-Type: text/plain"}, "--publish-header Content-Type"},
		{"publish Authorization", nil, nil, []string{"Authorization: Basic x"}, ""},
		{"empty subprotocol", nil, []string{""}, nil, "empty name"},
		{"subprotocol with a space", nil, []string{"a b"}, nil, "not allowed in a subprotocol name"},
		{"subprotocol with a comma", nil, []string{"a,b"}, nil, "not allowed in a subprotocol name"},
		{"subprotocol with a slash", nil, []string{"a/b"}, nil, "not allowed in a subprotocol name"},
		{"subprotocol with CR", nil, []string{"a\r\nX: y"}, nil, "not allowed in a subprotocol name"},
		{"subprotocol twice", nil, []string{"a", "b", "a"}, nil, `"a": offered twice`},
	} {
		err := handshakeConfig(c.headers, c.protocols, c.publish).Validate()
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: err %v, want one saying %q", c.name, err, c.err)
		}
	}
}

// TestUpgradeRequestCarriesHeaders: the extra lines come out of the
// request as the server side parses it: each header, the subprotocols in
// order, the deflate offer last.
func TestUpgradeRequestCarriesHeaders(t *testing.T) {
	tg, err := ParseTarget("ws://127.0.0.1:8080/ws")
	if err != nil {
		t.Fatal(err)
	}
	key := connKey(7, 42)
	lines := handshakeLines([]string{"Authorization: Bearer a.b.c", "X-Trace: 7"}, []string{ProtocolJSON, TokenProtocolPrefix + "a.b.c"}, true)
	r, err := wsproto.ParseRequest(appendUpgrade(nil, &tg, "bench.", 3, &key, lines))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.Header("Authorization")); got != "Bearer a.b.c" {
		t.Errorf("Authorization %q", got)
	}
	if got := string(r.Header("X-Trace")); got != "7" {
		t.Errorf("X-Trace %q", got)
	}
	var protocols []string
	for p := range r.Tokens("Sec-WebSocket-Protocol") {
		protocols = append(protocols, string(p))
	}
	if want := []string{ProtocolJSON, TokenProtocolPrefix + "a.b.c"}; !slices.Equal(protocols, want) {
		t.Errorf("subprotocols %q, want %q", protocols, want)
	}
	if _, ok := wsproto.NegotiateDeflate(r.Values("Sec-WebSocket-Extensions")); !ok {
		t.Error("deflate offer lost")
	}
	if got := handshakeLines(nil, nil, false); len(got) != 0 {
		t.Errorf("no extras: lines %q", got)
	}
}

// TestUpgradeResponseSubprotocol: the 101's Sec-WebSocket-Protocol must
// name one of those offered (RFC 6455 §4.1), and one must be named when
// any was offered.
func TestUpgradeResponseSubprotocol(t *testing.T) {
	key := connKey(7, 42)
	for _, c := range []struct {
		offered []string
		chosen  string
		err     error
	}{
		{nil, "", nil},
		{[]string{"a", "b"}, "a", nil},
		{[]string{"a", "b"}, "b", nil},
		{[]string{"a", "b"}, "", errNoProtocol},
		{[]string{"a", "b"}, "c", errUnofferedProtocol},
		{[]string{"a", "b"}, "A", errUnofferedProtocol},
		{[]string{"a", "b"}, "a, b", errUnofferedProtocol},
		{nil, "a", errUnofferedProtocol},
	} {
		var protocol []byte
		if c.chosen != "" {
			protocol = []byte(c.chosen)
		}
		resp := wsproto.AppendAccept(nil, key[:], protocol)
		n, _, err := parseUpgradeResponse(resp, &key, false, c.offered)
		if err != c.err || n != len(resp) {
			t.Errorf("offered %q, chosen %q: n %d, err %v; want %d, %v", c.offered, c.chosen, n, err, len(resp), c.err)
		}
	}
	offered := []string{"a", "b"}
	resp := wsproto.AppendAccept(nil, key[:], []byte("b"))
	if n := testing.AllocsPerRun(100, func() { _, _, _ = parseUpgradeResponse(resp, &key, false, offered) }); n != 0 {
		t.Errorf("checking the subprotocol allocates %.0f times", n)
	}
}

// TestReadTokenFile: one JWT, its newline trimmed; anything that could not
// travel in a header or a subprotocol name is refused.
func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, content, token, err string
	}{
		{"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig-_x\n", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig-_x", ""},
		{"crlf", "  a.b.c\r\n", "a.b.c", ""},
		{"empty", "\n", "", "empty"},
		{"bearer", "Bearer a.b.c", "", "byte 6 is ' '"},
		{"two lines", "a.b.c\nd.e.f", "", "byte 5 is '\\n'"},
		{"padding", "a.b.c==", "", "base64url characters and dots only"},
		{"too large", strings.Repeat("a", MaxTokenFileBytes+1), "", "more than 16384 bytes"},
		{"at the bound", strings.Repeat("a", MaxTokenFileBytes), strings.Repeat("a", MaxTokenFileBytes), ""},
	} {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := ReadTokenFile(path)
		switch {
		case c.err == "" && (err != nil || tok != c.token):
			t.Errorf("%s: %q, %v; want %q", c.name, tok, err, c.token)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: err %v, want one saying %q", c.name, err, c.err)
		}
	}
	if _, err := ReadTokenFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file is read")
	}
}

// TestReportRedactsHandshake: the report names the extra headers, never
// their values, and offers a token subprotocol without its token.
func TestReportRedactsHandshake(t *testing.T) {
	cfg := handshakeConfig([]string{"Authorization: Bearer s3cret.a.b"}, []string{ProtocolJSON, TokenProtocolPrefix + "s3cret.a.b"}, []string{"X-API-Key: s3cret"})
	st := newReport(cfg).Settings
	if !slices.Equal(st.Headers, []string{"Authorization"}) || !slices.Equal(st.PublishHeaders, []string{"X-API-Key"}) ||
		!slices.Equal(st.Subprotocols, []string{ProtocolJSON, TokenProtocolPrefix + "<redacted>"}) {
		t.Errorf("settings: headers %q, subprotocols %q, publish headers %q", st.Headers, st.Subprotocols, st.PublishHeaders)
	}
}

// upgradeServer is a gorilla/websocket echo server (a test fixture, not
// wsgate: bench never imports the server) that records each upgrade
// request's headers and answers the subprotocol it is told to.
type upgradeServer struct {
	*httptest.Server
	choose func(offered []string) string // the subprotocol to answer; "": none

	mu       sync.Mutex
	requests []http.Header
}

func startUpgradeServer(t *testing.T, choose func([]string) string) *upgradeServer {
	t.Helper()
	s := &upgradeServer{choose: choose}
	up := websocket.Upgrader{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Header.Clone())
		s.mu.Unlock()
		var h http.Header
		if s.choose != nil {
			if p := s.choose(websocket.Subprotocols(r)); p != "" {
				h = http.Header{"Sec-Websocket-Protocol": {p}}
			}
		}
		c, err := up.Upgrade(w, r, h)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			op, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(op, msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *upgradeServer) wsURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/echo" }

func (s *upgradeServer) seen() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// chooseFirst answers the first subprotocol offered, as wsgate answers
// wsgate.v1.
func chooseFirst(offered []string) string {
	if len(offered) == 0 {
		return ""
	}
	return offered[0]
}

// TestEchoSendsHeadersAndSubprotocols: every connection of a run carries
// the extra headers and offers the subprotocols, and a server that
// chooses one of them serves the whole run without an error.
func TestEchoSendsHeadersAndSubprotocols(t *testing.T) {
	srv := startUpgradeServer(t, chooseFirst)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const conns = 4
	rep, err := Run(ctx, Config{Scenario: ScenarioEcho, URLs: []string{srv.wsURL()}, Procs: 1, Conns: conns, Duration: 200 * time.Millisecond,
		Headers:      []string{"Authorization: Bearer a.b.c", "X-Trace: 7"},
		Subprotocols: []string{ProtocolJSON, TokenProtocolPrefix + "a.b.c"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 || rep.Connections.Opened != conns || rep.Echo.Received == 0 {
		t.Fatalf("errors %v, opened %d, echo %+v: want every connection up and echoing", rep.Errors, rep.Connections.Opened, rep.Echo)
	}
	reqs := srv.seen()
	if len(reqs) != conns {
		t.Fatalf("%d upgrade requests, want %d", len(reqs), conns)
	}
	for i, h := range reqs {
		if h.Get("Authorization") != "Bearer a.b.c" || h.Get("X-Trace") != "7" ||
			h.Get("Sec-Websocket-Protocol") != ProtocolJSON+", "+TokenProtocolPrefix+"a.b.c" {
			t.Errorf("request %d: headers %v", i, h)
		}
	}
}

// TestSubprotocolMismatchFailsConnections: a server that answers a
// subprotocol not offered, or none, fails every connection under the kind
// that says so.
func TestSubprotocolMismatchFailsConnections(t *testing.T) {
	for _, c := range []struct {
		choose func([]string) string
		kind   string
	}{
		{func([]string) string { return "other" }, string(errUnofferedProtocol)},
		{nil, string(errNoProtocol)},
	} {
		srv := startUpgradeServer(t, c.choose)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		rep, _ := Run(ctx, Config{Scenario: ScenarioConnect, URLs: []string{srv.wsURL()}, Procs: 1, Conns: 3, Hold: 10 * time.Millisecond,
			Subprotocols: []string{ProtocolJSON}})
		cancel()
		if rep == nil || rep.Errors[c.kind] != 3 || rep.Connections.Opened != 0 {
			t.Errorf("want 3 %s errors and nothing opened; report %+v", c.kind, rep)
		}
	}
}

// TestWSPublisherSendsHeaders: the WebSocket publisher's handshake is the
// subscribers': same headers, same subprotocols, same check of the answer.
func TestWSPublisherSendsHeaders(t *testing.T) {
	srv := startUpgradeServer(t, chooseFirst)
	tg, err := ParseTarget(srv.wsURL())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{ConnectTimeout: 5 * time.Second, Headers: []string{"Authorization: Bearer a.b.c"}, Subprotocols: []string{ProtocolJSON}}
	s, err := dialWSSender(context.Background(), cfg, tg, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.close()
	reqs := srv.seen()
	if len(reqs) != 1 || reqs[0].Get("Authorization") != "Bearer a.b.c" || reqs[0].Get("Sec-Websocket-Protocol") != ProtocolJSON {
		t.Fatalf("publisher's upgrade requests: %v", reqs)
	}

	other := startUpgradeServer(t, func([]string) string { return "other" })
	if tg, err = ParseTarget(other.wsURL()); err != nil {
		t.Fatal(err)
	}
	if _, err := dialWSSender(context.Background(), cfg, tg, 0); err == nil || !strings.Contains(err.Error(), string(errUnofferedProtocol)) {
		t.Fatalf("publisher answered an unoffered subprotocol: err %v, want %s", err, errUnofferedProtocol)
	}
}

// TestPublishHeaders: --publish-header reaches the admin API on every
// publication and on the --server-stats reads; --header does not go there.
func TestPublishHeaders(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		if r.Header.Get("X-API-Key") != "k1" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"published":1}`))
	}))
	defer api.Close()
	cfg := Config{Headers: []string{"Authorization: Bearer ws-only"}, PublishHeaders: []string{"X-API-Key: k1", "X-Trace: 2"}}
	snd := newHTTPSender([]string{api.URL}, cfg.publishHeader())
	defer snd.close()
	if _, err := snd.send(context.Background(), "bench.0", []byte(`"x"`)); err != nil {
		t.Fatalf("publish with the key: %v", err)
	}
	if _, err := fetchServerCounters(api.URL+"/api/stats", cfg.publishHeader()); err != nil {
		t.Fatalf("stats with the key: %v", err)
	}
	refused := newHTTPSender([]string{api.URL}, nil)
	defer refused.close()
	if definite, err := refused.send(context.Background(), "bench.0", []byte(`"x"`)); err == nil || !definite || !strings.Contains(err.Error(), "publish_http_401") {
		t.Fatalf("publish without the key: definite %v, err %v; want a definite publish_http_401", definite, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, h := range seen[:2] {
		if h.Get("X-Trace") != "2" || h.Get("Authorization") != "" {
			t.Errorf("request %d: headers %v: want the publish headers only", i, h)
		}
	}
	if ct := seen[0].Get("Content-Type"); ct != "application/json" {
		t.Errorf("publication Content-Type %q", ct)
	}
}

// TestPlansCarryHandshake: the headers and subprotocols reach every
// shard's plan, through the JSON a worker process reads too.
func TestPlansCarryHandshake(t *testing.T) {
	cfg := handshakeConfig([]string{"Authorization: Bearer a.b.c"}, []string{ProtocolJSON}, nil)
	cfg.Conns, cfg.Procs = 4, 2
	plans, err := cfg.plans(1)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range plans {
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Plan
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back.Headers, cfg.Headers) || !slices.Equal(back.Subprotocols, cfg.Subprotocols) {
			t.Errorf("plan %d after JSON: headers %q, subprotocols %q", i, back.Headers, back.Subprotocols)
		}
	}
}
