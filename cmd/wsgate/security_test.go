package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
