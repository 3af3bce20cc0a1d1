package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Extra handshake headers and subprotocols (Config.Headers,
// Config.Subprotocols, Config.PublishHeaders), so a node that wants a token
// can be loaded. Each header is a "Name: value" line, checked once when the
// Config is validated and written as it is into every upgrade request: a
// shard builds its lines once (handshakeLines), and the request costs no
// allocation more.

// Bounds on what a run adds to its requests.
const (
	// MaxExtraHeaderBytes bounds the extra lines of one request, each
	// counted with its CRLF: Config.Headers and the Sec-WebSocket-Protocol
	// line for an upgrade, Config.PublishHeaders for an admin API request.
	// wsgate reads a handshake of at most 8 KiB all told.
	MaxExtraHeaderBytes = 8 << 10
	// MaxTokenFileBytes bounds what ReadTokenFile reads.
	MaxTokenFileBytes = 16 << 10
)

// wsgate's subprotocol conventions (its auth package; bench never imports
// the server, so they are repeated here).
const (
	// ProtocolJSON is wsgate's JSON protocol, which it echoes when offered.
	ProtocolJSON = "wsgate.v1"
	// TokenProtocolPrefix starts the subprotocol entry that carries a token
	// for clients that cannot set headers (browsers); wsgate never echoes it.
	TokenProtocolPrefix = "wsgate.token."
)

// Handshake failures specific to subprotocols. RFC 6455 §4.1: "If the
// response includes a |Sec-WebSocket-Protocol| header field and this header
// field indicates the use of a subprotocol that was not present in the
// client's handshake (the server has indicated a subprotocol not requested
// by the client), the client MUST _Fail the WebSocket Connection_."
const (
	errUnofferedProtocol handshakeError = "handshake_unoffered_subprotocol"
	// The request offered subprotocols and the 101 chose none: the server
	// would speak something else than the run means to measure.
	errNoProtocol handshakeError = "handshake_no_subprotocol"
)

// Header names wsbench writes itself. An upgrade request's own fields
// cannot be replaced: the handshake would not be the one wsbench checks.
var (
	reservedUpgradeHeaders = map[string]string{
		"host":                     "it is the --url's host",
		"upgrade":                  "wsbench writes it",
		"connection":               "wsbench writes it",
		"sec-websocket-key":        "wsbench writes it",
		"sec-websocket-version":    "wsbench writes it",
		"sec-websocket-accept":     "it is the server's",
		"sec-websocket-extensions": "use --deflate",
		"sec-websocket-protocol":   "use --subprotocol",
		"content-length":           "an upgrade request has no body",
		"transfer-encoding":        "an upgrade request has no body",
	}
	reservedPublishHeaders = map[string]string{
		"host":              "it is the --publish-url's host",
		"connection":        "the HTTP client manages it",
		"content-length":    "the HTTP client writes it",
		"content-type":      "wsbench sends application/json",
		"transfer-encoding": "the HTTP client manages it",
	}
)

// ParseHeader reads a "Name: value" header. The name must be an RFC 9110
// token ("field-name = token", §5.1) with no space before the colon
// (RFC 9112 §5.1: "No whitespace is allowed between the field name and
// colon"); the value, trimmed of spaces and tabs, may hold visible
// characters, spaces, tabs and obs-text, never a control character: no CR
// or LF can end the line early and smuggle another field or request in
// (RFC 9110 §5.5).
func ParseHeader(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return "", "", fmt.Errorf("header %q: want Name: value", truncate(line))
	}
	if name == "" {
		return "", "", fmt.Errorf("header %q: empty name", truncate(line))
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return "", "", fmt.Errorf("header %q: name has %q, not allowed in a header name", truncate(line), name[i])
		}
	}
	value = strings.Trim(value, " \t")
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return "", "", fmt.Errorf("header %s: value has control character %q", name, c)
		}
	}
	return name, value, nil
}

// truncate shortens s for an error message: a header may hold a secret,
// and a long one would bury the message.
func truncate(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// isTokenChar: "tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
// "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA" (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validHeaders checks lines (Config.Headers or Config.PublishHeaders, named
// by flag for the message) against reserved and the size bound, with the
// bytes already taken by others.
func validHeaders(flag string, lines []string, reserved map[string]string, others int) []error {
	var errs []error
	size := others
	for _, l := range lines {
		name, _, err := ParseHeader(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", flag, err))
			continue
		}
		if why, ok := reserved[strings.ToLower(name)]; ok {
			errs = append(errs, fmt.Errorf("--%s %s: wsbench sets this header itself (%s)", flag, name, why))
		}
		size += len(l) + 2
	}
	if size > MaxExtraHeaderBytes {
		errs = append(errs, fmt.Errorf("--%s: %d bytes of extra header lines, at most %d", flag, size, MaxExtraHeaderBytes))
	}
	return errs
}

// validProtocols checks the offered subprotocols: "The elements that
// comprise this value MUST be non-empty strings with characters in the
// range U+0021 to U+007E not including separator characters as defined in
// [RFC2616] and MUST all be unique strings" (RFC 6455 §4.1).
func validProtocols(protocols []string) []error {
	var errs []error
	seen := make(map[string]bool, len(protocols))
	for _, p := range protocols {
		if p == "" {
			errs = append(errs, errors.New("--subprotocol: empty name"))
			continue
		}
		for i := 0; i < len(p); i++ {
			if !isTokenChar(p[i]) {
				errs = append(errs, fmt.Errorf("--subprotocol %q: %q is not allowed in a subprotocol name", truncate(p), p[i]))
				break
			}
		}
		if seen[p] {
			errs = append(errs, fmt.Errorf("--subprotocol %q: offered twice", truncate(p)))
		}
		seen[p] = true
	}
	return errs
}

// protocolLine is the Sec-WebSocket-Protocol line offering protocols, or ""
// for none.
func protocolLine(protocols []string) string {
	if len(protocols) == 0 {
		return ""
	}
	return "Sec-WebSocket-Protocol: " + strings.Join(protocols, ", ")
}

// handshakeLines are the lines an upgrade request carries beyond wsproto's
// own: the extra headers, the subprotocols offered and the deflate offer.
func handshakeLines(headers, protocols []string, deflate bool) []string {
	lines := append([]string(nil), headers...)
	if l := protocolLine(protocols); l != "" {
		lines = append(lines, l)
	}
	if deflate {
		lines = append(lines, deflateOffer)
	}
	return lines
}

// checkProtocol checks the server's Sec-WebSocket-Protocol (nil: none)
// against what the request offered. It does not allocate.
func checkProtocol(chosen []byte, offered []string) error {
	if len(chosen) == 0 {
		if len(offered) > 0 {
			return errNoProtocol
		}
		return nil
	}
	for _, p := range offered {
		if string(chosen) == p {
			return nil
		}
	}
	return errUnofferedProtocol
}

// ReadTokenFile reads a JWT from path (for --token-file): the file's one
// line, spaces and the newline trimmed. A JWT is base64url parts joined by
// dots (RFC 7519 §3), which is also what may travel in a header value and in
// a subprotocol name; anything else is refused rather than sent mangled.
func ReadTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxTokenFileBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > MaxTokenFileBytes {
		return "", fmt.Errorf("%s: more than %d bytes: want one JWT", path, MaxTokenFileBytes)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s: empty: want one JWT", path)
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("%s: byte %d is %q: a JWT holds base64url characters and dots only", path, i, c)
		}
	}
	return tok, nil
}

// redactProtocols is protocols for the report: a token entry's token is
// left out.
func redactProtocols(protocols []string) []string {
	var out []string
	for _, p := range protocols {
		if strings.HasPrefix(p, TokenProtocolPrefix) {
			p = TokenProtocolPrefix + "<redacted>"
		}
		out = append(out, p)
	}
	return out
}

// headerNames is the names of lines, for the report: values may be secrets.
func headerNames(lines []string) []string {
	var out []string
	for _, l := range lines {
		name, _, _ := strings.Cut(l, ":")
		out = append(out, name)
	}
	return out
}
