package bytesize

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1", 1},
		{"1048576", 1 << 20},
		{"1B", 1},
		{"1KB", 1000},
		{"1kB", 1000},
		{"1kb", 1000},
		{"1KiB", 1024},
		{"64KiB", 64 << 10},
		{"64kib", 64 << 10},
		{"32MiB", 32 << 20},
		{"32 MiB", 32 << 20},
		{" 32MiB ", 32 << 20},
		{"1.5GiB", 3 << 29},
		{"1.5KB", 1500},
		{".5KiB", 512},
		{"2.000MB", 2_000_000},
		{"1TB", 1e12},
		{"1TiB", 1 << 40},
		{"1PB", 1e15},
		{"1PiB", 1 << 50},
		{"1EB", 1e18},
		{"7EiB", 7 << 60},
		{"9223372036854775807", math.MaxInt64},
		{"9223372036854775807B", math.MaxInt64},
		{"0.000000000000000001EB", 1},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error  // nil: check the text instead
		text string // substring of the message
	}{
		{"", ErrSyntax, ""},
		{"MiB", ErrSyntax, ""},
		{"1.", ErrSyntax, ""},
		{"1.2.3", ErrSyntax, ""},
		{"+1", ErrSyntax, ""},
		{"1e6", ErrSyntax, ""},
		{"1_000", ErrSyntax, ""},
		{"1,000", ErrSyntax, ""},
		{"0x10", ErrSyntax, ""},
		{"1 2KiB", ErrSyntax, ""},
		{"-1", ErrNegative, ""},
		{"-1KiB", ErrNegative, ""},
		{"8EiB", ErrRange, ""},                // 2^63
		{"9223372036854775808", ErrRange, ""}, // 2^63
		{"9.3EB", ErrRange, ""},               // past 2^63
		{"99999999999999999999999EiB", ErrRange, ""},
		{"1.5B", ErrFraction, ""},
		{"0.1KiB", ErrFraction, ""},
		{"1M", nil, `"M" is ambiguous: write MB (powers of 1000) or MiB (powers of 1024)`},
		{"1k", nil, `"k" is ambiguous: write KB`},
		{"1Mb/s", nil, `unknown unit "Mb/s"`},
		{"1bytes", nil, `unknown unit "bytes"`},
		{"1 MiB of RAM", nil, ""},
	} {
		_, err := Parse(tc.in)
		switch {
		case err == nil:
			t.Errorf("Parse(%q) succeeded", tc.in)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("Parse(%q) = %v, want %v", tc.in, err, tc.want)
		case !strings.Contains(err.Error(), tc.text):
			t.Errorf("Parse(%q) = %v, want it to say %q", tc.in, err, tc.text)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{1, "1"},
		{-1, "-1"},
		{1000, "1KB"},
		{1024, "1KiB"},
		{1500, "1500"},
		{1536, "1536"},
		{8 << 10, "8KiB"},
		{64 << 10, "64KiB"},
		{256 << 10, "256KiB"},
		{1 << 20, "1MiB"},
		{8 << 20, "8MiB"},
		{3 << 29, "1536MiB"},
		{2_000_000, "2MB"},
		{1 << 60, "1EiB"},
		{math.MaxInt64, "9223372036854775807"},
	} {
		if got := Format(tc.in); got != tc.want {
			t.Errorf("Format(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParse: Parse never panics, never returns a negative count, and what
// Format writes Parse reads back.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "1", "32MiB", "1.5GiB", "64kib", "1KB", " 2 MB ", ".5KiB", "8EiB", "1.5B", "-1", "1M", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("Parse(%q) = %d", s, n)
		}
		back, err := Parse(Format(n))
		if err != nil || back != n {
			t.Fatalf("Parse(Format(%d)) = Parse(%q) = %d, %v", n, Format(n), back, err)
		}
	})
}
