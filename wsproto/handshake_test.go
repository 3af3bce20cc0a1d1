package wsproto

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// sampleKey and sampleAccept are the nonce and answer of RFC 6455 §1.3.
const (
	sampleKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// baseHeaders is a minimal valid upgrade request's header block.
var baseHeaders = []string{
	"Host: example.com:8080",
	"Upgrade: websocket",
	"Connection: Upgrade",
	"Sec-WebSocket-Key: " + sampleKey,
	"Sec-WebSocket-Version: 13",
}

// request builds a request from a request line and header lines.
func request(line string, headers ...string) []byte {
	var b strings.Builder
	b.WriteString(line + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// browserRequest is what Chrome sends, for the realistic cases and benchmarks.
var browserRequest = request("GET /chat?room=lobby&v=2 HTTP/1.1",
	"Host: ws.example.com",
	"Connection: Upgrade",
	"Pragma: no-cache",
	"Cache-Control: no-cache",
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Upgrade: websocket",
	"Origin: https://app.example.com",
	"Sec-WebSocket-Version: 13",
	"Accept-Encoding: gzip, deflate, br, zstd",
	"Accept-Language: en-US,en;q=0.9",
	"Cookie: session=0123456789abcdef0123456789abcdef",
	"Sec-WebSocket-Key: "+sampleKey,
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
	"Sec-WebSocket-Protocol: chat.v2, chat.v1",
)

func TestParseRequestRules(t *testing.T) {
	t.Parallel()
	const line = "GET /chat HTTP/1.1"
	tests := []struct {
		name    string
		line    string   // request line; line above when empty
		drop    []string // header names removed from baseHeaders
		add     []string // header lines appended
		wantErr *RejectError
		status  int // wantErr's HTTP status, spelled out
	}{
		{name: "valid"},
		{name: "HTTP/2.0 accepted by the parser", line: "GET /chat HTTP/2.0"},
		{name: "HTTP/1.9", line: "GET /chat HTTP/1.9"},
		{name: "root path", line: "GET / HTTP/1.1"},
		{name: "Upgrade value case-insensitive", drop: []string{"Upgrade"}, add: []string{"Upgrade: WebSocket"}},
		{name: "Upgrade in a list", drop: []string{"Upgrade"}, add: []string{"Upgrade: h2c, websocket"}},
		{name: "Connection lower case", drop: []string{"Connection"}, add: []string{"Connection: upgrade"}},
		{name: "Connection in a list", drop: []string{"Connection"}, add: []string{"Connection: keep-alive, Upgrade"}},
		{name: "Connection list without spaces", drop: []string{"Connection"}, add: []string{"Connection: keep-alive,UPGRADE"}},
		{
			name: "Connection over two lines",
			drop: []string{"Connection"},
			add:  []string{"Connection: keep-alive", "Connection: Upgrade"},
		},
		{name: "header names case-insensitive", drop: []string{"Host"}, add: []string{"HOST: example.com", "sec-websocket-protocol: x"}},
		{name: "optional whitespace around values", drop: []string{"Sec-WebSocket-Version"}, add: []string{"Sec-WebSocket-Version:\t 13 \t"}},
		{name: "value with obs-text", add: []string{"X-Name: caf\xc3\xa9"}},
		{name: "duplicate Upgrade allowed", add: []string{"Upgrade: websocket"}},
		{name: "POST", line: "POST /chat HTTP/1.1", wantErr: ErrMethodNotGet, status: 405},
		{name: "lower-case get", line: "get /chat HTTP/1.1", wantErr: ErrMethodNotGet, status: 405},
		{name: "CONNECT", line: "CONNECT /chat HTTP/1.1", wantErr: ErrMethodNotGet, status: 405},
		{name: "HTTP/1.0", line: "GET /chat HTTP/1.0", wantErr: ErrHTTPVersion, status: 505},
		{name: "HTTP/0.9", line: "GET /chat HTTP/0.9", wantErr: ErrHTTPVersion, status: 505},
		{name: "missing Host", drop: []string{"Host"}, wantErr: ErrMissingHost, status: 400},
		{name: "empty Host", drop: []string{"Host"}, add: []string{"Host: "}, wantErr: ErrMissingHost, status: 400},
		{name: "duplicate Host", add: []string{"Host: evil.example"}, wantErr: ErrDuplicateHeader, status: 400},
		{name: "duplicate key", add: []string{"Sec-WebSocket-Key: " + sampleKey}, wantErr: ErrDuplicateHeader, status: 400},
		{name: "duplicate version", add: []string{"Sec-WebSocket-Version: 13"}, wantErr: ErrDuplicateHeader, status: 400},
		{name: "missing Upgrade", drop: []string{"Upgrade"}, wantErr: ErrNotUpgrade, status: 400},
		{name: "Upgrade h2c", drop: []string{"Upgrade"}, add: []string{"Upgrade: h2c"}, wantErr: ErrNotUpgrade, status: 400},
		{name: "Upgrade websocket2", drop: []string{"Upgrade"}, add: []string{"Upgrade: websocket2"}, wantErr: ErrNotUpgrade, status: 400},
		{name: "missing Connection", drop: []string{"Connection"}, wantErr: ErrNotUpgrade, status: 400},
		{
			name:    "Connection keep-alive only",
			drop:    []string{"Connection"},
			add:     []string{"Connection: keep-alive"},
			wantErr: ErrNotUpgrade,
			status:  400,
		},
		{
			name:    "Connection Upgraded",
			drop:    []string{"Connection"},
			add:     []string{"Connection: Upgraded"},
			wantErr: ErrNotUpgrade,
			status:  400,
		},
		{name: "missing key", drop: []string{"Sec-WebSocket-Key"}, wantErr: ErrBadKey, status: 400},
		{
			name:    "key of 15 bytes",
			drop:    []string{"Sec-WebSocket-Key"},
			add:     []string{"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(make([]byte, 15))},
			wantErr: ErrBadKey,
			status:  400,
		},
		{
			name:    "key of 17 bytes",
			drop:    []string{"Sec-WebSocket-Key"},
			add:     []string{"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(make([]byte, 17))},
			wantErr: ErrBadKey,
			status:  400,
		},
		{
			name:    "key of 18 bytes in 24 characters",
			drop:    []string{"Sec-WebSocket-Key"},
			add:     []string{"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(make([]byte, 18))},
			wantErr: ErrBadKey,
			status:  400,
		},
		{
			name:    "key without padding",
			drop:    []string{"Sec-WebSocket-Key"},
			add:     []string{"Sec-WebSocket-Key: " + base64.RawStdEncoding.EncodeToString(make([]byte, 16))},
			wantErr: ErrBadKey,
			status:  400,
		},
		{
			name:    "key not base64",
			drop:    []string{"Sec-WebSocket-Key"},
			add:     []string{"Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=="},
			wantErr: ErrBadKey,
			status:  400,
		},
		{
			name:    "key in URL-safe base64",
			drop:    []string{"Sec-WebSocket-Key"},
			add:     []string{"Sec-WebSocket-Key: " + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 16))},
			wantErr: ErrBadKey,
			status:  400,
		},
		{name: "missing version", drop: []string{"Sec-WebSocket-Version"}, wantErr: ErrBadVersion, status: 426},
		{
			name:    "version 8",
			drop:    []string{"Sec-WebSocket-Version"},
			add:     []string{"Sec-WebSocket-Version: 8"},
			wantErr: ErrBadVersion,
			status:  426,
		},
		{
			name:    "version 14",
			drop:    []string{"Sec-WebSocket-Version"},
			add:     []string{"Sec-WebSocket-Version: 14"},
			wantErr: ErrBadVersion,
			status:  426,
		},
		{
			name:    "version list",
			drop:    []string{"Sec-WebSocket-Version"},
			add:     []string{"Sec-WebSocket-Version: 13, 8"},
			wantErr: ErrBadVersion,
			status:  426,
		},
		{name: "request line without version", line: "GET /chat", wantErr: ErrMalformedRequest, status: 400},
		{name: "request line two spaces", line: "GET  /chat HTTP/1.1", wantErr: ErrMalformedRequest, status: 400},
		{name: "request line trailing space", line: "GET /chat HTTP/1.1 ", wantErr: ErrMalformedRequest, status: 400},
		{name: "absolute target", line: "GET http://example.com/chat HTTP/1.1", wantErr: ErrMalformedRequest, status: 400},
		{name: "asterisk target", line: "GET * HTTP/1.1", wantErr: ErrMalformedRequest, status: 400},
		{name: "lower-case protocol", line: "GET /chat http/1.1", wantErr: ErrMalformedRequest, status: 400},
		{name: "two-digit version", line: "GET /chat HTTP/10.1", wantErr: ErrMalformedRequest, status: 400},
		{name: "version letters", line: "GET /chat HTTP/x.1", wantErr: ErrMalformedRequest, status: 400},
		{name: "method not a token", line: "G(T /chat HTTP/1.1", wantErr: ErrMalformedRequest, status: 400},
		{name: "empty request line", line: "", wantErr: ErrMalformedRequest, status: 400},
		{name: "target with a bare LF", line: "GET /chat\nX HTTP/1.1", wantErr: ErrMalformedRequest, status: 400},
		{name: "target with NUL", line: "GET /ch\x00at HTTP/1.1", wantErr: ErrMalformedRequest, status: 400},
		{name: "header without colon", add: []string{"X-Broken"}, wantErr: ErrMalformedRequest, status: 400},
		{name: "space before colon", add: []string{"X-Name : v"}, wantErr: ErrMalformedRequest, status: 400},
		{name: "obsolete line folding", add: []string{"X-Name: a", " folded"}, wantErr: ErrMalformedRequest, status: 400},
		{name: "empty header name", add: []string{": v"}, wantErr: ErrMalformedRequest, status: 400},
		{name: "header name not a token", add: []string{"X(Name): v"}, wantErr: ErrMalformedRequest, status: 400},
		// RFC 9110 §5.5: "a recipient of CR, LF, or NUL within a field value
		// MUST either reject the message or replace each of those characters
		// with SP"; echoed back (a chosen subprotocol), a bare LF would let the
		// client write headers into our response.
		{
			name:    "value with a bare LF",
			add:     []string{"Sec-WebSocket-Protocol: chat\nX-Injected: 1"},
			wantErr: ErrMalformedRequest,
			status:  400,
		},
		{name: "value with a bare CR", add: []string{"X-Name: a\rb"}, wantErr: ErrMalformedRequest, status: 400},
		{name: "value with NUL", add: []string{"X-Name: a\x00b"}, wantErr: ErrMalformedRequest, status: 400},
		// "Field values containing other CTL characters are also invalid."
		{name: "protocol with a vertical tab", add: []string{"Sec-WebSocket-Protocol: \v"}, wantErr: ErrMalformedRequest, status: 400},
		{name: "value with DEL", add: []string{"X-Name: a\x7fb"}, wantErr: ErrMalformedRequest, status: 400},
		{name: "value with HTAB", add: []string{"X-Name: a\tb"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := line
			if tc.line != "" || tc.name == "empty request line" {
				l = tc.line
			}
			var headers []string
			for _, h := range baseHeaders {
				name, _, _ := strings.Cut(h, ":")
				if !slices.Contains(tc.drop, name) {
					headers = append(headers, h)
				}
			}
			req := request(l, append(headers, tc.add...)...)
			_, err := ParseRequest(req)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("ParseRequest(%q) = %v, want nil", req, err)
				}
				return
			}
			if err != tc.wantErr {
				t.Fatalf("ParseRequest(%q) = %v, want %v", req, err, tc.wantErr)
			}
			var re *RejectError
			if !errors.As(err, &re) || re.Status != tc.status {
				t.Fatalf("status of %v is not %d", err, tc.status)
			}
		})
	}
}

func TestParseRequestFields(t *testing.T) {
	t.Parallel()
	r, err := ParseRequest(browserRequest)
	if err != nil {
		t.Fatal(err)
	}
	fields := []struct {
		name string
		got  []byte
		want string
	}{
		{name: "Path", got: r.Path, want: "/chat"},
		{name: "Query", got: r.Query, want: "room=lobby&v=2"},
		{name: "Host", got: r.Host, want: "ws.example.com"},
		{name: "Origin", got: r.Origin, want: "https://app.example.com"},
		{name: "Key", got: r.Key, want: sampleKey},
		{name: "Header(user-agent)", got: r.Header("user-agent"), want: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"},
		{name: "Header(Cookie)", got: r.Header("Cookie"), want: "session=0123456789abcdef0123456789abcdef"},
	}
	for _, f := range fields {
		if string(f.got) != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	if r.Header("X-Absent") != nil {
		t.Errorf("Header(X-Absent) = %q, want nil", r.Header("X-Absent"))
	}
	// Every field is a slice of the request: no copy.
	if i := bytes.Index(browserRequest, []byte(sampleKey)); &r.Key[0] != &browserRequest[i] {
		t.Error("Key does not alias the request bytes")
	}

	r, err = ParseRequest(request("GET /plain HTTP/1.1", baseHeaders...))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Path) != "/plain" || len(r.Query) != 0 || len(r.Origin) != 0 {
		t.Errorf("Path %q, Query %q, Origin %q; want /plain and empty ones", r.Path, r.Query, r.Origin)
	}
	r, err = ParseRequest(request("GET /q? HTTP/1.1", baseHeaders...))
	if err != nil || string(r.Path) != "/q" || len(r.Query) != 0 {
		t.Errorf("empty query: Path %q, Query %q, err %v", r.Path, r.Query, err)
	}
}

func TestRequestTokens(t *testing.T) {
	t.Parallel()
	req := request("GET / HTTP/1.1", append(baseHeaders,
		"Sec-WebSocket-Protocol: chat, superchat",
		"X-Other: a, b",
		"sec-websocket-protocol:  v2.json ,, \t,v1.json",
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-webkit-deflate-frame",
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover",
	)...)
	r, err := ParseRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want []string
	}{
		{name: "Sec-WebSocket-Protocol", want: []string{"chat", "superchat", "v2.json", "v1.json"}},
		{name: "Sec-WebSocket-Extensions", want: []string{
			"permessage-deflate; client_max_window_bits",
			"x-webkit-deflate-frame",
			"permessage-deflate; server_no_context_takeover",
		}},
		{name: "X-Absent", want: nil},
	}
	for _, tc := range tests {
		var got []string
		for tok := range r.Tokens(tc.name) {
			got = append(got, string(tok))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	// Stopping early stops the iteration.
	var first []string
	for tok := range r.Tokens("Sec-WebSocket-Protocol") {
		first = append(first, string(tok))
		break
	}
	if !slices.Equal(first, []string{"chat"}) {
		t.Errorf("first token = %q, want [chat]", first)
	}
}

func TestAcceptKeyRFCSample(t *testing.T) {
	t.Parallel()
	if got := string(AcceptKey([]byte(sampleKey))); got != sampleAccept {
		t.Fatalf("AcceptKey(%q) = %q, want %q", sampleKey, got, sampleAccept)
	}
}

// TestAcceptKeyAnyLength compares AcceptKey with the definition for keys of
// every length around the 24 a valid key has: a client may check a server's
// answer to any key, and the result must never be silently truncated.
func TestAcceptKeyAnyLength(t *testing.T) {
	t.Parallel()
	for n := range 100 {
		key := bytes.Repeat([]byte{'k'}, n)
		sum := sha1.Sum([]byte(string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		want := base64.StdEncoding.EncodeToString(sum[:])
		if got := string(AcceptKey(key)); got != want {
			t.Errorf("AcceptKey of %d bytes = %q, want %q", n, got, want)
		}
	}
}

func TestAppendAccept(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		prefix   string
		protocol string
		want     string
	}{
		{
			name: "no subprotocol",
			want: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + sampleAccept + "\r\n\r\n",
		},
		{
			name:     "subprotocol after existing bytes",
			prefix:   "keep",
			protocol: "chat",
			want: "keepHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + sampleAccept + "\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
		},
	}
	for _, tc := range tests {
		got := AppendAccept([]byte(tc.prefix), []byte(sampleKey), []byte(tc.protocol))
		if string(got) != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// TestAppendAcceptExtensions: the extensions line follows the subprotocol;
// nil and empty extensions give AppendAccept's bytes exactly.
func TestAppendAcceptExtensions(t *testing.T) {
	t.Parallel()
	key := []byte(sampleKey)
	for _, ext := range [][]byte{nil, {}} {
		if got, want := AppendAcceptExtensions(nil, key, []byte("chat"), ext), AppendAccept(nil, key, []byte("chat")); !bytes.Equal(got, want) {
			t.Errorf("extensions %q: %q, want %q", ext, got, want)
		}
	}
	got := AppendAcceptExtensions([]byte("keep"), key, []byte("chat"), []byte(pmdBase))
	want := "keepHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + sampleAccept + "\r\nSec-WebSocket-Protocol: chat\r\n" +
		"Sec-WebSocket-Extensions: " + pmdBase + "\r\n\r\n"
	if string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestAppendReject answers every rejection and reads the response back with
// net/http: status, the headers each status needs, and the body.
func TestAppendReject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err        error
		status     int
		headerName string // one header this status must carry, if any
		header     string
	}{
		{err: ErrHeaderTooLarge, status: 431},
		{err: ErrMalformedRequest, status: 400},
		{err: ErrMethodNotGet, status: 405, headerName: "Allow", header: "GET"},
		{err: ErrHTTPVersion, status: 505},
		{err: ErrMissingHost, status: 400},
		{err: ErrDuplicateHeader, status: 400},
		{err: ErrNotUpgrade, status: 400},
		{err: ErrBadKey, status: 400},
		{err: ErrBadVersion, status: 426, headerName: "Sec-WebSocket-Version", header: "13"},
		{err: &RejectError{Status: http.StatusNotFound, Reason: "no such path"}, status: 404},
		{err: &RejectError{Status: http.StatusUnauthorized, Reason: "token expired", Header: "WWW-Authenticate: Bearer\r\n"}, status: 401, headerName: "WWW-Authenticate", header: "Bearer"},
		{err: &RejectError{Status: http.StatusTooManyRequests, Reason: "slow down", Header: "Retry-After: 1\r\nX-A: b\r\n"}, status: 429, headerName: "Retry-After", header: "1"},
		{err: errors.New("not a RejectError"), status: 400},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status)+" "+tc.err.Error(), func(t *testing.T) {
			t.Parallel()
			raw := AppendReject([]byte("prefix"), tc.err)
			if !bytes.HasPrefix(raw, []byte("prefixHTTP/1.1 "+strconv.Itoa(tc.status)+" "+http.StatusText(tc.status)+"\r\n")) {
				t.Fatalf("status line wrong: %q", raw)
			}
			br := bufio.NewReader(bytes.NewReader(raw[len("prefix"):]))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%q: %v", raw, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			wantBody := ErrMalformedRequest.Reason + "\n"
			var re *RejectError
			if errors.As(tc.err, &re) {
				wantBody = re.Reason + "\n"
			}
			switch {
			case resp.StatusCode != tc.status:
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			case !resp.Close: // net/http consumes "Connection: close" into Close
				t.Errorf("response does not close the connection: %q", raw)
			case string(body) != wantBody || resp.ContentLength != int64(len(wantBody)):
				t.Errorf("body %q (Content-Length %d), want %q", body, resp.ContentLength, wantBody)
			case br.Buffered() != 0:
				t.Errorf("%d bytes after the response", br.Buffered())
			case tc.headerName != "" && resp.Header.Get(tc.headerName) != tc.header:
				t.Errorf("%s: %q, want %q", tc.headerName, resp.Header.Get(tc.headerName), tc.header)
			case tc.status != 426 && resp.Header.Get("Sec-WebSocket-Version") != "":
				t.Errorf("Sec-WebSocket-Version on a %d", tc.status)
			}
		})
	}
}

// The exact bytes of a refusal: the header lines a RejectError carries sit
// between the content type and the length, as they are.
func TestAppendRejectBytes(t *testing.T) {
	t.Parallel()
	const head = "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
	for _, tc := range []struct {
		err  error
		want string
	}{
		{ErrMethodNotGet, "HTTP/1.1 405 Method Not Allowed\r\n" + head + "Allow: GET\r\nContent-Length: 19\r\n\r\nmethod must be GET\n"},
		{ErrBadVersion, "HTTP/1.1 426 Upgrade Required\r\n" + head + "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\nContent-Length: 33\r\n\r\nSec-WebSocket-Version must be 13\n"},
		{ErrMissingHost, "HTTP/1.1 400 Bad Request\r\n" + head + "Content-Length: 20\r\n\r\nmissing Host header\n"},
		{&RejectError{Status: http.StatusTooManyRequests, Reason: "x", Header: "Retry-After: 1\r\n"}, "HTTP/1.1 429 Too Many Requests\r\n" + head + "Retry-After: 1\r\nContent-Length: 2\r\n\r\nx\n"},
	} {
		if got := string(AppendReject(nil, tc.err)); got != tc.want {
			t.Errorf("%v:\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
}

// scanFeed grows a request buffer by the given read lengths, calling Scan
// after each read as the reactor does, and returns the first non-zero end,
// the first error and how many bytes had arrived when either came.
func scanFeed(data []byte, maxHeaderBytes int, f feed) (end, arrived int, err error) {
	var s HandshakeScanner
	for arrived < len(data) {
		arrived += f.chunk(len(data) - arrived)
		end, err = s.Scan(data[:arrived], maxHeaderBytes)
		if end != 0 || err != nil {
			return end, arrived, err
		}
	}
	return 0, arrived, nil
}

// TestHandshakeScannerFeeds delivers requests whole, byte by byte and in
// random reads: the end offset never depends on the read boundaries, and
// bytes after the blank line (a pipelined first frame) are not counted.
func TestHandshakeScannerFeeds(t *testing.T) {
	t.Parallel()
	frame := clientFrame(ws.OpText, true, "first frame")
	tests := []struct {
		name    string
		data    []byte
		wantEnd int
	}{
		{name: "browser request", data: browserRequest, wantEnd: len(browserRequest)},
		{name: "pipelined frame", data: concat(browserRequest, frame), wantEnd: len(browserRequest)},
		{name: "two requests", data: concat(browserRequest, browserRequest), wantEnd: len(browserRequest)},
		{name: "blank line only", data: []byte("\r\n\r\nrest"), wantEnd: 4},
		{name: "CRLF runs", data: []byte("GET / HTTP/1.1\r\n\r\r\n\r\n"), wantEnd: 21},
		{name: "bare LFs do not end it", data: []byte("GET / HTTP/1.1\n\n\r\n\n\r\n\r\n"), wantEnd: 23},
		{name: "unfinished", data: browserRequest[:len(browserRequest)-1], wantEnd: 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range feedsFor(uint64(100 + i)) {
				end, arrived, err := scanFeed(tc.data, DefaultMaxHeaderBytes, f)
				if err != nil || end != tc.wantEnd {
					t.Fatalf("feed %s: end %d, err %v; want %d, nil", f.name, end, err, tc.wantEnd)
				}
				if end != 0 && arrived < end {
					t.Fatalf("feed %s: end %d reported with only %d bytes", f.name, end, arrived)
				}
				if f.name == "bytewise" && end != 0 && arrived != end {
					t.Fatalf("bytewise: end found after %d bytes, want exactly %d", arrived, end)
				}
			}
		})
	}
}

// TestHandshakeScannerHeaderTooLarge checks the 431 limit at its edge: when
// the blank line never comes, and when it comes a byte too late.
func TestHandshakeScannerHeaderTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 256
	padTo := func(total int) []byte {
		head := "GET / HTTP/1.1\r\nX-Pad: "
		return []byte(head + strings.Repeat("p", total-len(head)-4) + "\r\n\r\n")
	}
	tests := []struct {
		name       string
		data       []byte
		wantEnd    int
		wantErr    error
		errArrived int // bytes held when the bytewise feed gets the error
	}{
		{name: "ends exactly at the limit", data: padTo(limit), wantEnd: limit},
		{name: "ends one byte late", data: padTo(limit + 1), wantErr: ErrHeaderTooLarge, errArrived: limit},
		{name: "ends far too late", data: padTo(4 * limit), wantErr: ErrHeaderTooLarge, errArrived: limit},
		{name: "never ends", data: bytes.Repeat([]byte("X-A: b\r\n"), 100), wantErr: ErrHeaderTooLarge, errArrived: limit},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range feedsFor(uint64(200 + i)) {
				end, arrived, err := scanFeed(tc.data, limit, f)
				if end != tc.wantEnd || err != tc.wantErr {
					t.Fatalf("feed %s: end %d, err %v; want %d, %v", f.name, end, err, tc.wantEnd, tc.wantErr)
				}
				if f.name == "bytewise" && err != nil && arrived != tc.errArrived {
					t.Fatalf("bytewise: error with %d bytes, want %d", arrived, tc.errArrived)
				}
			}
		})
	}
	var re *RejectError
	if !errors.As(ErrHeaderTooLarge, &re) || re.Status != 431 {
		t.Fatalf("ErrHeaderTooLarge status is not 431")
	}
}

// TestHandshakeScannerSearchesOnce checks that bytes already searched are
// not searched again: only the last three may hold part of the terminator.
func TestHandshakeScannerSearchesOnce(t *testing.T) {
	t.Parallel()
	var s HandshakeScanner
	buf := []byte("GET / HTTP/1.1\r\nA: b\r\n\r")
	if end, err := s.Scan(buf, 100); end != 0 || err != nil {
		t.Fatalf("partial: %d, %v", end, err)
	}
	if s.scanned != uint32(len(buf)) {
		t.Fatalf("scanned = %d, want %d", s.scanned, len(buf))
	}
	// Overwrite what was searched: a rescan from the start would now find a
	// terminator early, and must not.
	copy(buf, "\r\n\r\n")
	buf = append(buf, '\n')
	if end, err := s.Scan(buf, 100); end != len(buf) || err != nil {
		t.Fatalf("complete: %d, %v; want %d", end, err, len(buf))
	}
}

func TestHandshakeScannerAllocs(t *testing.T) {
	data := concat(browserRequest, clientFrame(ws.OpText, true, "x"))
	allocs := testing.AllocsPerRun(100, func() {
		var s HandshakeScanner
		for k := 64; ; k += 64 {
			end, err := s.Scan(data[:min(k, len(data))], DefaultMaxHeaderBytes)
			if err != nil || end != 0 {
				break
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("Scan: %v allocations, want 0", allocs)
	}
}

func TestParseRequestAcceptAllocs(t *testing.T) {
	dst := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		r, err := ParseRequest(browserRequest)
		if err != nil {
			panic(err)
		}
		var proto []byte
		for p := range r.Tokens("Sec-WebSocket-Protocol") {
			proto = p
			break
		}
		dst = AppendAccept(dst[:0], r.Key, proto)
	})
	if allocs != 0 {
		t.Fatalf("ParseRequest, Tokens and AppendAccept: %v allocations, want 0", allocs)
	}
	if !bytes.Contains(dst, []byte("Sec-WebSocket-Protocol: chat.v2\r\n")) {
		t.Fatalf("unexpected response %q", dst)
	}
}

// TestParseRequestRandomMutations flips and drops bytes of a valid request:
// ParseRequest must return nil or a sentinel, never anything else.
func TestParseRequestRandomMutations(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	sentinels := []error{ErrMalformedRequest, ErrMethodNotGet, ErrHTTPVersion, ErrMissingHost,
		ErrDuplicateHeader, ErrNotUpgrade, ErrBadKey, ErrBadVersion}
	for range 5000 {
		req := bytes.Clone(browserRequest)
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(req))
			if rng.IntN(2) == 0 {
				req[i] = byte(rng.IntN(256))
			} else {
				req = slices.Delete(req, i, i+1)
			}
		}
		if _, err := ParseRequest(req); err != nil && !slices.Contains(sentinels, err) {
			t.Fatalf("ParseRequest(%q) = %v, not a sentinel", req, err)
		}
	}
}

// TestBrowserRequestValid makes sure the shared test request is what it
// claims to be: complete, valid, and accepted by net/http too.
func TestBrowserRequestValid(t *testing.T) {
	t.Parallel()
	var s HandshakeScanner
	end, err := s.Scan(browserRequest, DefaultMaxHeaderBytes)
	if err != nil || end != len(browserRequest) {
		t.Fatalf("Scan = %d, %v", end, err)
	}
	if _, err := ParseRequest(browserRequest); err != nil {
		t.Fatal(err)
	}
	if _, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(browserRequest))); err != nil {
		t.Fatalf("net/http does not accept it either: %v", err)
	}
}

// Headers yields every field, in order, names as sent.
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	r, err := ParseRequest(request("GET /ws HTTP/1.1", append(baseHeaders, "Cookie: s=1", "x-a:  b ")...))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for n, v := range r.Headers() {
		got = append(got, string(n)+"="+string(v))
	}
	if len(got) != len(baseHeaders)+2 || got[len(got)-2] != "Cookie=s=1" || got[len(got)-1] != "x-a=b" {
		t.Fatalf("headers %q", got)
	}
	for range r.Headers() {
		break // stopping early is allowed
	}
}
