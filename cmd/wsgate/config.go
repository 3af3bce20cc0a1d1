package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

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
	sec  securityOptions // security.go
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
		errs = append(errs, applyFile(fs, *configFile, set))
	}
	return cfg, opts, errors.Join(errs...)
}

// envName is the environment variable for a flag: WSGATE_MAX_CONNS for
// --max-conns.
func envName(flagName string) string {
	return "WSGATE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyFile sets every flag named in a flat TOML file that was not set on
// the command line or in the environment. Unknown keys are an error, so a
// typo does not silently leave a default in force.
func applyFile(fs *flag.FlagSet, path string, set map[string]bool) error {
	var values map[string]any
	if _, err := toml.DecodeFile(path, &values); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var errs []error
	for key, v := range values {
		f := fs.Lookup(key)
		if f == nil || key == "config" {
			errs = append(errs, fmt.Errorf("config file %s: unknown setting %q", path, key))
			continue
		}
		if set[key] {
			continue
		}
		if err := fs.Set(key, fmt.Sprint(v)); err != nil {
			errs = append(errs, fmt.Errorf("config file %s: %s: %w", path, key, err))
		}
	}
	return errors.Join(errs...)
}
