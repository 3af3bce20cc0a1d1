package wsproto

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"iter"
	"net/http"
	"strconv"
)

var headerEnd = []byte("\r\n\r\n")

// HandshakeScanner finds the end of an HTTP request that arrives in pieces.
// Its zero value is ready; it is 4 bytes, kept in the connection state until
// the handshake completes.
type HandshakeScanner struct {
	scanned uint32 // bytes of the request already searched for the blank line
}

// Scan reports the length of the request held at the start of buf, up to and
// including the blank line that ends the header block, or 0 when the blank
// line has not arrived yet. buf must hold every byte received so far, from the
// first; only the bytes not yet searched are searched again. A header block
// longer than maxHeaderBytes is refused with ErrHeaderTooLarge.
func (s *HandshakeScanner) Scan(buf []byte, maxHeaderBytes int) (int, error) {
	start := int(s.scanned)
	if start > len(buf) {
		start = len(buf)
	}
	start = max(start-(len(headerEnd)-1), 0) // the terminator may straddle reads
	if i := bytes.Index(buf[start:], headerEnd); i >= 0 {
		end := start + i + len(headerEnd)
		if end > maxHeaderBytes {
			return 0, ErrHeaderTooLarge
		}
		return end, nil
	}
	if len(buf) >= maxHeaderBytes {
		return 0, ErrHeaderTooLarge
	}
	s.scanned = uint32(len(buf))
	return 0, nil
}

// Request is a validated WebSocket opening handshake. Every field is a slice
// of the bytes given to ParseRequest and is valid as long as they are.
type Request struct {
	Path    []byte // request target before '?', e.g. "/echo"
	Query   []byte // raw query after '?', without it; empty if none
	Host    []byte
	Origin  []byte // empty when the client sent none (non-browser clients)
	Key     []byte // Sec-WebSocket-Key, 24 base64 characters
	headers []byte // the header lines, for Header and Tokens
}

// ParseRequest validates a complete opening handshake (as delimited by
// HandshakeScanner) against RFC 6455 §4.2.1 and returns its fields. The
// error, when not nil, is one of the *RejectError sentinels; answer it with
// AppendReject and close the connection.
func ParseRequest(req []byte) (Request, error) {
	var r Request
	line, rest, ok := bytes.Cut(req, crlf)
	if !ok {
		return r, ErrMalformedRequest
	}
	target, err := parseRequestLine(line)
	if err != nil {
		return r, err
	}
	r.Path, r.Query, _ = bytes.Cut(target, []byte{'?'})
	r.headers = rest

	var (
		upgrade, connection   bool
		hosts, keys, versions int
		version               []byte
	)
	for name, value := range headerLines(rest) {
		if name == nil {
			return r, ErrMalformedRequest
		}
		switch {
		case equalFold(name, "Host"):
			hosts++
			r.Host = value
		case equalFold(name, "Upgrade"):
			upgrade = upgrade || hasToken(value, "websocket")
		case equalFold(name, "Connection"):
			connection = connection || hasToken(value, "upgrade")
		case equalFold(name, "Sec-WebSocket-Key"):
			keys++
			r.Key = value
		case equalFold(name, "Sec-WebSocket-Version"):
			versions++
			version = value
		case equalFold(name, "Origin"):
			r.Origin = value
		}
	}
	switch {
	case hosts == 0 || len(r.Host) == 0:
		return r, ErrMissingHost
	case hosts > 1 || keys > 1 || versions > 1:
		return r, ErrDuplicateHeader
	// "The request MUST contain an |Upgrade| header field whose value MUST
	// include the "websocket" keyword." and "a |Connection| header field
	// whose value MUST include the "Upgrade" token."
	case !upgrade || !connection:
		return r, ErrNotUpgrade
	// "If this version does not match a version understood by the server, the
	// server MUST abort ... and instead send an appropriate HTTP error code
	// (such as 426 Upgrade Required) and a |Sec-WebSocket-Version| header".
	case string(version) != "13":
		return r, ErrBadVersion
	// "a base64-encoded value that, when decoded, is 16 bytes in length"
	case !validKey(r.Key):
		return r, ErrBadKey
	}
	return r, nil
}

var crlf = []byte("\r\n")

// parseRequestLine checks "GET <target> HTTP/1.1" and returns the target.
func parseRequestLine(line []byte) ([]byte, error) {
	method, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(method) == 0 || !isToken(method) {
		return nil, ErrMalformedRequest
	}
	target, proto, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(target) == 0 || target[0] != '/' || bytes.IndexByte(target, ' ') >= 0 || hasCRLFNUL(target) {
		return nil, ErrMalformedRequest
	}
	major, minor, ok := parseHTTPVersion(proto)
	if !ok {
		return nil, ErrMalformedRequest
	}
	// "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1."
	if string(method) != http.MethodGet {
		return nil, ErrMethodNotGet
	}
	if major < 1 || major == 1 && minor < 1 {
		return nil, ErrHTTPVersion
	}
	return target, nil
}

func parseHTTPVersion(p []byte) (major, minor int, ok bool) {
	if len(p) != len("HTTP/1.1") || string(p[:5]) != "HTTP/" || p[6] != '.' ||
		!isDigit(p[5]) || !isDigit(p[7]) {
		return 0, 0, false
	}
	return int(p[5] - '0'), int(p[7] - '0'), true
}

// headerLines yields each header field of a header block as name and value
// (value trimmed of optional whitespace). A malformed line yields a nil name
// and stops: whitespace before the colon, a missing colon, a name that is not
// a token, an obsolete line folding (RFC 7230 §3.2.4), or a value holding a
// bare CR, a bare LF or NUL (RFC 9110 §5.5: "a recipient of CR, LF, or NUL
// within a field value MUST either reject the message or replace each of
// those characters with SP"; echoed in a response, they would split it), or
// any other control character but HTAB ("Field values containing other CTL
// characters are also invalid"; echoed, they make the response unparsable).
func headerLines(block []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for len(block) > 0 {
			line, rest, _ := bytes.Cut(block, crlf)
			block = rest
			if len(line) == 0 {
				return // the blank line
			}
			name, value, ok := bytes.Cut(line, []byte{':'})
			if !ok || len(name) == 0 || !isToken(name) || hasCTL(value) {
				yield(nil, nil)
				return
			}
			if !yield(name, trimOWS(value)) {
				return
			}
		}
	}
}

// Header returns the value of the first header field called name
// (case-insensitive), or nil.
func (r *Request) Header(name string) []byte {
	for n, v := range headerLines(r.headers) {
		if n != nil && equalFold(n, name) {
			return v
		}
	}
	return nil
}

// Headers yields every header field's name and value, in order (the
// connect hook hands them to the backend).
func (r *Request) Headers() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for n, v := range headerLines(r.headers) {
			if n != nil && !yield(n, v) {
				return
			}
		}
	}
}

// Values yields the value of every header field called name
// (case-insensitive), in order.
func (r *Request) Values(name string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for n, v := range headerLines(r.headers) {
			if n != nil && equalFold(n, name) && !yield(v) {
				return
			}
		}
	}
}

// Tokens yields every comma-separated element of every header field called
// name, trimmed, skipping empty ones: Tokens("Sec-WebSocket-Protocol") yields
// the offered subprotocols in the client's order of preference, and
// Tokens("Sec-WebSocket-Extensions") each offered extension with its
// parameters.
func (r *Request) Tokens(name string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for n, v := range headerLines(r.headers) {
			if n == nil || !equalFold(n, name) {
				continue
			}
			for len(v) > 0 {
				var tok []byte
				tok, v, _ = bytes.Cut(v, []byte{','})
				if tok = trimOWS(tok); len(tok) > 0 && !yield(tok) {
					return
				}
			}
		}
	}
}

// acceptGUID is the fixed suffix of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AppendAccept appends the 101 response completing the handshake for key. A
// non-empty protocol is echoed as the selected subprotocol; it must be one the
// client offered.
func AppendAccept(dst, key, protocol []byte) []byte {
	return AppendAcceptExtensions(dst, key, protocol, nil)
}

// AppendAcceptExtensions is AppendAccept with a Sec-WebSocket-Extensions line
// (extensions: the value, such as NegotiateDeflate's response; nil or empty:
// none).
func AppendAcceptExtensions(dst, key, protocol, extensions []byte) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	var accept [28]byte
	acceptKey(&accept, key)
	dst = append(dst, accept[:]...)
	if len(protocol) > 0 {
		dst = append(dst, "\r\nSec-WebSocket-Protocol: "...)
		dst = append(dst, protocol...)
	}
	if len(extensions) > 0 {
		dst = append(dst, "\r\nSec-WebSocket-Extensions: "...)
		dst = append(dst, extensions...)
	}
	return append(dst, "\r\n\r\n"...)
}

// acceptKey writes base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2 step 5.4).
// A validated key (24 bytes) is hashed from the stack; a longer one, which
// only AcceptKey's callers can pass, takes the streaming hash so it is never
// truncated.
func acceptKey(dst *[28]byte, key []byte) {
	var sum [sha1.Size]byte
	if len(key) <= 24 {
		var buf [24 + len(acceptGUID)]byte
		n := copy(buf[:], key)
		n += copy(buf[n:], acceptGUID)
		sum = sha1.Sum(buf[:n])
	} else {
		h := sha1.New()
		h.Write(key)
		h.Write([]byte(acceptGUID))
		h.Sum(sum[:0])
	}
	base64.StdEncoding.Encode(dst[:], sum[:])
}

// AcceptKey returns the Sec-WebSocket-Accept value a server must answer to
// key; clients use it to check the response.
func AcceptKey(key []byte) []byte {
	var accept [28]byte
	acceptKey(&accept, key)
	return accept[:]
}

// AppendReject appends the HTTP response refusing a handshake for err (a
// *RejectError; any other error is answered as ErrMalformedRequest): its
// status, its header lines and its reason as the body. The response
// closes the connection.
func AppendReject(dst []byte, err error) []byte {
	re, ok := err.(*RejectError)
	if !ok {
		re = ErrMalformedRequest
	}
	return AppendResponse(dst, re.Status, re.Header, re.Reason)
}

// AppendResponse appends a complete plain-text HTTP response that closes
// the connection: the status line, "Connection: close", the content type,
// header (extra header lines, each ending in "\r\n", written as they are),
// the length, and body plus a newline.
func AppendResponse(dst []byte, status int, header, body string) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, http.StatusText(status)...)
	dst = append(dst, "\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"...)
	dst = append(dst, header...)
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)+1), 10)
	dst = append(dst, "\r\n\r\n"...)
	dst = append(dst, body...)
	return append(dst, '\n')
}

func validKey(key []byte) bool {
	if len(key) != 24 {
		return false
	}
	var raw [18]byte
	n, err := base64.StdEncoding.Decode(raw[:], key)
	return err == nil && n == 16
}

// hasToken reports whether the comma-separated list v holds token
// (case-insensitive), as Connection and Upgrade values are compared.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var t []byte
		t, v, _ = bytes.Cut(v, []byte{','})
		if equalFold(trimOWS(t), token) {
			return true
		}
	}
	return false
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// hasCRLFNUL reports whether b holds a CR, LF or NUL: a bare one, since
// lines are already split at CRLF.
func hasCRLFNUL(b []byte) bool { return bytes.ContainsAny(b, "\r\n\x00") }

// hasCTL reports whether b holds a control character other than HTAB
// (RFC 5234 CTL: %x00-1F / %x7F).
func hasCTL(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isToken reports whether b is an RFC 7230 token (tchar+).
func isToken(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || !tchar[c] {
			return false
		}
	}
	return true
}

var tchar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
