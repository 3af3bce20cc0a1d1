package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// Bounds on a JSON Web Key Set, from a file or a URL alike. A key set is
// parsed off the event loops (at start, on reload, by the refresher), but
// a hostile or broken identity provider must still not make a node spend
// unbounded memory or time on one.
const (
	// MaxJWKSBytes bounds a key set document: 1 MiB. Real sets are a few
	// KiB (an RSA-2048 key is ~400 bytes of JSON).
	MaxJWKSBytes = 1 << 20
	// MaxJWKSKeys bounds the entries of its "keys" array, usable or not:
	// 100. Identity providers publish a handful (current, next, previous).
	MaxJWKSKeys = 100
)

// jwk is the subset of RFC 7517 that verification needs.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS reads the RSA and P-256 EC signing keys of a key set, keyed by
// kid. Keys for encryption ("use":"enc") are skipped; a key whose "alg"
// disagrees with its type, a duplicate kid, a set over MaxJWKSBytes or
// MaxJWKSKeys, or a set with no usable key is an error.
func parseJWKS(b []byte) (map[string]any, error) {
	if len(b) > MaxJWKSBytes {
		return nil, fmt.Errorf("auth: JWKS of %d bytes: %w", len(b), ErrJWKSTooLarge)
	}
	// Entries stay raw until counted, so a set of a million "{}" costs
	// their bytes, not a million decoded keys.
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("auth: JWKS: %w", err)
	}
	if len(set.Keys) > MaxJWKSKeys {
		return nil, fmt.Errorf("auth: JWKS of %d keys: %w", len(set.Keys), ErrJWKSTooManyKeys)
	}
	keys := make(map[string]any, len(set.Keys))
	for i, raw := range set.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("auth: JWKS key %d: %w", i, err)
		}
		if k.Use == "enc" {
			continue
		}
		key, err := k.publicKey()
		if err != nil {
			return nil, fmt.Errorf("auth: JWKS key %d (kid %q): %w", i, clip(k.Kid), err)
		}
		if k.Alg != "" && k.Alg != methodFor(key) {
			return nil, fmt.Errorf("auth: JWKS key %d (kid %q): alg %q does not fit a %s key", i, clip(k.Kid), clip(k.Alg), k.Kty)
		}
		if _, dup := keys[k.Kid]; dup {
			return nil, fmt.Errorf("auth: JWKS: kid %q appears twice", clip(k.Kid))
		}
		keys[k.Kid] = key
	}
	if len(keys) == 0 {
		return nil, errors.New("auth: JWKS holds no RSA or P-256 signing key")
	}
	return keys, nil
}

func (k *jwk) publicKey() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err1 := b64int(k.N)
		e, err2 := b64int(k.E)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, errors.New("bad RSA exponent")
		}
		return checkKey(&rsa.PublicKey{N: n, E: int(e.Int64())})
	case "EC":
		if k.Crv != "P-256" {
			return nil, fmt.Errorf("curve %q, want P-256", clip(k.Crv))
		}
		x, err1 := base64.RawURLEncoding.DecodeString(k.X)
		y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("P-256 coordinates must be 32 bytes each")
		}
		// ParseUncompressedPublicKey checks that the point is on the curve.
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	}
	return nil, fmt.Errorf("kty %q, want RSA or EC", clip(k.Kty))
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("bad base64url integer %q", clip(s))
	}
	return new(big.Int).SetBytes(b), nil
}

// clip shortens a string from a key set for an error message: the log
// line of a hostile set stays short.
func clip(s string) string {
	const keep = 32
	if len(s) <= keep {
		return s
	}
	return s[:keep] + "…"
}
