package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestReloadSwapsKeys(t *testing.T) {
	rk, ek := keys(t)
	other := []byte(strings.Repeat("n", 32))
	v := verifier(t, Config{HMACSecret: secret, PublicKeyPEM: publicPEM(t, &rk.PublicKey)})
	oldHS := sign(t, jwt.SigningMethodHS256, secret, claims(), "")
	oldRS := sign(t, jwt.SigningMethodRS256, rk, claims(), "")
	held, err := v.Verify(oldHS)
	if err != nil {
		t.Fatal(err)
	}

	// A new secret, and an EC key instead of the RSA one.
	if err := v.Reload(Config{HMACSecret: other, PublicKeyPEM: publicPEM(t, &ek.PublicKey)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"new secret", sign(t, jwt.SigningMethodHS256, other, claims(), ""), nil},
		{"new EC key", sign(t, jwt.SigningMethodES256, ek, claims(), ""), nil},
		{"removed secret", oldHS, ErrSignature},
		{"removed RSA key", oldRS, ErrAlgorithm},
	} {
		if _, err := v.Verify(tc.token); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := v.Methods(); !slices.Equal(got, []string{"HS256", "ES256"}) {
		t.Errorf("methods after reload %v", got)
	}
	if held.Subject != "user-1" || len(held.Subscribe) != 2 {
		t.Errorf("claims held across the reload changed: %+v", held)
	}
}

func TestReloadFailureKeepsKeys(t *testing.T) {
	rk, _ := keys(t)
	base := Config{HMACSecret: secret, Leeway: 2, Audience: "a", Issuer: "i"}
	for name, cfg := range map[string]Config{
		"short secret":      {HMACSecret: []byte("short"), Leeway: 2, Audience: "a", Issuer: "i"},
		"bad PEM":           {HMACSecret: secret, PublicKeyPEM: []byte("-----BEGIN"), Leeway: 2, Audience: "a", Issuer: "i"},
		"bad JWKS":          {HMACSecret: secret, JWKS: []byte(`{"keys":[{"kty":"RSA"}]}`), Leeway: 2, Audience: "a", Issuer: "i"},
		"no key left":       {Leeway: 2, Audience: "a", Issuer: "i"},
		"leeway changes":    {HMACSecret: secret, PublicKeyPEM: publicPEM(t, &rk.PublicKey), Leeway: 3, Audience: "a", Issuer: "i"},
		"audience changes":  {HMACSecret: secret, PublicKeyPEM: publicPEM(t, &rk.PublicKey), Leeway: 2, Issuer: "i"},
		"issuer changes":    {HMACSecret: secret, PublicKeyPEM: publicPEM(t, &rk.PublicKey), Leeway: 2, Audience: "a", Issuer: "j"},
		"new key, bad JWKS": {HMACSecret: secret, PublicKeyPEM: publicPEM(t, &rk.PublicKey), JWKS: []byte("[]"), Leeway: 2, Audience: "a", Issuer: "i"},
	} {
		t.Run(name, func(t *testing.T) {
			v := verifier(t, base)
			c := claims()
			c["aud"], c["iss"] = "a", "i"
			tok := sign(t, jwt.SigningMethodHS256, secret, c, "")
			if err := v.Reload(cfg); err == nil {
				t.Fatal("Reload accepted it")
			}
			if _, err := v.Verify(tok); err != nil {
				t.Fatalf("old key lost: %v", err)
			}
			if got := v.Methods(); !slices.Equal(got, []string{"HS256"}) {
				t.Fatalf("methods %v", got)
			}
			if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, rk, c, "")); !errors.Is(err, ErrAlgorithm) {
				t.Fatalf("half-applied reload: RS256 gives %v", err)
			}
		})
	}
}

// TestReloadUnderLoad reloads between {k1} and {k1, k2} while other
// goroutines verify a k1 token: every check must pass, so no reader ever
// sees a key set without k1 (or a half-built one).
func TestReloadUnderLoad(t *testing.T) {
	rk, _ := keys(t)
	rk2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	one := Config{JWKS: jwksOf(t, map[string]any{"k1": &rk.PublicKey})}
	two := Config{JWKS: jwksOf(t, map[string]any{"k1": &rk.PublicKey, "k2": &rk2.PublicKey})}
	v := verifier(t, one)
	tok := sign(t, jwt.SigningMethodRS256, rk, claims(), "k1")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures sync.Map
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := v.Verify(tok); err != nil {
					failures.Store(err.Error(), true)
				}
			}
		}()
	}
	for i := range 200 {
		cfg := one
		if i%2 == 1 {
			cfg = two
		}
		if err := v.Reload(cfg); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	failures.Range(func(k, _ any) bool {
		t.Errorf("Verify during reloads: %v", k)
		return true
	})
}
