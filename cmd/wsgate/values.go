package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/bytesize"
)

// The flag.Value types of settings that are not a plain string, int,
// bool or duration. Each parses the same text from the command line and
// the environment.

// sizeValue is a byte-count setting: 32MiB, 1.5GiB, 64KiB, 1KB or a plain
// number of bytes (units as in internal/bytesize: KiB = 1024, KB = 1000).
// --help shows it in the largest unit that divides it.
type sizeValue[T ~int | ~int64] struct {
	p *T
	// noLimit takes a negative plain number as given, for settings where
	// a negative value means "no limit" (--max-byte-rate -1).
	noLimit bool
}

// sizeVar declares a size flag with its default, like flag.IntVar.
func sizeVar[T ~int | ~int64](fs *flag.FlagSet, p *T, name string, def T, usage string) *sizeValue[T] {
	*p = def
	v := &sizeValue[T]{p: p}
	fs.Var(v, name, usage)
	return v
}

func (v *sizeValue[T]) String() string {
	if v == nil || v.p == nil {
		return "0" // the zero Value flag.PrintDefaults compares against
	}
	return bytesize.Format(int64(*v.p))
}

func (v *sizeValue[T]) Set(s string) error {
	if v.noLimit {
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && n < 0 {
			*v.p = T(max(n, -1)) // any negative means no limit; -1 fits every T
			return nil
		}
	}
	n, err := bytesize.Parse(s)
	if err != nil {
		return err
	}
	if int64(T(n)) != n {
		return fmt.Errorf("%w for this setting", bytesize.ErrRange)
	}
	*v.p = T(n)
	return nil
}

// setFile takes an integer (bytes) or a string (with or without a unit).
func (v *sizeValue[T]) setFile(x any) error {
	switch x := x.(type) {
	case int64:
		return v.Set(strconv.FormatInt(x, 10))
	case string:
		return v.Set(x)
	}
	return fmt.Errorf(`want a size, a string with a unit such as "32MiB" or an integer of bytes, got %s`, tomlType(x))
}

// listValue is a list setting: comma-separated on the command line and in
// the environment; in the file an array of strings, or one comma-separated
// string. Items are trimmed and empty ones dropped.
type listValue struct {
	p *[]string
	// accumulate appends each use of the flag to the list (--nats a
	// --nats b); otherwise the last use replaces it.
	accumulate bool
}

// listVar declares a list flag, empty by default.
func listVar(fs *flag.FlagSet, p *[]string, name, usage string) *listValue {
	v := &listValue{p: p}
	fs.Var(v, name, usage)
	return v
}

func (v *listValue) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}

func (v *listValue) Set(s string) error {
	v.set(splitList(s))
	return nil
}

func (v *listValue) set(items []string) {
	if v.accumulate {
		*v.p = append(*v.p, items...)
	} else {
		*v.p = items
	}
}

// setFile takes an array of strings, or a comma-separated string.
func (v *listValue) setFile(x any) error {
	switch x := x.(type) {
	case string:
		return v.Set(x)
	case []any:
		items := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("want an array of strings, got %s at index %d", tomlType(e), i)
			}
			if s = strings.TrimSpace(s); s == "" {
				return fmt.Errorf("empty string at index %d", i)
			}
			items = append(items, s)
		}
		v.set(items)
		return nil
	}
	return fmt.Errorf("want an array of strings, got %s", tomlType(x))
}

// splitList splits a comma-separated value, trimming and dropping empties.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// durationOrInt are the setting types orDefault handles.
type durationOrInt interface{ ~int | ~int64 }

// defaultValue is a flag.Value for a setting whose zero value means "the
// package's default": --help shows the default in force, while the Config
// keeps zero until the flag is set, so the default is applied in one place
// (the package's withDefaults).
type defaultValue[T durationOrInt] struct {
	p   *T
	def T
}

func orDefault[T durationOrInt](p *T, def T) *defaultValue[T] { return &defaultValue[T]{p, def} }

func (v *defaultValue[T]) String() string {
	if v == nil || v.p == nil {
		return "" // the zero Value flag.PrintDefaults compares against
	}
	n := *v.p
	if n == 0 {
		n = v.def
	}
	if d, ok := any(n).(time.Duration); ok {
		return d.String()
	}
	return strconv.FormatInt(int64(n), 10)
}

// Get returns the value as its Go type, which tells the config file
// whether the setting is an integer or a duration (fileKindOf).
func (v *defaultValue[T]) Get() any { return *v.p }

func (v *defaultValue[T]) Set(s string) error {
	var n int64
	var err error
	if _, ok := any(v.def).(time.Duration); ok {
		var d time.Duration
		d, err = time.ParseDuration(s)
		n = int64(d)
	} else {
		n, err = strconv.ParseInt(s, 10, 64)
	}
	if err != nil {
		return err
	}
	if n < 0 {
		return errors.New("must not be negative")
	}
	*v.p = T(n)
	return nil
}
