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
// disagrees with its type, a duplicate kid, or a set with no usable key is
// an error.
func parseJWKS(b []byte) (map[string]any, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("auth: JWKS: %w", err)
	}
	keys := make(map[string]any, len(set.Keys))
	for i, k := range set.Keys {
		if k.Use == "enc" {
			continue
		}
		key, err := k.publicKey()
		if err != nil {
			return nil, fmt.Errorf("auth: JWKS key %d (kid %q): %w", i, k.Kid, err)
		}
		if k.Alg != "" && k.Alg != methodFor(key) {
			return nil, fmt.Errorf("auth: JWKS key %d (kid %q): alg %q does not fit a %s key", i, k.Kid, k.Alg, k.Kty)
		}
		if _, dup := keys[k.Kid]; dup {
			return nil, fmt.Errorf("auth: JWKS: kid %q appears twice", k.Kid)
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
			return nil, fmt.Errorf("curve %q, want P-256", k.Crv)
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
	return nil, fmt.Errorf("kty %q, want RSA or EC", k.Kty)
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("bad base64url integer %q", s)
	}
	return new(big.Int).SetBytes(b), nil
}
