package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/reactor"
)

// configureSecurity reads the key files named by the options, builds the
// token verifier and public channel patterns into cfg, and settles the
// admin API key. --auth defaults to required when a key is configured.
func configureSecurity(cfg *reactor.Config, opts *options) error {
	var errs []error
	secret, err := secretValue("jwt-hmac-secret", opts.jwtSecret, opts.jwtSecretFile)
	errs = append(errs, err)
	if opts.apiKey, err = secretValue("api-key", opts.apiKey, opts.apiKeyFile); err != nil {
		errs = append(errs, err)
	}
	ac := auth.Config{HMACSecret: []byte(secret), Leeway: opts.jwtLeeway}
	if opts.jwtPublicKey != "" {
		if ac.PublicKeyPEM, err = os.ReadFile(opts.jwtPublicKey); err != nil {
			errs = append(errs, fmt.Errorf("--jwt-public-key: %w", err))
		}
	}
	if opts.jwtJWKS != "" {
		if ac.JWKS, err = os.ReadFile(opts.jwtJWKS); err != nil {
			errs = append(errs, fmt.Errorf("--jwt-jwks: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(ac.HMACSecret) > 0 || len(ac.PublicKeyPEM) > 0 || len(ac.JWKS) > 0 {
		if cfg.Auth, err = auth.NewVerifier(ac); err != nil {
			return err
		}
	}
	switch opts.authMode {
	case "required":
		if cfg.Auth == nil {
			return errors.New("--auth required needs --jwt-hmac-secret(-file), --jwt-public-key or --jwt-jwks")
		}
		cfg.AuthRequired = true
	case "":
		cfg.AuthRequired = cfg.Auth != nil
	}
	if cfg.PublicChannels, err = auth.CompilePatterns(opts.publicChannels); err != nil {
		return fmt.Errorf("--public-channels: %w", err)
	}
	return nil
}

// secretValue returns a secret given directly or in a file (trailing
// newline trimmed), refusing both at once.
func secretValue(name, value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("--%s and --%s-file are both set: give one", name, name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--%s-file: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// logSecurity says, loudly, what is open: authentication off, a public
// admin listener without a key.
func logSecurity(logger *slog.Logger, cfg *reactor.Config, opts *options) {
	if cfg.Auth == nil {
		logger.Warn("AUTHENTICATION IS OFF: any client may subscribe and publish on any channel. " +
			"Configure --jwt-hmac-secret-file, --jwt-public-key or --jwt-jwks before exposing this node")
	} else if !cfg.AuthRequired {
		logger.Warn("AUTHENTICATION IS OPTIONAL (--auth off): clients without a token may subscribe and publish on any channel")
	} else {
		logger.Info("authentication required", "algorithms", strings.Join(cfg.Auth.Methods(), ","),
			"public_channels", len(cfg.PublicChannels))
	}
	if opts.apiKey == "" {
		host, _, _ := net.SplitHostPort(opts.adminListen)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			logger.Warn("the admin API listens beyond localhost without --api-key: anyone who reaches it can publish",
				"addr", opts.adminListen)
		}
	}
}
