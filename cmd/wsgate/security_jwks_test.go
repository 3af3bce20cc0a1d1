package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// jwksServer serves a key set over HTTPS with httptest's certificate,
// written to a PEM file for --jwt-jwks-ca.
func jwksServer(t *testing.T, doc string) (srv *httptest.Server, caFile string, requests *atomic.Int64) {
	t.Helper()
	requests = new(atomic.Int64)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = io.WriteString(w, doc)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	return srv, caFile, requests
}

func TestConfigureSecurityJWKSURL(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv, caFile, requests := jwksServer(t, rsaJWKS(t, "k1", &key.PublicKey))
	cfg, opts, err := parse(t, []string{"--jwt-jwks", srv.URL, "--jwt-jwks-ca", caFile, "--jwt-jwks-refresh", "2m"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := configureSecurity(&cfg, &opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeSecurity(&cfg) })
	if !cfg.AuthRequired || requests.Load() != 1 {
		t.Fatalf("required %v, %d requests", cfg.AuthRequired, requests.Load())
	}
	if _, err := cfg.Auth.Verify(signWith(t, jwt.SigningMethodRS256, key, "k1")); err != nil {
		t.Fatal(err)
	}
	if _, err := reloadSecurity(&cfg, &opts, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("reload with a URL: %v", err)
	}
	if _, err := cfg.Auth.Verify(signWith(t, jwt.SigningMethodRS256, key, "k1")); err != nil {
		t.Fatalf("after reload: %v", err)
	}
}

func TestConfigureSecurityJWKSURLRefused(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv, caFile, _ := jwksServer(t, rsaJWKS(t, "k1", &key.PublicKey))
	notCA := writeFile(t, "not-ca.pem", "hello")
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"plain http", []string{"--jwt-jwks", "http://" + srv.Listener.Addr().String()}, "want a file or an https:// URL"},
		{"other scheme", []string{"--jwt-jwks", "ftp://example.com/jwks"}, "want a file or an https:// URL"},
		{"CA without URL", []string{"--jwt-hmac-secret", testSecret, "--jwt-jwks-ca", caFile}, "--jwt-jwks-ca needs an https://"},
		{"CA file missing", []string{"--jwt-jwks", srv.URL, "--jwt-jwks-ca", "/nonexistent.pem"}, "--jwt-jwks-ca"},
		{"CA file without a certificate", []string{"--jwt-jwks", srv.URL, "--jwt-jwks-ca", notCA}, "no PEM certificate"},
		{"server not trusted", []string{"--jwt-jwks", srv.URL}, "certificate"},
		{"nobody there", []string{"--jwt-jwks", "https://127.0.0.1:1/jwks", "--jwt-jwks-ca", caFile}, "JWKS from https://127.0.0.1:1/jwks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, opts, err := parse(t, tc.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = configureSecurity(&cfg, &opts)
			closeSecurity(&cfg)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
	for _, v := range []string{"59s", "61m", "soon"} {
		if _, _, err := parse(t, []string{"--jwt-jwks-refresh", v}, nil); err == nil || !strings.Contains(err.Error(), "-jwt-jwks-refresh") {
			t.Errorf("--jwt-jwks-refresh %s: %v", v, err)
		}
	}
}
