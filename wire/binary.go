package wire

import (
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"
)

// Binary data. A publication's "data" is one JSON value everywhere a
// publication travels (the relay, NATS, history, the admin API); a
// publication of bytes that are not JSON (from a Protobuf client,
// wireproto) travels as the JSON object
//
//	{"$binary":"<the bytes in standard base64, with padding>"}
//
// exactly so written: no space, the one key. JSON subscribers get that
// object as "data"; Protobuf subscribers get the bytes it carries. The form
// is recognised by its exact bytes (BinaryData), so any other JSON is
// passed through as it is, and a JSON publisher may write the object
// itself to send bytes to Protobuf subscribers.
const (
	binaryPrefix = `{"$binary":"`
	binarySuffix = `"}`
)

// AppendBinary appends b as binary data: {"$binary":"<base64>"}.
func AppendBinary(dst, b []byte) []byte {
	dst = append(dst, binaryPrefix...)
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, binarySuffix...)
}

// BinaryData reports whether data is binary data written exactly as
// AppendBinary writes it, and returns its base64 text and the length of
// the bytes it decodes to. When ok, base64.StdEncoding decodes b64 into
// exactly n bytes without error.
func BinaryData(data []byte) (b64 []byte, n int, ok bool) {
	if len(data) < len(binaryPrefix)+len(binarySuffix) ||
		string(data[:len(binaryPrefix)]) != binaryPrefix ||
		string(data[len(data)-len(binarySuffix):]) != binarySuffix {
		return nil, 0, false
	}
	b64 = data[len(binaryPrefix) : len(data)-len(binarySuffix)]
	if len(b64)%4 != 0 {
		return nil, 0, false
	}
	pad := 0
	for pad < 2 && pad < len(b64) && b64[len(b64)-1-pad] == '=' {
		pad++
	}
	for _, c := range b64[:len(b64)-pad] { // '=' anywhere else is refused here
		if c >= 0x80 || !base64Byte[c] {
			return nil, 0, false
		}
	}
	return b64, len(b64)/4*3 - pad, true
}

var base64Byte = func() (t [128]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = true
	}
	return t
}()

// PublishData returns the "data" a publication of raw bytes b travels as:
// b itself when it is one JSON value in UTF-8 (text frames must be UTF-8)
// and not already in binary form, else b as binary data (AppendBinary), so
// that every subscriber decoding binary data gets b back exactly. It
// returns a copy in either case.
func PublishData(b []byte) json.RawMessage {
	if _, _, binary := BinaryData(b); !binary && utf8.Valid(b) && json.Valid(b) {
		return append(json.RawMessage(nil), b...)
	}
	return AppendBinary(make([]byte, 0, len(binaryPrefix)+base64.StdEncoding.EncodedLen(len(b))+len(binarySuffix)), b)
}

// SplitMessage takes apart a message frame's body as AppendMessage or
// AppendMessageAt built it: its channel, offset and prev (0 without
// history) and data, each aliasing body. ok is false for any other body.
// It lets a second encoding of a publication be made from the frame the
// gateway already built, without keeping the publication's bytes twice.
func SplitMessage(body []byte) (channel []byte, offset, prev uint64, data []byte, ok bool) {
	const head = `{"type":"message","channel":"`
	if len(body) < len(head) || string(body[:len(head)]) != head || body[len(body)-1] != '}' {
		return nil, 0, 0, nil, false
	}
	rest := body[len(head):]
	end := 0
	for end < len(rest) && rest[end] != '"' {
		end++
	}
	if end == len(rest) {
		return nil, 0, 0, nil, false
	}
	channel, rest = rest[:end], rest[end+1:]
	if cut, found := cutPrefix(rest, `,"offset":`); found {
		var okO, okP bool
		if offset, rest, okO = cutUint(cut); !okO {
			return nil, 0, 0, nil, false
		}
		if cut, found = cutPrefix(rest, `,"prev":`); !found {
			return nil, 0, 0, nil, false
		}
		if prev, rest, okP = cutUint(cut); !okP {
			return nil, 0, 0, nil, false
		}
	}
	rest, found := cutPrefix(rest, `,"data":`)
	if !found {
		return nil, 0, 0, nil, false
	}
	return channel, offset, prev, rest[:len(rest)-1], true
}

func cutPrefix(b []byte, prefix string) ([]byte, bool) {
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return b, false
	}
	return b[len(prefix):], true
}

// cutUint parses the digits at the start of b.
func cutUint(b []byte) (n uint64, rest []byte, ok bool) {
	end := 0
	for end < len(b) && b[end] >= '0' && b[end] <= '9' {
		end++
	}
	n, ok = parseUint(b[:end])
	return n, b[end:], ok
}
