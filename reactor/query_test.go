package reactor

import (
	"errors"
	"slices"
	"testing"
)

var handshakeQueries = []string{
	"",
	"channels=a",
	"channels=a,b.c,chat.room.42",
	"channels=a&channels=b",
	"token=x&channels=news,,other,&v=1",
	"channels=",
	"channels",
	"=a&&&channels=x",
	"channels=a%2Cb",       // escaped comma: two channels
	"channels=user%40host", // escaped @
	"channels=a+b",         // '+' is a space: invalid
	"channels=a;b",         // net/url refuses semicolons
	"channels=%zz",         // bad escape
	"channels=a b",
	"channels=a..b",
	"channels=*",
	"channels=a,b,c,d,e",
	"Channels=a",
	"channels=a=b",
}

// The in-place split and net/url agree on every query: the same channels
// in the same order, or the same error.
func FuzzHandshakeChannels(f *testing.F) {
	for _, q := range handshakeQueries {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got, gotErr := handshakeChannels([]byte(q), 4, nil)
		want, wantErr := escapedQueryChannels(q, nil)
		if wantErr == nil && len(want) > 4 {
			wantErr = errTooManyQueryChannels
		}
		if !errors.Is(gotErr, wantErr) {
			t.Fatalf("%q: error %v, net/url's %v", q, gotErr, wantErr)
		}
		if gotErr == nil && !slices.Equal(got, want) {
			t.Fatalf("%q: channels %q, net/url's %q", q, got, want)
		}
	})
}

func TestHandshakeChannels(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  []string
		err   error
	}{
		{"channels=a,b.c&token=x&channels=d", []string{"a", "b.c", "d"}, nil},
		{"channels=user%40host%2Cb", []string{"user@host", "b"}, nil},
		{"channels=a,b,c,d,e", nil, errTooManyQueryChannels},
		{"channels=a..b", nil, errBadQueryChannel},
		{"channels=a;b", nil, errBadQuery},
	} {
		got, err := handshakeChannels([]byte(tc.query), 4, nil)
		if !errors.Is(err, tc.err) || (err == nil && !slices.Equal(got, tc.want)) {
			t.Errorf("%q: %q, %v; want %q, %v", tc.query, got, err, tc.want, tc.err)
		}
	}
}

// Reading the channels of an unescaped query allocates nothing once the
// loop's scratch slice has grown.
func TestHandshakeChannelsAllocatesNothing(t *testing.T) {
	query := []byte("token=abc&channels=news,chat.room.42,user@host")
	scratch := make([]string, 0, 8)
	allocs := testing.AllocsPerRun(100, func() {
		got, err := handshakeChannels(query, 8, scratch[:0])
		if err != nil || len(got) != 3 {
			t.Fatalf("%q, %v", got, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per query, want 0", allocs)
	}
}
