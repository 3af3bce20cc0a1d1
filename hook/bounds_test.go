package hook

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestCapHeadersKeepsHeadersThatFit(t *testing.T) {
	h := map[string][]string{"Cookie": {"a=b"}, "Origin": {"https://x"}, "Empty": nil}
	if got := capHeaders(h); !reflect.DeepEqual(got, h) {
		t.Errorf("capHeaders(%v) = %v", h, got)
	}
	if got := capHeaders(nil); got == nil || len(got) != 0 {
		t.Errorf("capHeaders(nil) = %#v, want an empty map", got)
	}
}

func TestCapHeadersNameBoundary(t *testing.T) {
	for _, n := range []int{0, 1, MaxHeaderNames - 1, MaxHeaderNames, MaxHeaderNames + 1, 1000} {
		h := map[string][]string{}
		for i := range n {
			h[fmt.Sprintf("X-%04d", i)] = []string{"v"}
		}
		got := capHeaders(h)
		if len(got) != min(n, MaxHeaderNames) {
			t.Errorf("%d names: %d kept, want %d", n, len(got), min(n, MaxHeaderNames))
		}
		for i := range min(n, MaxHeaderNames) { // the first names in sorted order
			if _, ok := got[fmt.Sprintf("X-%04d", i)]; !ok {
				t.Errorf("%d names: X-%04d dropped", n, i)
			}
		}
	}
}

func TestCapHeadersByteBoundary(t *testing.T) {
	// Cookie sorts before Origin; "Origin" and "o" cost 7 bytes.
	both := MaxHeaderBytes - len("Cookie") - len("Origin") - len("o")
	for _, tc := range []struct {
		cookie int
		kept   []string
	}{
		{both - 1, []string{"Cookie", "Origin"}},
		{both, []string{"Cookie", "Origin"}},
		{both + 1, []string{"Cookie"}}, // Origin's value no longer fits
		{MaxHeaderBytes - len("Cookie"), []string{"Cookie"}},
		{MaxHeaderBytes - len("Cookie") + 1, []string{"Origin"}}, // the cookie alone is too large
	} {
		h := map[string][]string{"Cookie": {strings.Repeat("c", tc.cookie)}, "Origin": {"o"}}
		got := slices.Sorted(maps.Keys(capHeaders(h)))
		if !slices.Equal(got, tc.kept) {
			t.Errorf("cookie of %d bytes: kept %v, want %v", tc.cookie, got, tc.kept)
		}
	}
}

func TestCapHeadersIsDeterministic(t *testing.T) {
	h := map[string][]string{}
	for i := range 300 {
		h[fmt.Sprintf("X-%d", i)] = []string{strings.Repeat("v", i)}
	}
	first := capHeaders(h)
	for range 20 {
		if got := capHeaders(h); !maps.EqualFunc(got, first, func(a, b []string) bool { return reflect.DeepEqual(a, b) }) {
			t.Fatal("capHeaders gave two results for the same headers")
		}
	}
}

func TestSanitizeReason(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"bad session", "bad session"},
		{"tab\there", "tab?here"},
		{"caf\u00e9", "caf?"},
		{"\xff\xfe", "??"},
		{strings.Repeat("a", MaxReasonBytes), strings.Repeat("a", MaxReasonBytes)},
		{strings.Repeat("a", MaxReasonBytes+1), strings.Repeat("a", MaxReasonBytes)},
		{strings.Repeat("\u00e9", 200), strings.Repeat("?", MaxReasonBytes)},
	} {
		if got := sanitizeReason(tc.in); got != tc.want {
			t.Errorf("sanitizeReason(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseConnectResultBounds(t *testing.T) {
	patterns := func(n, size int) string {
		p := make([]string, n)
		for i := range p {
			p[i] = `"` + strings.Repeat("a", size) + `"`
		}
		return "[" + strings.Join(p, ",") + "]"
	}
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"user at the bound", `{"allow":true,"user":"` + strings.Repeat("u", MaxUserBytes) + `"}`, true},
		{"user over the bound", `{"allow":true,"user":"` + strings.Repeat("u", MaxUserBytes+1) + `"}`, false},
		{"user with a control character", `{"allow":true,"user":"a\u0000b"}`, false},
		{"user null", `{"allow":true,"user":null}`, true},
		{"patterns at the count bound", `{"allow":true,"subscribe":` + patterns(MaxPatterns, 1) + `}`, true},
		{"patterns over the count bound", `{"allow":true,"subscribe":` + patterns(MaxPatterns+1, 1) + `}`, false},
		{"publish over the count bound", `{"allow":true,"publish":` + patterns(MaxPatterns+1, 1) + `}`, false},
		{"pattern at the size bound", `{"allow":true,"publish":` + patterns(1, MaxPatternBytes) + `}`, true},
		{"pattern over the size bound", `{"allow":true,"publish":` + patterns(1, MaxPatternBytes+1) + `}`, false},
		{"empty pattern", `{"allow":true,"subscribe":[""]}`, false},
		{"null pattern", `{"allow":true,"subscribe":[null]}`, false},
		{"patterns null", `{"allow":true,"subscribe":null}`, true},
		{"null body", `null`, false},
		{"trailing garbage", `{"allow":true} x`, false},
	} {
		r, err := parseConnectResult([]byte(tc.body))
		if tc.ok != (err == nil) {
			t.Errorf("%s: %+v, %v", tc.name, r, err)
		}
		if err != nil && (!errors.Is(err, ErrAnswer) || !reflect.DeepEqual(r, ConnectResult{})) {
			t.Errorf("%s: %+v, %v: want a zero result and ErrAnswer", tc.name, r, err)
		}
	}
}
