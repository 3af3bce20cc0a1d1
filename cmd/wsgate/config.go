package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/wsgate/wsgate/reactor"
)

// options are the settings of the command itself rather than the reactor.
type options struct {
	adminListen   string
	adminMaxConns int
	nodeID        string
	logFormat     string
	logLevel      string

	nats natsOptions     // relay.go
	hist historyOptions  // history.go
	sec  securityOptions // security.go
	prof profileOptions  // profile.go
	edge edgeOptions     // edge.go
	hook hookOptions     // hooks.go
	pres presenceOptions // presence.go
}

// parseConfig fills the reactor's Config and the command's options from, in
// order of precedence, the command line, WSGATE_* environment variables, the
// --config TOML file, and the defaults.
func parseConfig(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (reactor.Config, options, error) {
	cfg, opts := reactor.Config{}, options{}
	fs := newFlagSet(&cfg, &opts, stderr)
	configFile := fs.String("config", "", "TOML `file` with settings named like the flags (e.g. max-conns = 50000); also WSGATE_CONFIG")
	if err := fs.Parse(args); err != nil {
		return cfg, opts, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return cfg, opts, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "config" {
			return
		}
		if v, ok := lookupEnv(envName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(f.Name), err))
			}
			set[f.Name] = true
		}
	})
	if v, ok := lookupEnv(envName("config")); ok && !set["config"] {
		*configFile = v
	}
	if *configFile != "" {
		errs = append(errs, applyFile(fs, *configFile, set, &opts))
	}
	cfg.SlowPolicyFor = opts.hist.slowPolicyFor()
	return cfg, opts, errors.Join(errs...)
}

// envName is the environment variable for a flag: WSGATE_MAX_CONNS for
// --max-conns.
func envName(flagName string) string {
	return "WSGATE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyFile sets, from the --config TOML file, every setting that was
// not set on the command line or in the environment.
//
// The file is flat: each top-level key is a flag's name, and its value has
// the flag's type (setFromFile): a string, an integer, a number, a
// boolean, a duration as a string ("10s"), a size as a string with a unit
// ("32MiB") or an integer of bytes, a list as an array of strings (or one
// comma-separated string, as on the command line). Tables ([name]) are
// kept for structured settings that have no flag form: [[namespace]]
// (namespaces.go), decoded from its toml.Primitive into a typed struct.
// Any other table is an error. So is an unknown key, so a typo does not
// silently leave a default in force. Every problem is reported, in the
// file's order.
func applyFile(fs *flag.FlagSet, path string, set map[string]bool, opts *options) error {
	var top map[string]toml.Primitive
	md, err := toml.DecodeFile(path, &top)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var errs []error
	for _, key := range topLevelKeys(md) {
		if key == namespaceTable {
			if err := applyNamespaces(&md, top[key], &opts.hist); err != nil {
				errs = append(errs, fmt.Errorf("config file %s: %w", path, err))
			}
			continue
		}
		if err := applySetting(fs, &md, key, top[key], set); err != nil {
			errs = append(errs, fmt.Errorf("config file %s: %w", path, err))
		}
	}
	return errors.Join(errs...)
}

// topLevelKeys lists the file's top-level keys in the order they appear.
func topLevelKeys(md toml.MetaData) []string {
	var keys []string
	seen := map[string]bool{}
	for _, k := range md.Keys() {
		if len(k) > 0 && !seen[k[0]] {
			seen[k[0]] = true
			keys = append(keys, k[0])
		}
	}
	return keys
}

// applySetting applies one top-level key of the file.
func applySetting(fs *flag.FlagSet, md *toml.MetaData, key string, prim toml.Primitive, set map[string]bool) error {
	var v any
	if err := md.PrimitiveDecode(prim, &v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	switch v.(type) {
	case map[string]any, []map[string]any:
		return fmt.Errorf("[%s]: unknown table: settings are top-level keys named like the flags, written before any [table] line", key)
	}
	f := fs.Lookup(key)
	if f == nil || key == "config" {
		return fmt.Errorf("unknown setting %q", key)
	}
	if set[key] {
		return nil
	}
	if err := setFromFile(f, v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// fileSetter is a flag.Value that takes a value decoded from the TOML
// file itself, because it accepts more than one TOML type: a list (an
// array or a string) or a size (a string or an integer).
type fileSetter interface {
	setFile(v any) error
}

// setFromFile sets flag f from a value decoded from the TOML file,
// checking that its TOML type is the flag's (fileKindOf): an integer for
// an int flag, a boolean for a bool flag, a string for a duration or
// string flag, and so on. A wrong type is an error saying which type the
// setting wants.
func setFromFile(f *flag.Flag, v any) error {
	if fv, ok := f.Value.(fileSetter); ok {
		return fv.setFile(v)
	}
	kind := fileKindOf(f.Value)
	var text string
	ok := false
	switch x := v.(type) {
	case string:
		text, ok = x, kind == kindString || kind == kindDuration
	case int64:
		text, ok = strconv.FormatInt(x, 10), kind == kindInt || kind == kindFloat
	case float64:
		text, ok = strconv.FormatFloat(x, 'g', -1, 64), kind == kindFloat
	case bool:
		text, ok = strconv.FormatBool(x), kind == kindBool
	}
	if !ok {
		hint := ""
		if _, isString := v.(string); isString && (kind == kindInt || kind == kindFloat) {
			if _, err := strconv.ParseFloat(text, 64); err == nil {
				hint = " (drop the quotes)"
			}
		}
		return fmt.Errorf("want %s, got %s%s", kind, tomlType(v), hint)
	}
	return f.Value.Set(text)
}

// fileKind is the TOML type a flag takes in the file.
type fileKind int

const (
	kindString   fileKind = iota // strings, and fs.Func settings (choices, some durations)
	kindDuration                 // a Go duration, as a string
	kindInt
	kindFloat // an integer or a float
	kindBool
)

func (k fileKind) String() string {
	return [...]string{"a string", `a duration string such as "10s"`, "an integer", "a number", "true or false"}[k]
}

// fileKindOf finds the kind of a flag's value: bool flags say so, and the
// standard library's values (and defaultValue) report their Go type
// through flag.Getter.
func fileKindOf(fv flag.Value) fileKind {
	if b, ok := fv.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return kindBool
	}
	if g, ok := fv.(flag.Getter); ok {
		switch g.Get().(type) {
		case time.Duration:
			return kindDuration
		case int, int64, uint, uint64:
			return kindInt
		case float64:
			return kindFloat
		}
	}
	return kindString
}

// tomlType names the TOML type of a decoded value, for error messages.
// It never shows the value, which may be a secret.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	}
	return "a date or time" // time.Time, toml.LocalDate, LocalTime, LocalDatetime
}
