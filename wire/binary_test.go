package wire_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/wsgate/wsgate/wire"
)

// PublishData keeps UTF-8 JSON as it is and wraps everything else, so that
// decoding binary data always gives the bytes back.
func TestPublishData(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"object", `{"a":1}`, `{"a":1}`},
		{"number", `42`, `42`},
		{"string, spaces kept", ` "x" `, ` "x" `},
		{"empty", ``, `{"$binary":""}`},
		{"not JSON", "\x00\x01\xff", `{"$binary":"AAH/"}`},
		{"JSON text, not UTF-8", "\"\xff\"", `{"$binary":"Iv8i"}`},
		{"two values", `1 2`, `{"$binary":"MSAy"}`},
		{"binary form itself", `{"$binary":"AAAA"}`, `{"$binary":"eyIkYmluYXJ5IjoiQUFBQSJ9"}`},
	} {
		got := wire.PublishData([]byte(tc.in))
		if string(got) != tc.want {
			t.Errorf("%s: PublishData(%q) = %s, want %s", tc.name, tc.in, got, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("%s: %s is not JSON", tc.name, got)
		}
		if b64, n, ok := wire.BinaryData(got); ok {
			dec, err := base64.StdEncoding.DecodeString(string(b64))
			if err != nil || len(dec) != n || string(dec) != tc.in {
				t.Errorf("%s: binary data decodes to %q (%v, n %d), want %q", tc.name, dec, err, n, tc.in)
			}
		} else if string(got) != tc.in {
			t.Errorf("%s: not binary data yet changed", tc.name)
		}
	}
}

// BinaryData recognises only the exact form AppendBinary writes.
func TestBinaryDataForm(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  int
		ok bool
	}{
		{`{"$binary":""}`, 0, true},
		{`{"$binary":"AA=="}`, 1, true},
		{`{"$binary":"AAA="}`, 2, true},
		{`{"$binary":"AAAA"}`, 3, true},
		{`{"$binary":"AAAAAA=="}`, 4, true},
		{`{"$binary":"A==="}`, 0, false},
		{`{"$binary":"===="}`, 0, false},
		{`{"$binary":"AA=A"}`, 0, false},
		{`{"$binary":"AAA"}`, 0, false},
		{`{"$binary":"AA-_"}`, 0, false}, // URL alphabet
		{`{"$binary": "AAAA"}`, 0, false},
		{`{ "$binary":"AAAA"}`, 0, false},
		{`{"$binary":"AAAA","x":1}`, 0, false},
		{`{"$binary":"AAAA"} `, 0, false},
		{`{"$binary":"AA\u003d\u003d"}`, 0, false},
		{`{"$binary":"}`, 0, false},
		{`"AAAA"`, 0, false},
	} {
		_, n, ok := wire.BinaryData([]byte(tc.in))
		if ok != tc.ok || n != tc.n {
			t.Errorf("BinaryData(%s) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
}

// FuzzBinaryData: what BinaryData accepts, base64 decodes without error to
// exactly the length it said, and re-encodes to the same form; PublishData
// of any bytes is JSON that gives them back.
func FuzzBinaryData(f *testing.F) {
	for _, seed := range []string{`{"$binary":"AA=="}`, `{"$binary":"A==="}`, `{"$binary":""}`, "\xff", `{"a":1}`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if b64, n, ok := wire.BinaryData(in); ok {
			dec, err := base64.StdEncoding.DecodeString(string(b64))
			if err != nil || len(dec) != n {
				t.Fatalf("BinaryData(%q) ok with n %d, but decoding gives %d bytes, %v", in, n, len(dec), err)
			}
		}
		data := wire.PublishData(in)
		if !json.Valid(data) {
			t.Fatalf("PublishData(%q) = %q: not JSON", in, data)
		}
		back := data
		if b64, _, ok := wire.BinaryData(data); ok {
			back, _ = base64.StdEncoding.DecodeString(string(b64))
		}
		if !bytes.Equal(back, in) {
			t.Fatalf("PublishData(%q) = %q gives back %q", in, data, back)
		}
	})
}

// SplitMessage takes apart every message frame AppendMessage and
// AppendMessageAt build, and nothing else.
func TestSplitMessage(t *testing.T) {
	for _, tc := range []struct {
		body         []byte
		channel      string
		offset, prev uint64
		data         string
	}{
		{wire.AppendMessage(nil, "news", []byte(`{"a":"\"}"}`)), "news", 0, 0, `{"a":"\"}"}`},
		{wire.AppendMessageAt(nil, "chat.room.42", 42, 41, []byte(`null`)), "chat.room.42", 42, 41, `null`},
		{wire.AppendMessageAt(nil, "a", 1<<64-1, 0, []byte(` 1 `)), "a", 1<<64 - 1, 0, ` 1 `},
		{wire.AppendMessage(nil, "b", wire.AppendBinary(nil, []byte{0, 1})), "b", 0, 0, `{"$binary":"AAE="}`},
	} {
		channel, offset, prev, data, ok := wire.SplitMessage(tc.body)
		if !ok || string(channel) != tc.channel || offset != tc.offset || prev != tc.prev || string(data) != tc.data {
			t.Errorf("SplitMessage(%s) = %q, %d, %d, %q, %v", tc.body, channel, offset, prev, data, ok)
		}
	}
	for _, body := range []string{
		``, `{}`, `{"type":"ack","id":1}`, `{"type":"message","channel":"a"`, `{"type":"message","channel":"a","data":1`,
		`{"type":"message","channel":"a","offset":1,"data":1}`, `{"type":"message","channel":"a","offset":x,"prev":1,"data":1}`,
		`{"type":"message","channel":"a","offset":99999999999999999999,"prev":1,"data":1}`,
	} {
		if _, _, _, _, ok := wire.SplitMessage([]byte(body)); ok {
			t.Errorf("SplitMessage(%s) ok", body)
		}
	}
}
