package wsproto

import (
	"bufio"
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
)

const (
	pmdBase = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	pmd15   = pmdBase + "; server_max_window_bits=15"
)

// lines yields each string as one header line's value.
func lines(values ...string) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for _, v := range values {
			if !yield([]byte(v)) {
				return
			}
		}
	}
}

func TestNegotiateDeflate(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("x-ext, ", MaxExtensionItems-1)
	tests := []struct {
		name  string
		lines []string
		want  string // "" declines
	}{
		{"chrome", []string{"permessage-deflate; client_max_window_bits"}, pmdBase},
		{"firefox", []string{"permessage-deflate"}, pmdBase},
		{"python websockets", []string{"permessage-deflate; client_max_window_bits"}, pmdBase},
		{"no header", nil, ""},
		{"empty value", []string{""}, ""},
		{"other extension only", []string{"x-webkit-deflate-frame"}, ""},
		{"after x-webkit-deflate-frame", []string{"x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"}, pmdBase},
		{"on a second line", []string{"x-webkit-deflate-frame", "permessage-deflate"}, pmdBase},
		{"both context takeovers offered", []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, pmdBase},
		{"server window 15", []string{"permessage-deflate; server_max_window_bits=15"}, pmd15},
		{"server window quoted", []string{`permessage-deflate; server_max_window_bits="15"`}, pmd15},
		{"server window quoted escape", []string{`permessage-deflate; server_max_window_bits="1\5"`}, pmd15},
		{"server window 10 only", []string{"permessage-deflate; server_max_window_bits=10"}, ""},
		{"server window 10 then fallback", []string{"permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate; client_max_window_bits"}, pmdBase},
		{"server window 10 then fallback line", []string{"permessage-deflate; server_max_window_bits=10", "permessage-deflate"}, pmdBase},
		{"fallback with window 15", []string{"permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=15"}, pmd15},
		{"server window without value", []string{"permessage-deflate; server_max_window_bits"}, ""},
		{"server window 16", []string{"permessage-deflate; server_max_window_bits=16"}, ""},
		{"server window 015", []string{"permessage-deflate; server_max_window_bits=015"}, ""},
		{"client window 8", []string{"permessage-deflate; client_max_window_bits=8"}, pmdBase},
		{"client window 15 quoted", []string{`permessage-deflate; client_max_window_bits="15"`}, pmdBase},
		{"client window 7", []string{"permessage-deflate; client_max_window_bits=7"}, ""},
		{"client window 16", []string{"permessage-deflate; client_max_window_bits=16"}, ""},
		{"client window 08", []string{"permessage-deflate; client_max_window_bits=08"}, ""},
		{"client window empty quotes", []string{`permessage-deflate; client_max_window_bits=""`}, ""},
		{"client window word", []string{"permessage-deflate; client_max_window_bits=ten"}, ""},
		{"client window 123", []string{"permessage-deflate; client_max_window_bits=123"}, ""},
		{"value on no context takeover", []string{"permessage-deflate; server_no_context_takeover=1"}, ""},
		{"value on client no context takeover", []string{`permessage-deflate; client_no_context_takeover=""`}, ""},
		{"duplicate parameter", []string{"permessage-deflate; client_max_window_bits; client_max_window_bits"}, ""},
		{"duplicate then fallback", []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate"}, pmdBase},
		{"unknown parameter", []string{"permessage-deflate; x-bits=3"}, ""},
		{"unknown parameter then fallback", []string{"permessage-deflate; x-bits=3", "permessage-deflate; client_max_window_bits"}, pmdBase},
		{"whitespace", []string{" \tpermessage-deflate \t;\tclient_max_window_bits = 15 ; server_max_window_bits= \"15\" \t, "}, pmd15},
		{"case", []string{"PerMessage-Deflate; Server_No_Context_Takeover; CLIENT_MAX_WINDOW_BITS"}, pmdBase},
		{"empty elements", []string{", ,permessage-deflate,,"}, pmdBase},
		{"quoted comma in another extension", []string{`x-foo; bar="a, b; c", permessage-deflate`}, pmdBase},
		{"quoted escaped quote", []string{`x-foo; bar="a\"b", permessage-deflate`}, pmdBase},
		{"first offer wins", []string{"permessage-deflate, permessage-deflate; server_max_window_bits=15"}, pmdBase},

		{"malformed: parameter without name", []string{"permessage-deflate; =15"}, ""},
		{"malformed: trailing semicolon", []string{"permessage-deflate;"}, ""},
		{"malformed: unterminated quote", []string{`permessage-deflate; client_max_window_bits="15`}, ""},
		{"malformed: two tokens", []string{"permessage-deflate x"}, ""},
		{"malformed: equals without value", []string{"permessage-deflate; client_max_window_bits="}, ""},
		{"malformed: after an accepted offer", []string{"permessage-deflate, @bad"}, ""},
		{"malformed: on a later line", []string{"permessage-deflate", "x; ;"}, ""},
		{"malformed: leading semicolon", []string{"; permessage-deflate"}, ""},
		{"malformed: control in quotes", []string{"x; a=\"\x01\", permessage-deflate"}, ""},

		{"at the item bound", []string{many + "permessage-deflate"}, pmdBase},
		{"over the item bound", []string{many + "x-one-more, permessage-deflate"}, ""},
		{"over the bound in parameters", []string{"permessage-deflate" + strings.Repeat("; x", MaxExtensionItems)}, ""},
	}
	for _, tc := range tests {
		got, ok := NegotiateDeflate(lines(tc.lines...))
		if ok != (tc.want != "") || string(got) != tc.want {
			t.Errorf("%s: %q: got %q, %v; want %q", tc.name, tc.lines, got, ok, tc.want)
		}
	}
}

// TestNegotiateDeflateResponseIsShared: the answer is one of two constant
// slices; appending to it must copy, never write into them.
func TestNegotiateDeflateResponseIsShared(t *testing.T) {
	got, _ := NegotiateDeflate(lines("permessage-deflate"))
	_ = append(got, "; x"...)
	again, _ := NegotiateDeflate(lines("permessage-deflate"))
	if &got[0] != &again[0] || cap(got) != len(got) || string(deflateResponse) != pmdBase {
		t.Fatalf("response not the shared constant, or modified: %q", deflateResponse)
	}
}

// TestNegotiateDeflateHandshake runs a browser's request through
// ParseRequest, NegotiateDeflate and AppendAcceptExtensions, and reads the
// 101 back with net/http.
func TestNegotiateDeflateHandshake(t *testing.T) {
	req := request("GET /ws HTTP/1.1", append(slices.Clone(baseHeaders),
		"Sec-WebSocket-Extensions: x-webkit-deflate-frame",
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")...)
	r, err := ParseRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	ext, ok := NegotiateDeflate(r.Values("Sec-WebSocket-Extensions"))
	if !ok {
		t.Fatal("declined")
	}
	raw := AppendAcceptExtensions(nil, r.Key, nil, ext)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Values("Sec-WebSocket-Extensions"); len(got) != 1 || got[0] != pmdBase {
		t.Fatalf("Sec-WebSocket-Extensions %q", got)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != string(AcceptKey(r.Key)) {
		t.Fatalf("response %q", raw)
	}
}

// TestNegotiateDeflateAllocs: negotiating over a parsed request's lines
// allocates nothing.
func TestNegotiateDeflateAllocs(t *testing.T) {
	req := request("GET /ws HTTP/1.1", append(slices.Clone(baseHeaders),
		`Sec-WebSocket-Extensions: x-foo; a="b, c", permessage-deflate; server_max_window_bits=10`,
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")...)
	r, err := ParseRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := NegotiateDeflate(r.Values("Sec-WebSocket-Extensions")); !ok {
			t.Fatal("declined")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations, want 0", allocs)
	}
}

// FuzzNegotiateDeflate: NegotiateDeflate never panics and answers only
// with one of its two constant responses, for data as one header line and
// cut into two at split; an answer with server_max_window_bits only to a
// request that offered it.
func FuzzNegotiateDeflate(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		k := int(split) % (len(data) + 1)
		for _, ls := range [][]string{{string(data)}, {string(data[:k]), string(data[k:])}} {
			resp, ok := NegotiateDeflate(lines(ls...))
			switch {
			case !ok && resp != nil:
				t.Fatalf("%q: declined with %q", ls, resp)
			case !ok:
				continue
			case len(resp) == 0 || cap(resp) != len(resp):
				t.Fatalf("%q: response %q with capacity %d", ls, resp, cap(resp))
			case &resp[0] != &deflateResponse[0] && &resp[0] != &deflateResponseWindow15[0]:
				t.Fatalf("%q: response %q is not a shared constant", ls, resp)
			case string(resp) != pmdBase && string(resp) != pmd15:
				t.Fatalf("%q: response %q", ls, resp)
			case string(resp) == pmd15 && !bytes.Contains(bytes.ToLower(data), []byte("server_max_window_bits")):
				t.Fatalf("%q: server_max_window_bits answered but not offered", ls)
			case !bytes.Contains(bytes.ToLower(data), []byte("permessage-deflate")):
				t.Fatalf("%q: accepted with no offer", ls)
			}
		}
	})
}
