package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Bounds on public keys, from a PEM file or a JWKS alike.
const (
	// MinRSABits is the smallest RSA modulus accepted (NIST SP 800-57:
	// 2048 bits until 2030).
	MinRSABits = 2048
	// MaxRSABits is the largest: an RS256 check costs about the square of
	// the modulus size and runs on an event loop, so a 4096-bit key costs
	// ~4× a 2048-bit one, and a hostile JWKS cannot hand the loops a
	// 64k-bit key to choke on.
	MaxRSABits = 4096
)

// keySet is one generation of key material. Once stored in a Verifier it
// is never modified: Reload and a JWKS refresh store a new one, so Verify
// reads it without a lock.
type keySet struct {
	hmac    []byte         // HS256 secret, or nil
	pem     any            // *rsa.PublicKey or *ecdsa.PublicKey, or nil
	jwks    map[string]any // kid → key, or nil
	methods []string       // accepted "alg" values, derived from the keys
	remote  bool           // jwks comes from Config.JWKSURL and may gain keys of a new type
}

// parseKeys reads cfg's key material (HMACSecret, PublicKeyPEM, JWKS)
// into a key set whose methods are not set yet (see withMethods).
func parseKeys(cfg *Config) (*keySet, error) {
	ks := &keySet{}
	if len(cfg.HMACSecret) > 0 {
		if len(cfg.HMACSecret) < 32 {
			return nil, fmt.Errorf("auth: HMAC secret of %d bytes: HS256 needs at least 32", len(cfg.HMACSecret))
		}
		ks.hmac = append([]byte(nil), cfg.HMACSecret...) // the caller may reuse its slice
	}
	if len(cfg.PublicKeyPEM) > 0 {
		key, err := parsePublicKeyPEM(cfg.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		ks.pem = key
	}
	if len(cfg.JWKS) > 0 {
		keys, err := parseJWKS(cfg.JWKS)
		if err != nil {
			return nil, err
		}
		ks.jwks = keys
	}
	return ks, nil
}

// withMethods derives the accepted algorithms from the keys, refusing a
// set with none.
func (ks *keySet) withMethods() (*keySet, error) {
	ks.methods = nil
	if ks.hmac != nil {
		ks.methods = append(ks.methods, jwt.SigningMethodHS256.Alg())
	}
	if ks.pem != nil {
		ks.methods = appendMethod(ks.methods, ks.pem)
	}
	for _, k := range ks.jwks {
		ks.methods = appendMethod(ks.methods, k)
	}
	if len(ks.methods) == 0 {
		return nil, errors.New("auth: no key: give an HMAC secret, a PEM public key or a JWKS")
	}
	return ks, nil
}

// key returns the one key of ks for a token's algorithm and kid, so a
// token is never checked with a key of another type.
func (ks *keySet) key(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	if !ks.accepts(alg) {
		if ks.remote && (alg == jwt.SigningMethodRS256.Alg() || alg == jwt.SigningMethodES256.Alg()) {
			return nil, ErrUnknownKey // the identity provider may have moved to a key of this type
		}
		return nil, ErrAlgorithm // "none", HS256 without a secret, RS256 without an RSA key...
	}
	if alg == jwt.SigningMethodHS256.Alg() {
		return ks.hmac, nil
	}
	if kid, ok := t.Header["kid"].(string); ok && ks.jwks != nil {
		if k, ok := ks.jwks[kid]; ok && methodFor(k) == alg {
			return k, nil
		}
		if ks.pem == nil || methodFor(ks.pem) != alg {
			return nil, ErrUnknownKey
		}
	}
	if ks.pem != nil && methodFor(ks.pem) == alg {
		return ks.pem, nil
	}
	if len(ks.jwks) == 1 { // a single-key set needs no kid
		for _, k := range ks.jwks {
			if methodFor(k) == alg {
				return k, nil
			}
		}
	}
	return nil, ErrUnknownKey
}

func (ks *keySet) accepts(alg string) bool {
	for _, m := range ks.methods {
		if m == alg {
			return true
		}
	}
	return false
}

// methodFor is the one algorithm a public key verifies.
func methodFor(key any) string {
	switch key.(type) {
	case *rsa.PublicKey:
		return jwt.SigningMethodRS256.Alg()
	case *ecdsa.PublicKey:
		return jwt.SigningMethodES256.Alg()
	}
	return ""
}

func appendMethod(methods []string, key any) []string {
	m := methodFor(key)
	for _, have := range methods {
		if have == m {
			return methods
		}
	}
	return append(methods, m)
}

// parsePublicKeyPEM reads an RSA or P-256 public key from the first PEM
// block of b.
func parsePublicKeyPEM(b []byte) (any, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("auth: public key: no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("auth: public key: PEM block %q, want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: public key: %w", err)
	}
	return checkKey(key)
}

// checkKey accepts RSA keys of MinRSABits to MaxRSABits whose modulus and
// exponent crypto/rsa will take (both odd, 3 ≤ e < 2³¹), and P-256 ECDSA
// keys, so that a key accepted here never fails at Verify.
func checkKey(key any) (any, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return nil, fmt.Errorf("auth: RSA key of %d bits, want %d to %d", bits, MinRSABits, MaxRSABits)
		}
		if k.N.Bit(0) == 0 || k.E&1 == 0 || k.E < 3 || k.E > 1<<31-1 {
			return nil, errors.New("auth: RSA key with an even modulus or a bad exponent")
		}
		return k, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("auth: ECDSA key on %s, want P-256 (ES256)", k.Curve.Params().Name)
		}
		return k, nil
	}
	return nil, fmt.Errorf("auth: public key of type %T, want RSA or ECDSA P-256", key)
}
