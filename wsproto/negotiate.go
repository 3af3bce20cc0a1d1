package wsproto

import "iter"

// MaxExtensionItems bounds the work NegotiateDeflate does for one request:
// the extensions and parameters it examines, over every
// Sec-WebSocket-Extensions line together. A request offering more is
// answered without compression. Browsers send one extension with at most two
// parameters; the header block itself is bounded by Limits.MaxHeaderBytes.
const MaxExtensionItems = 32

// The two answers the server gives (RFC 7692 §7.1): it compresses every
// message on its own and keeps no inflate window between a client's
// messages, so both context-takeover parameters are always present
// (§7.1.1.1: "A server MAY include the "server_no_context_takeover" extension
// parameter in an extension negotiation response even if the extension
// negotiation offer being accepted by the extension negotiation response
// didn't include"; §7.1.1.2: "A server MAY include the
// "client_no_context_takeover" extension parameter in an extension
// negotiation response"). server_max_window_bits=15 is echoed only to an
// offer that carried it (§7.1.2.1: "A server accepts an extension
// negotiation offer with this parameter by including the
// "server_max_window_bits" extension parameter in the extension negotiation
// response ... with the same or smaller value as the offer").
var (
	deflateResponse         = []byte("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
	deflateResponseWindow15 = []byte("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15")
)

// deflateWindowBits is the LZ77 window the server compresses with: 32 KiB,
// DEFLATE's largest (RFC 1951 §2), the only window the pooled compressors
// have.
const deflateWindowBits = 15

// NegotiateDeflate reads the request's Sec-WebSocket-Extensions values (each
// header line's raw value, in order: Request.Values("Sec-WebSocket-Extensions");
// a line may hold several comma-separated extensions, each with
// ;-separated parameters, values possibly quoted) and returns the extension
// to put in the 101 response, or ok=false to decline (no
// Sec-WebSocket-Extensions in the response).
//
// It accepts the first permessage-deflate offer whose parameters are valid
// and that the server can honour. An invalid offer is skipped and the next
// one tried, as RFC 7692 §7 says: "A server MUST decline an extension
// negotiation offer for this extension if any of the following conditions
// are met: The negotiation offer contains an extension parameter not defined
// for use in an offer. The negotiation offer contains an extension parameter
// with an invalid value. The negotiation offer contains multiple extension
// parameters with the same name. The server doesn't support the offered
// configuration." Invalid values are a value on a no_context_takeover
// parameter, server_max_window_bits without a value, and a window size that
// is not a decimal 8..15 without leading zeroes, quoted or not (§7.1.2).
// Header syntax that is not RFC 6455 §9.1's extension-list, or more than
// MaxExtensionItems extensions and parameters, declines everything.
//
// Server policy: each message is compressed on its own, so a publication
// is compressed once and the same bytes go to every subscriber, and the
// server keeps no inflate window between a client's messages. The answer is
// therefore always "permessage-deflate; server_no_context_takeover;
// client_no_context_takeover" (§7.1.1), plus "; server_max_window_bits=15"
// when the accepted offer carried server_max_window_bits (§7.1.2.1 requires
// the echo). The server compresses with a 32 KiB window, so an offer with
// server_max_window_bits below 15 is one it cannot honour: honouring it would
// take a compressed copy per window size. client_max_window_bits, with or
// without a value, is accepted (the inflater reads any window) and never
// echoed: it is optional in the answer (§7.1.2.2: the server "MAY include"
// it), and leaving it out lets the client use any window.
//
// The response is one of two package-level byte slices, with no spare
// capacity: it must not be modified, and appending to it copies. No call
// allocates.
func NegotiateDeflate(values iter.Seq[[]byte]) (response []byte, ok bool) {
	items := 0
	for v := range values {
		for {
			v = skipOWS(v)
			if len(v) == 0 {
				break
			}
			if v[0] == ',' { // empty list elements are allowed (RFC 7230 §7)
				v = v[1:]
				continue
			}
			var name []byte
			if name, v = cutToken(v); len(name) == 0 {
				return nil, false
			}
			if items++; items > MaxExtensionItems {
				return nil, false
			}
			var o deflateOffer
			isDeflate := equalFold(name, "permessage-deflate")
			for {
				v = skipOWS(v)
				if len(v) == 0 || v[0] == ',' {
					break
				}
				p, rest, ok := cutParam(v)
				if !ok {
					return nil, false
				}
				if items++; items > MaxExtensionItems {
					return nil, false
				}
				v = rest
				if isDeflate {
					o.add(p)
				}
			}
			if isDeflate && response == nil && !o.invalid {
				response = o.response()
			}
		}
	}
	return response, response != nil
}

// extensionParam is one parameter of an offered extension: its name and
// its value as written (the inside of the quotes if quoted).
type extensionParam struct {
	name, value []byte
	hasValue    bool
	quoted      bool
}

// cutParam parses `;` OWS token [ OWS "=" OWS ( token / quoted-string ) ]
// at the start of v.
func cutParam(v []byte) (p extensionParam, rest []byte, ok bool) {
	if v[0] != ';' {
		return p, nil, false
	}
	if p.name, v = cutToken(skipOWS(v[1:])); len(p.name) == 0 {
		return p, nil, false
	}
	v = skipOWS(v)
	if len(v) == 0 || v[0] != '=' {
		return p, v, true
	}
	v = skipOWS(v[1:])
	p.hasValue = true
	if len(v) > 0 && v[0] == '"' {
		p.quoted = true
		p.value, v, ok = cutQuoted(v)
		return p, v, ok
	}
	p.value, v = cutToken(v)
	return p, v, len(p.value) > 0
}

// cutToken splits the longest RFC 7230 token off the start of v.
func cutToken(v []byte) (token, rest []byte) {
	i := 0
	for i < len(v) && v[i] < 0x80 && tchar[v[i]] {
		i++
	}
	return v[:i], v[i:]
}

// cutQuoted splits a quoted-string (RFC 7230 §3.2.6) off the start of v,
// which begins with '"', returning what is between the quotes, escapes
// included.
func cutQuoted(v []byte) (inner, rest []byte, ok bool) {
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			return v[1:i], v[i+1:], true
		case c == '\\':
			// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
			if i++; i == len(v) || !qdChar(v[i]) {
				return nil, nil, false
			}
		case !qdChar(c):
			return nil, nil, false
		}
	}
	return nil, nil, false // no closing quote
}

// qdChar reports whether c may appear in a quoted-string, escaped or not:
// HTAB, SP, VCHAR or obs-text.
func qdChar(c byte) bool { return c == '\t' || c >= 0x20 && c != 0x7f }

func skipOWS(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	return v
}

// deflateOffer is what one permessage-deflate offer asked for.
type deflateOffer struct {
	seen       uint8 // one bit per parameter name (the deflateParam* bits)
	serverBits bool  // server_max_window_bits was offered
	invalid    bool  // the offer is to be skipped
}

// The permessage-deflate parameters of RFC 7692 §7.1, as bits of
// deflateOffer.seen.
const (
	deflateParamServerNoContext uint8 = 1 << iota
	deflateParamClientNoContext
	deflateParamServerWindow
	deflateParamClientWindow
)

// add records one parameter of the offer, marking the offer invalid for
// anything §7 tells the server to decline.
func (o *deflateOffer) add(p extensionParam) {
	var bit uint8
	switch {
	case equalFold(p.name, "server_no_context_takeover"):
		bit = deflateParamServerNoContext
		// §7.1.1.1: "This extension parameter has no value."
		o.invalid = o.invalid || p.hasValue
	case equalFold(p.name, "client_no_context_takeover"):
		bit = deflateParamClientNoContext
		o.invalid = o.invalid || p.hasValue // §7.1.1.2, likewise
	case equalFold(p.name, "server_max_window_bits"):
		bit = deflateParamServerWindow
		// §7.1.2.1: "This parameter has a decimal integer value without
		// leading zeroes between 8 to 15, inclusive". A smaller window
		// than ours is valid but not one the server can honour.
		bits, valid := windowBits(p)
		o.invalid = o.invalid || !p.hasValue || !valid || bits < deflateWindowBits
		o.serverBits = true
	case equalFold(p.name, "client_max_window_bits"):
		bit = deflateParamClientWindow
		// §7.1.2.2: "This parameter has no value or a decimal integer value
		// without leading zeroes between 8 to 15 inclusive".
		_, valid := windowBits(p)
		o.invalid = o.invalid || p.hasValue && !valid
	default:
		o.invalid = true
		return
	}
	o.invalid = o.invalid || o.seen&bit != 0
	o.seen |= bit
}

// windowBits parses a max_window_bits value, quoted or not (§7: "When using
// the quoted-string syntax variant, the value after quoted-string unescaping
// MUST conform to the 'token' ABNF"), as 8..15 without leading zeroes.
func windowBits(p extensionParam) (bits int, ok bool) {
	digits := 0
	for i := 0; i < len(p.value); i++ {
		c := p.value[i]
		if p.quoted && c == '\\' {
			i++
			c = p.value[i] // cutQuoted guarantees a byte after '\'
		}
		if !isDigit(c) || digits == 0 && c == '0' || digits == 2 {
			return 0, false
		}
		bits = bits*10 + int(c-'0')
		digits++
	}
	return bits, digits > 0 && bits >= 8 && bits <= 15
}

// response is the answer to an accepted offer, capped so that appending to
// it copies rather than writing into the shared bytes.
func (o *deflateOffer) response() []byte {
	if o.serverBits {
		return deflateResponseWindow15[:len(deflateResponseWindow15):len(deflateResponseWindow15)]
	}
	return deflateResponse[:len(deflateResponse):len(deflateResponse)]
}
