package main

import (
	"bytes"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/reactor"
)

// securityOptions are the authentication settings: keys for client
// tokens, public channels and the admin API key.
type securityOptions struct {
	authMode                 string // "", "off" or "required"
	jwtSecret, jwtSecretFile string
	jwtPublicKey             string        // file
	jwtJWKS                  string        // file or https:// URL
	jwtJWKSCA                string        // file
	jwtJWKSRefresh           time.Duration // for a URL; 0: auth.DefaultJWKSRefresh
	jwtLeeway                time.Duration
	jwtAudience, jwtIssuer   string
	publicChannels           []string
	apiKey, apiKeyFile       string
}

func (o *securityOptions) addFlags(fs *flag.FlagSet, cfg *reactor.Config) {
	fs.Func("auth", "authentication: off or required (default: required when a JWT key is configured, else off)", func(v string) error {
		if v != "off" && v != "required" {
			return fmt.Errorf("want off or required")
		}
		o.authMode = v
		return nil
	})
	fs.StringVar(&o.jwtSecret, "jwt-hmac-secret", "", "HS256 `secret` (32+ bytes) for client tokens; prefer WSGATE_JWT_HMAC_SECRET or --jwt-hmac-secret-file")
	fs.StringVar(&o.jwtSecretFile, "jwt-hmac-secret-file", "", "`file` holding the HS256 secret")
	fs.StringVar(&o.jwtPublicKey, "jwt-public-key", "", "PEM `file` with the RSA (RS256) or P-256 (ES256) public key for client tokens")
	fs.StringVar(&o.jwtJWKS, "jwt-jwks", "", "JWKS `source`, a file or an https:// URL, of RSA and P-256 public keys picked by the token's kid; "+
		"a URL is fetched at start (no keys: no start), refreshed (--jwt-jwks-refresh, or the server's max-age) and, when a token names an unknown kid, re-fetched at most once a minute")
	fs.StringVar(&o.jwtJWKSCA, "jwt-jwks-ca", "", "PEM `file` of CA certificates trusted for an https:// --jwt-jwks (default: the system's)")
	fs.Func("jwt-jwks-refresh", fmt.Sprintf("`interval` between fetches of an https:// --jwt-jwks when its server sends no Cache-Control max-age, %s to %s (default %s)",
		short(auth.MinJWKSRefresh), short(auth.MaxJWKSRefresh), short(auth.DefaultJWKSRefresh)), func(v string) error {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			return err
		case d < auth.MinJWKSRefresh || d > auth.MaxJWKSRefresh:
			return fmt.Errorf("want %s to %s", short(auth.MinJWKSRefresh), short(auth.MaxJWKSRefresh))
		}
		o.jwtJWKSRefresh = d
		return nil
	})
	fs.Func("jwt-leeway", fmt.Sprintf("clock skew tolerated on exp and nbf, a `duration` of at most %s (default 0)", short(auth.MaxLeeway)), func(v string) error {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			return err
		case d < 0 || d > auth.MaxLeeway:
			return fmt.Errorf("want 0 to %s", short(auth.MaxLeeway))
		}
		o.jwtLeeway = d
		return nil
	})
	fs.StringVar(&o.jwtAudience, "jwt-audience", "", "`audience` a token's \"aud\" must contain (unset: aud not checked); others get 401")
	fs.StringVar(&o.jwtIssuer, "jwt-issuer", "", "`issuer` a token's \"iss\" must equal (unset: iss not checked); others get 401")
	listVar(fs, &o.publicChannels, "public-channels", "comma-separated channel `patterns` anyone may read without a token (* one level, > the rest)")
	listVar(fs, &cfg.AllowedOrigins, "allowed-origins", "comma-separated browser `origins` allowed besides the server's own (https://*.example.com, * for any); others get 403")
	fs.StringVar(&o.apiKey, "api-key", "", "`key` required in X-API-Key to publish over the admin API; prefer WSGATE_API_KEY or --api-key-file")
	fs.StringVar(&o.apiKeyFile, "api-key-file", "", "`file` holding the admin API key")
}

// short writes a round duration the way a user types it: 5m, 1h.
func short(d time.Duration) string {
	s := d.String() // 1h0m0s, 10m0s
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// configureSecurity reads the key files named by the options, builds the
// token verifier and public channel patterns into cfg, and settles the
// admin API key. --auth defaults to required when a key is configured.
func configureSecurity(cfg *reactor.Config, opts *options) error {
	sec := &opts.sec
	ac, err := authConfig(sec)
	apiKey, apiErr := secretValue("api-key", sec.apiKey, sec.apiKeyFile)
	if err := errors.Join(err, apiErr); err != nil {
		return err
	}
	sec.apiKey = apiKey
	if ac.JWKSRootCAs, err = jwksRoots(sec); err != nil {
		return err
	}
	ac.JWKSRefresh, ac.Logger = sec.jwtJWKSRefresh, cfg.Logger
	hasKey := len(ac.HMACSecret) > 0 || len(ac.PublicKeyPEM) > 0 || len(ac.JWKS) > 0 || ac.JWKSURL != ""
	switch sec.authMode {
	case "required":
		if !hasKey {
			return errors.New("--auth required needs --jwt-hmac-secret(-file), --jwt-public-key or --jwt-jwks")
		}
		cfg.AuthRequired = true
	case "":
		cfg.AuthRequired = hasKey
	}
	if cfg.PublicChannels, err = auth.CompilePatterns(sec.publicChannels); err != nil {
		return fmt.Errorf("--public-channels: %w", err)
	}
	if hasKey {
		if cfg.Auth, err = auth.NewVerifier(ac); err != nil {
			return err
		}
	}
	return nil
}

// authConfig reads the token keys the options name into an auth.Config.
// Start-up and reloadSecurity read them the same way.
func authConfig(sec *securityOptions) (auth.Config, error) {
	var errs []error
	secret, err := secretValue("jwt-hmac-secret", sec.jwtSecret, sec.jwtSecretFile)
	errs = append(errs, err)
	ac := auth.Config{HMACSecret: []byte(secret), Leeway: sec.jwtLeeway, Audience: sec.jwtAudience, Issuer: sec.jwtIssuer}
	if sec.jwtPublicKey != "" {
		ac.PublicKeyPEM, err = readKeyFile("jwt-public-key", sec.jwtPublicKey)
		errs = append(errs, err)
	}
	switch {
	case strings.HasPrefix(sec.jwtJWKS, "https://"):
		ac.JWKSURL = sec.jwtJWKS
	case strings.Contains(sec.jwtJWKS, "://"):
		errs = append(errs, fmt.Errorf("--jwt-jwks %s: want a file or an https:// URL (keys fetched in clear could be forged on the way)", sec.jwtJWKS))
	case sec.jwtJWKS != "":
		ac.JWKS, err = readKeyFile("jwt-jwks", sec.jwtJWKS)
		errs = append(errs, err)
	}
	return ac, errors.Join(errs...)
}

// jwksRoots reads --jwt-jwks-ca, which only an https:// --jwt-jwks uses.
// It is read at start only.
func jwksRoots(sec *securityOptions) (*x509.CertPool, error) {
	if sec.jwtJWKSCA == "" {
		return nil, nil
	}
	if !strings.HasPrefix(sec.jwtJWKS, "https://") {
		return nil, errors.New("--jwt-jwks-ca needs an https:// --jwt-jwks")
	}
	b, err := readKeyFile("jwt-jwks-ca", sec.jwtJWKSCA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--jwt-jwks-ca: no PEM certificate in %s", sec.jwtJWKSCA)
	}
	return pool, nil
}

// closeSecurity stops what configureSecurity started: the goroutine that
// refreshes an https:// --jwt-jwks. main calls it at shutdown, after the
// engine has stopped (Verify keeps working after it, with the last keys).
func closeSecurity(cfg *reactor.Config) {
	cfg.Auth.Close() // nil-safe
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
	b, err := readKeyFile(name+"-file", file)
	return strings.TrimRight(string(b), "\r\n"), err
}

// readKeyFile reads the file named by --flag. An empty file is an error:
// read as "no key", it would silently turn authentication (or the admin
// API key) off.
func readKeyFile(flag, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("--%s: %s is empty", flag, path)
	}
	return b, nil
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
			"public_channels", len(cfg.PublicChannels), "jwks", opts.sec.jwtJWKS)
	}
	if opts.sec.apiKey == "" {
		host, _, _ := net.SplitHostPort(opts.adminListen)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			logger.Warn("the admin API listens beyond localhost without --api-key: anyone who reaches it can publish",
				"addr", opts.adminListen)
		}
	}
}
