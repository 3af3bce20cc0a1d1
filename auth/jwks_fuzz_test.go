package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"
)

// FuzzJWKS parses arbitrary documents as key sets, as a file or a URL
// would deliver them. Parsing never panics; it returns an error and no
// keys, or between 1 and MaxJWKSKeys keys that are all usable: each is a
// key checkKey accepts, crypto refuses a junk signature with it as a bad
// signature (not a bad key), re-encoding the set gives the same keys, and
// a Verifier accepts the document.
func FuzzJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		keys, err := parseJWKS(doc)
		if err != nil {
			if keys != nil {
				t.Fatalf("error %v with %d keys", err, len(keys))
			}
			return
		}
		if len(keys) == 0 || len(keys) > MaxJWKSKeys {
			t.Fatalf("%d keys without an error", len(keys))
		}
		digest := sha256.Sum256(doc)
		for kid, key := range keys {
			if _, err := checkKey(key); err != nil || methodFor(key) == "" {
				t.Fatalf("kid %q: unusable key %T: %v", kid, key, err)
			}
			switch k := key.(type) {
			case *rsa.PublicKey:
				junk := make([]byte, k.Size())
				if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], junk); !errors.Is(err, rsa.ErrVerification) {
					t.Fatalf("kid %q: RSA key crypto/rsa refuses: %v", kid, err)
				}
			case *ecdsa.PublicKey:
				if ecdsa.VerifyASN1(k, digest[:], []byte{0x30, 0}) {
					t.Fatalf("kid %q: junk signature verifies", kid)
				}
			}
		}
		again, err := parseJWKS(jwksOf(t, keys))
		if err != nil || len(again) != len(keys) {
			t.Fatalf("re-encoded set: %d keys, %v", len(again), err)
		}
		for kid, key := range keys {
			if k, ok := again[kid].(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(key) {
				t.Fatalf("kid %q changed on re-encoding", kid)
			}
		}
		if _, err := NewVerifier(Config{JWKS: doc}); err != nil {
			t.Fatalf("Verifier refuses a set parseJWKS accepts: %v", err)
		}
	})
}
