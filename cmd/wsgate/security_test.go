package main

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/auth"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigureSecurity(t *testing.T) {
	secretFile := writeFile(t, "secret", testSecret+"\n")
	keyFile := writeFile(t, "api-key", "k3y\n")
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		auth     bool // a verifier is configured
		required bool
		apiKey   string
		err      string
	}{
		{name: "defaults: off"},
		{name: "secret flag: required", args: []string{"--jwt-hmac-secret", testSecret}, auth: true, required: true},
		{name: "secret env", env: map[string]string{"WSGATE_JWT_HMAC_SECRET": testSecret}, auth: true, required: true},
		{name: "secret file", args: []string{"--jwt-hmac-secret-file", secretFile}, auth: true, required: true},
		{name: "explicitly off with a key", args: []string{"--jwt-hmac-secret", testSecret, "--auth", "off"}, auth: true},
		{name: "required without key", args: []string{"--auth", "required"}, err: "needs"},
		{name: "secret and file", args: []string{"--jwt-hmac-secret", testSecret, "--jwt-hmac-secret-file", secretFile}, err: "both set"},
		{name: "short secret", args: []string{"--jwt-hmac-secret", "short"}, err: "at least 32"},
		{name: "missing key file", args: []string{"--jwt-public-key", "/nonexistent.pem"}, err: "--jwt-public-key"},
		{name: "bad public pattern", args: []string{"--public-channels", "news,a.>.b"}, err: "--public-channels"},
		{name: "api key file", args: []string{"--api-key-file", keyFile}, apiKey: "k3y"},
		{name: "api key env", env: map[string]string{"WSGATE_API_KEY": "e"}, apiKey: "e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, opts, err := parse(t, tc.args, tc.env)
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			err = configureSecurity(&cfg, &opts)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (cfg.Auth != nil) != tc.auth || cfg.AuthRequired != tc.required || opts.sec.apiKey != tc.apiKey {
				t.Fatalf("auth %v required %v api key %q; want %v %v %q", cfg.Auth != nil, cfg.AuthRequired, opts.sec.apiKey, tc.auth, tc.required, tc.apiKey)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestSecurityFlagsFromFile(t *testing.T) {
	file := writeConfig(t, `
allowed-origins = "https://*.example.com, https://app.example.org"
public-channels = "public.>"
max-msg-rate = 10
msg-burst = 20
max-byte-rate = 4096
handshake-rate-per-ip = 2.5
jwt-hmac-secret = "`+testSecret+`"
`)
	cfg, opts, err := parse(t, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := configureSecurity(&cfg, &opts); err != nil {
		t.Fatal(err)
	}
	if len(cfg.AllowedOrigins) != 2 || cfg.AllowedOrigins[1] != "https://app.example.org" ||
		len(cfg.PublicChannels) != 1 || cfg.MessageRate != 10 || cfg.MessageBurst != 20 ||
		cfg.ByteRate != 4096 || cfg.HandshakeRatePerIP != 2.5 || !cfg.AuthRequired {
		t.Fatalf("config %+v", cfg)
	}
}

func TestLogSecuritySaysAuthIsOff(t *testing.T) {
	cfg, opts, err := parse(t, []string{"--admin-listen", "0.0.0.0:8081"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := configureSecurity(&cfg, &opts); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	logSecurity(slog.New(slog.NewTextHandler(&buf, nil)), &cfg, &opts)
	for _, want := range []string{"level=WARN msg=\"AUTHENTICATION IS OFF", "admin API listens beyond localhost without --api-key"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
}

// hs256 signs claims for sub "u" expiring in an hour, plus extra.
func hs256(t *testing.T, secret string, extra jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"sub": "u", "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSecurityAudienceAndIssuerFlags(t *testing.T) {
	cfg, opts, err := parse(t, []string{"--jwt-hmac-secret", testSecret, "--jwt-audience", "chat", "--jwt-issuer", "https://idp.example/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := configureSecurity(&cfg, &opts); err != nil {
		t.Fatal(err)
	}
	good := jwt.MapClaims{"aud": "chat", "iss": "https://idp.example/"}
	if _, err := cfg.Auth.Verify(hs256(t, testSecret, good)); err != nil {
		t.Fatalf("fitting aud and iss: %v", err)
	}
	for name, claims := range map[string]jwt.MapClaims{
		"aud": {"aud": "billing", "iss": "https://idp.example/"},
		"iss": {"aud": "chat", "iss": "https://other.example/"},
	} {
		if _, err := cfg.Auth.Verify(hs256(t, testSecret, claims)); !errors.Is(err, auth.ErrClaims) || !strings.Contains(err.Error(), name) {
			t.Errorf("wrong %s: %v, want %v naming it", name, err, auth.ErrClaims)
		}
	}
}

func TestSecurityLeewayFlagBounded(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want time.Duration
		err  string
	}{
		{args: []string{"--jwt-leeway", "30s"}, want: 30 * time.Second},
		{args: []string{"--jwt-leeway", "5m"}, want: 5 * time.Minute},
		{args: []string{"--jwt-leeway", "5m1s"}, err: `"5m1s" for flag -jwt-leeway: want 0 to 5m`},
		{args: []string{"--jwt-leeway", "-1s"}, err: "want 0 to 5m"},
		{args: []string{"--jwt-leeway", "soon"}, err: "-jwt-leeway"},
		{env: map[string]string{"WSGATE_JWT_LEEWAY": "1h"}, err: "WSGATE_JWT_LEEWAY"},
	} {
		_, opts, err := parse(t, tc.args, tc.env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v %v: err %v, want %q", tc.args, tc.env, err, tc.err)
			}
			continue
		}
		if err != nil || opts.sec.jwtLeeway != tc.want {
			t.Errorf("%v: leeway %v err %v, want %v", tc.args, opts.sec.jwtLeeway, err, tc.want)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", 10 * time.Minute: "10m", time.Hour: "1h", 90 * time.Minute: "1h30m",
		5*time.Minute + time.Second: "5m1s", 30 * time.Second: "30s",
	} {
		if got := short(d); got != want {
			t.Errorf("short(%v) = %q, want %q", d, got, want)
		}
	}
}
