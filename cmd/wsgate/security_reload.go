package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/reactor"
)

// reloadSecurity re-reads the files the security options name — the HMAC
// secret, the PEM public key, the JWKS file and the admin API key — and
// swaps the new token keys into cfg.Auth, without touching a connection.
// main calls it on SIGHUP, from one goroutine at a time.
//
// It returns the admin API key now in force, for the admin API to use
// from now on. On error nothing changed (the old keys and API key stay,
// and apiKey is the old key); the error says which file failed, for the
// caller to log.
//
// What a reload can change is file contents: keys of any kind, the secret,
// the API key. Flags (which files, --jwt-audience, --jwt-leeway...) are
// read once at start, and so is whether authentication is on: a node
// started without a key has no verifier to reload, and a key file
// emptied or broken is an error rather than "authentication off".
func reloadSecurity(cfg *reactor.Config, opts *options, logger *slog.Logger) (apiKey string, err error) {
	sec := &opts.sec
	newAPIKey := sec.apiKey // given directly, it cannot change
	var errs []error
	if sec.apiKeyFile != "" {
		b, err := readKeyFile("api-key-file", sec.apiKeyFile)
		newAPIKey = strings.TrimRight(string(b), "\r\n")
		errs = append(errs, err)
	}
	var ac auth.Config
	if cfg.Auth != nil {
		var err error
		ac, err = authConfig(sec)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return sec.apiKey, fmt.Errorf("reload: %w", err)
	}
	if cfg.Auth != nil {
		if err := cfg.Auth.Reload(ac); err != nil {
			return sec.apiKey, fmt.Errorf("reload: %w", err)
		}
	}
	changed := newAPIKey != sec.apiKey
	sec.apiKey = newAPIKey
	if cfg.Auth != nil {
		logger.Info("security reloaded", "algorithms", strings.Join(cfg.Auth.Methods(), ","), "api_key_changed", changed)
	} else {
		logger.Info("security reloaded (authentication off: no token keys)", "api_key_changed", changed)
	}
	return newAPIKey, nil
}
