package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// rsaJWKS is a key set holding key under kid.
func rsaJWKS(t *testing.T, kid string, key *rsa.PublicKey) string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	b, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": kid, "alg": "RS256", "n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pemOf(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func signWith(t *testing.T, m jwt.SigningMethod, key any, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, jwt.MapClaims{"sub": "u", "exp": time.Now().Add(time.Hour).Unix()})
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rewrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReloadSecurityRotatesEveryFile(t *testing.T) {
	rsa1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsa2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec1, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret2 := strings.Repeat("s", 32)
	secretFile := writeFile(t, "secret", testSecret+"\n")
	pemFile := writeFile(t, "key.pem", pemOf(t, &ec1.PublicKey))
	jwksFile := writeFile(t, "jwks.json", rsaJWKS(t, "old", &rsa1.PublicKey))
	apiKeyFile := writeFile(t, "api-key", "key-1\n")
	cfg, opts, err := parse(t, []string{"--jwt-hmac-secret-file", secretFile, "--jwt-public-key", pemFile,
		"--jwt-jwks", jwksFile, "--api-key-file", apiKeyFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := configureSecurity(&cfg, &opts); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	oldTokens := map[string]string{
		"secret": hs256(t, testSecret, nil),
		"pem":    signWith(t, jwt.SigningMethodES256, ec1, ""),
		"jwks":   signWith(t, jwt.SigningMethodRS256, rsa1, "old"),
	}
	for name, tok := range oldTokens {
		if _, err := cfg.Auth.Verify(tok); err != nil {
			t.Fatalf("%s before reload: %v", name, err)
		}
	}
	verifier := cfg.Auth

	rewrite(t, secretFile, secret2+"\n")
	rewrite(t, pemFile, pemOf(t, &ec2.PublicKey))
	rewrite(t, jwksFile, rsaJWKS(t, "new", &rsa2.PublicKey))
	rewrite(t, apiKeyFile, "key-2\n")
	apiKey, err := reloadSecurity(&cfg, &opts, logger)
	if err != nil || apiKey != "key-2" {
		t.Fatalf("reload: key %q, err %v", apiKey, err)
	}
	if cfg.Auth != verifier {
		t.Fatal("reload replaced the verifier; the reactor holds the old pointer")
	}
	newTokens := map[string]string{
		"secret": hs256(t, secret2, nil),
		"pem":    signWith(t, jwt.SigningMethodES256, ec2, ""),
		"jwks":   signWith(t, jwt.SigningMethodRS256, rsa2, "new"),
	}
	for name, tok := range newTokens {
		if _, err := cfg.Auth.Verify(tok); err != nil {
			t.Errorf("new %s after reload: %v", name, err)
		}
	}
	for name, tok := range oldTokens {
		if _, err := cfg.Auth.Verify(tok); err == nil {
			t.Errorf("removed %s still verifies", name)
		}
	}

	// A broken file fails the whole reload: every key, and the API key,
	// stay as they were.
	for name, breakIt := range map[string]func(){
		"PEM garbage":        func() { rewrite(t, pemFile, "garbage") },
		"JWKS gone":          func() { _ = os.Remove(jwksFile) },
		"short secret":       func() { rewrite(t, secretFile, "short") },
		"empty secret":       func() { rewrite(t, secretFile, "\n") },
		"empty API key file": func() { rewrite(t, apiKeyFile, "") },
	} {
		t.Run(name, func(t *testing.T) {
			rewrite(t, secretFile, secret2)
			rewrite(t, pemFile, pemOf(t, &ec2.PublicKey))
			rewrite(t, jwksFile, rsaJWKS(t, "new", &rsa2.PublicKey))
			rewrite(t, apiKeyFile, "key-3")
			breakIt()
			apiKey, err := reloadSecurity(&cfg, &opts, logger)
			if err == nil || apiKey != "key-2" || opts.sec.apiKey != "key-2" {
				t.Fatalf("reload with a broken file: key %q, err %v", apiKey, err)
			}
			for name, tok := range newTokens {
				if _, err := cfg.Auth.Verify(tok); err != nil {
					t.Errorf("%s lost: %v", name, err)
				}
			}
		})
	}
}

func TestReloadSecurityWithoutAuth(t *testing.T) {
	apiKeyFile := writeFile(t, "api-key", "key-1")
	cfg, opts, err := parse(t, []string{"--api-key-file", apiKeyFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := configureSecurity(&cfg, &opts); err != nil {
		t.Fatal(err)
	}
	rewrite(t, apiKeyFile, "key-2\n")
	apiKey, err := reloadSecurity(&cfg, &opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || apiKey != "key-2" || cfg.Auth != nil || cfg.AuthRequired {
		t.Fatalf("key %q err %v auth %v required %v", apiKey, err, cfg.Auth, cfg.AuthRequired)
	}
}

func TestConfigureSecurityRefusesEmptyKeyFiles(t *testing.T) {
	empty := writeFile(t, "empty", "\n")
	for _, flag := range []string{"--jwt-hmac-secret-file", "--jwt-public-key", "--jwt-jwks", "--api-key-file"} {
		cfg, opts, err := parse(t, []string{flag, empty}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := configureSecurity(&cfg, &opts); err == nil || !strings.Contains(err.Error(), "is empty") {
			t.Errorf("%s naming an empty file: %v (auth %v)", flag, err, cfg.Auth != nil)
		}
	}
}
