package wsproto

import (
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

func TestValidCloseCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code ws.StatusCode
		want bool
	}{
		{code: 0, want: false},
		{code: 999, want: false},
		{code: 1000, want: true},
		{code: 1001, want: true},
		{code: 1002, want: true},
		{code: 1003, want: true},
		{code: 1004, want: false}, // reserved
		{code: 1005, want: false}, // no status received: local only
		{code: 1006, want: false}, // abnormal closure: local only
		{code: 1007, want: true},
		{code: 1008, want: true},
		{code: 1009, want: true},
		{code: 1010, want: true},
		{code: 1011, want: true},
		{code: 1012, want: true},
		{code: 1013, want: true},
		{code: 1014, want: true},
		{code: 1015, want: false}, // TLS handshake failure: local only
		{code: 1016, want: false},
		{code: 2999, want: false},
		{code: 3000, want: true},
		{code: 4999, want: true},
		{code: 5000, want: false},
		{code: 65535, want: false},
	}
	for _, tc := range tests {
		if got := ValidCloseCode(tc.code); got != tc.want {
			t.Errorf("ValidCloseCode(%d) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

// TestValidCloseCodeEveryCode checks all 65536 codes against the ranges of
// RFC 6455 §7.4 written out independently.
func TestValidCloseCodeEveryCode(t *testing.T) {
	t.Parallel()
	valid := map[ws.StatusCode]bool{}
	for _, c := range []ws.StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014} {
		valid[c] = true
	}
	for c := 0; c <= 0xffff; c++ {
		code := ws.StatusCode(c)
		want := valid[code] || c >= 3000 && c <= 4999
		if got := ValidCloseCode(code); got != want {
			t.Fatalf("ValidCloseCode(%d) = %v, want %v", c, got, want)
		}
	}
}

func TestParseClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		payload    string
		wantCode   ws.StatusCode
		wantReason string
		wantErr    error
	}{
		{
			name:     "empty means no status",
			payload:  "",
			wantCode: ws.StatusNoStatusRcvd,
		},
		{
			name:    "one byte",
			payload: "\x03",
			wantErr: ErrCloseTooShort,
		},
		{
			name:     "code only",
			payload:  "\x03\xe8",
			wantCode: 1000,
		},
		{
			name:       "code and reason",
			payload:    "\x03\xe9going away",
			wantCode:   1001,
			wantReason: "going away",
		},
		{
			name:       "multibyte reason",
			payload:    "\x0f\xa0κόσμε",
			wantCode:   4000,
			wantReason: "κόσμε",
		},
		{
			name:       "123-byte reason",
			payload:    "\x0b\xb8" + strings.Repeat("r", 123),
			wantCode:   3000,
			wantReason: strings.Repeat("r", 123),
		},
		{
			name:       "code 1005 on the wire",
			payload:    "\x03\xed",
			wantCode:   1005,
			wantReason: "",
			wantErr:    ErrCloseCodeInvalid,
		},
		{
			name:       "code 0 with a reason",
			payload:    "\x00\x00why",
			wantCode:   0,
			wantReason: "why",
			wantErr:    ErrCloseCodeInvalid,
		},
		{
			name:       "invalid code wins over invalid reason",
			payload:    "\x13\x88\xff",
			wantCode:   5000,
			wantReason: "\xff",
			wantErr:    ErrCloseCodeInvalid,
		},
		{
			name:       "reason not UTF-8",
			payload:    "\x03\xe8\xc0\x80",
			wantCode:   1000,
			wantReason: "\xc0\x80",
			wantErr:    ErrCloseReasonUTF8,
		},
		{
			name:       "reason ends inside a code point",
			payload:    "\x03\xe8ok\xe2\x82",
			wantCode:   1000,
			wantReason: "ok\xe2\x82",
			wantErr:    ErrCloseReasonUTF8,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			payload := []byte(tc.payload)
			code, reason, err := ParseClose(payload)
			if code != tc.wantCode || string(reason) != tc.wantReason || err != tc.wantErr {
				t.Fatalf("ParseClose(%q) = %d, %q, %v; want %d, %q, %v",
					tc.payload, code, reason, err, tc.wantCode, tc.wantReason, tc.wantErr)
			}
			if len(reason) > 0 && &reason[0] != &payload[2] {
				t.Fatal("reason does not alias the payload")
			}
		})
	}
}
