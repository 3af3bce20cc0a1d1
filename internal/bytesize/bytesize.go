// Package bytesize parses and writes byte counts for configuration:
// "32MiB", "1.5GiB", "64KiB", "1KB", or a plain number of bytes.
//
// Units follow IEC 80000-13, the convention of the Linux kernel's
// documentation, Kubernetes quantities and go-humanize: a unit with an i
// is a power of 1024 (KiB = 1024, MiB = 1024², GiB, TiB, PiB, EiB), one
// without is a power of 1000 (KB = 1000, MB = 1000², GB, TB, PB, EB). B is
// a byte. Units are matched regardless of case (kib, KIB, kB), and a bare
// K, M, G, ... is refused as ambiguous rather than guessed.
package bytesize

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Units, in bytes.
const (
	B   int64 = 1
	KB  int64 = 1000
	MB        = 1000 * KB
	GB        = 1000 * MB
	TB        = 1000 * GB
	PB        = 1000 * TB
	EB        = 1000 * PB
	KiB int64 = 1 << 10
	MiB       = 1 << 20
	GiB       = 1 << 30
	TiB       = 1 << 40
	PiB       = 1 << 50
	EiB       = 1 << 60
)

// unit is a suffix and its size; units lists them largest first within
// each family, binary before decimal, the order Format tries them in.
type unit struct {
	name string
	size int64
}

var units = []unit{
	{"EiB", EiB}, {"PiB", PiB}, {"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB},
	{"EB", EB}, {"PB", PB}, {"TB", TB}, {"GB", GB}, {"MB", MB}, {"KB", KB},
	{"B", B},
}

// unitList names the units for error messages.
const unitList = "B, KB, MB, GB, TB, PB, EB (powers of 1000) or KiB, MiB, GiB, TiB, PiB, EiB (powers of 1024)"

// Errors of Parse. A unit Parse does not know is an error of its own,
// naming the unit.
var (
	ErrSyntax   = errors.New("want a number of bytes and an optional unit: " + unitList)
	ErrNegative = errors.New("must not be negative")
	ErrRange    = errors.New("too large: at most 8EiB less one byte")
	ErrFraction = errors.New("not a whole number of bytes")
)

// Parse reads a byte count: a decimal number, with an optional fraction,
// then optionally spaces and a unit. A number without a unit is bytes.
// A result that is not a whole number of bytes ("1.5B", "0.1KiB") is an
// error, as is a negative count or one past math.MaxInt64.
func Parse(s string) (int64, error) {
	s = strings.TrimSpace(s)
	end := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789.+-", r) })
	if end < 0 {
		end = len(s)
	}
	num, suffix := s[:end], strings.TrimSpace(s[end:])
	if strings.HasPrefix(num, "-") {
		return 0, ErrNegative
	}
	mantissa, scale, ok := decimal(num)
	if !ok || strings.ContainsAny(suffix, "0123456789") {
		return 0, ErrSyntax
	}
	size := B
	if suffix != "" {
		u, err := lookup(suffix)
		if err != nil {
			return 0, err
		}
		size = u
	}
	// mantissa × size / 10^scale, exactly.
	n := new(big.Int).Mul(mantissa, big.NewInt(size))
	div := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	q, r := new(big.Int).QuoRem(n, div, new(big.Int))
	if r.Sign() != 0 {
		return 0, ErrFraction
	}
	if !q.IsInt64() {
		return 0, ErrRange
	}
	return q.Int64(), nil
}

// decimal splits "12.50" into 1250 and a scale of 2. It takes digits with
// at most one point and at least one digit; no sign, exponent or
// separators.
func decimal(s string) (mantissa *big.Int, scale int, ok bool) {
	whole, frac, dot := strings.Cut(s, ".")
	digits := whole + frac
	if digits == "" || (dot && frac == "") {
		return nil, 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil, 0, false
		}
	}
	m, ok := new(big.Int).SetString(digits, 10)
	return m, len(frac), ok
}

// lookup finds a unit regardless of case.
func lookup(suffix string) (int64, error) {
	for _, u := range units {
		if strings.EqualFold(suffix, u.name) {
			return u.size, nil
		}
	}
	switch strings.ToUpper(suffix) {
	case "K", "M", "G", "T", "P", "E":
		p := strings.ToUpper(suffix)
		return 0, fmt.Errorf("unit %q is ambiguous: write %sB (powers of 1000) or %siB (powers of 1024)", suffix, p, p)
	}
	return 0, fmt.Errorf("unknown unit %q: want %s", suffix, unitList)
}

// Format writes n with the largest unit that divides it exactly, binary
// units first: 8MiB, 64KiB, 1KB, 1500. Parse(Format(n)) == n for every
// n ≥ 0; a negative n is written as a plain number.
func Format(n int64) string {
	if n > 0 {
		for _, u := range units[:len(units)-1] {
			if n%u.size == 0 {
				return strconv.FormatInt(n/u.size, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(n, 10)
}
