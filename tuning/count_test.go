package tuning

import "testing"

func TestParseCount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"50000", 50000}, {"1_000_000", 1_000_000}, {"1,000,000", 1_000_000},
		{"100k", 100_000}, {"1m", 1_000_000}, {"10M", 10_000_000}, {"2.5m", 2_500_000},
	} {
		if got, err := ParseCount(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseCount(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "-5", "lots", "1g", "1e30m"} {
		if _, err := ParseCount(bad); err == nil {
			t.Errorf("ParseCount(%q) accepted it", bad)
		}
	}
}

func TestFormatCount(t *testing.T) {
	for n, want := range map[int64]string{100_000: "100k", 1_000_000: "1m", 10_000_000: "10m", 2_500_000: "2500k", 1234: "1234"} {
		if got := FormatCount(n); got != want {
			t.Errorf("FormatCount(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Thousands(1234567); got != "1,234,567" {
		t.Errorf("Thousands = %q", got)
	}
}

func TestBytesIEC(t *testing.T) {
	for n, want := range map[int64]string{512: "512 B", 6144: "6.0 KiB", 6 << 30: "6.0 GiB"} {
		if got := BytesIEC(n); got != want {
			t.Errorf("BytesIEC(%d) = %q, want %q", n, got, want)
		}
	}
}
