package auth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxLeeway bounds Config.Leeway.
const MaxLeeway = 5 * time.Minute

// Config names the keys a Verifier trusts. Give at least one of HMACSecret,
// PublicKeyPEM, JWKS and JWKSURL; each one adds its algorithm to the
// accepted set.
type Config struct {
	// HMACSecret verifies HS256 tokens. At least 32 bytes (RFC 7518 §3.2:
	// "A key of the same size as the hash output ... or larger MUST be used").
	HMACSecret []byte
	// PublicKeyPEM is an RSA (RS256) or P-256 ECDSA (ES256) public key, as
	// a PEM "PUBLIC KEY" block (or "RSA PUBLIC KEY", or a "CERTIFICATE").
	PublicKeyPEM []byte
	// JWKS is a JSON Web Key Set ({"keys":[...]}) of RSA and P-256 EC
	// public keys; a token's "kid" header picks the key.
	JWKS []byte
	// JWKSURL is an https:// URL serving the key set, instead of JWKS.
	// NewVerifier fetches it before returning and fails if it cannot (a
	// node does not start without its keys); then a goroutine refreshes it
	// (see the package doc) until Close.
	JWKSURL string
	// JWKSRootCAs verifies the certificate of JWKSURL's server (a private
	// identity provider, tests). Default: the system's roots.
	JWKSRootCAs *x509.CertPool
	// JWKSRefresh is how often JWKSURL is fetched when the server sends no
	// Cache-Control max-age, from MinJWKSRefresh to MaxJWKSRefresh.
	// Default DefaultJWKSRefresh (10 minutes).
	JWKSRefresh time.Duration
	// JWKSFetchTimeout bounds one fetch of JWKSURL, from dialling to the
	// last byte. Default DefaultJWKSFetchTimeout (10 s).
	JWKSFetchTimeout time.Duration
	// Logger receives the JWKS refresher's reports: a refresh that changed
	// the keys (info), a failed one (warn). Default: discarded.
	Logger *slog.Logger
	// Leeway tolerates clock skew when checking exp and nbf. Default 0, at
	// most MaxLeeway (5 minutes): a larger skew is a broken clock, and
	// every second of it keeps an expired token alive.
	Leeway time.Duration
	// Audience, when set, must be one of the token's "aud" values (exact,
	// case-sensitive match, RFC 7519 §4.1.3): a token the identity provider
	// issued for another service is refused. Default: "aud" is not checked.
	Audience string
	// Issuer, when set, must equal the token's "iss" exactly (RFC 7519
	// §4.1.1). Default: "iss" is not checked.
	Issuer string
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
}

// Verifier checks tokens against the configured keys. It is safe for
// concurrent use: Verify never takes a lock, and Reload and the JWKS
// refresher swap the keys under it atomically, so a token is checked
// against one generation of keys, old or new, never a mix. A Verifier with
// a JWKSURL runs a goroutine until Close.
type Verifier struct {
	parser   *jwt.Parser
	keys     atomic.Pointer[keySet] // the keys in force; never nil after NewVerifier
	swap     sync.Mutex             // serialises writers of keys (Reload, the JWKS refresher); Verify never takes it
	remote   *remoteJWKS            // the key set of Config.JWKSURL, or nil
	now      func() time.Time
	leeway   time.Duration
	audience string // Config.Audience
	issuer   string // Config.Issuer
}

// Claims is what a verified token grants. It is immutable once returned:
// connections share a pointer to it.
type Claims struct {
	Subject string    // "sub": the user id
	Expires time.Time // "exp"
	// ValidUntil is Expires plus the verifier's leeway: when a connection
	// holding these claims must refresh them or close.
	ValidUntil time.Time
	Subscribe  []Pattern // channels the holder may subscribe to
	Publish    []Pattern // channels the holder may publish to
}

// CanSubscribe reports whether the claims allow subscribing to channel ch.
func (c *Claims) CanSubscribe(ch string) bool { return MatchAny(c.Subscribe, ch) }

// CanPublish reports whether the claims allow publishing to channel ch.
func (c *Claims) CanPublish(ch string) bool { return MatchAny(c.Publish, ch) }

// tokenClaims is the JSON shape of a token's payload.
type tokenClaims struct {
	jwt.RegisteredClaims
	Subscribe []string `json:"subscribe"`
	Publish   []string `json:"publish"`
}

// NewVerifier builds a Verifier from cfg. With a JWKSURL it fetches the
// key set first (up to JWKSFetchTimeout) and starts the refresher; Close
// stops it.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Leeway < 0 || cfg.Leeway > MaxLeeway {
		return nil, fmt.Errorf("auth: leeway %v: want 0 to %v", cfg.Leeway, MaxLeeway)
	}
	if len(cfg.JWKS) > 0 && cfg.JWKSURL != "" {
		return nil, errors.New("auth: JWKS and JWKSURL are both set: give one")
	}
	v := &Verifier{now: cfg.Now, leeway: cfg.Leeway, audience: cfg.Audience, issuer: cfg.Issuer}
	if v.now == nil {
		v.now = time.Now
	}
	ks, err := parseKeys(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.JWKSURL != "" {
		if err := v.fetchFirst(&cfg, ks); err != nil {
			return nil, err
		}
	}
	if ks, err = ks.withMethods(); err != nil {
		v.remote.stop() // nil-safe; no refresher started yet
		return nil, err
	}
	v.keys.Store(ks)
	v.parser = newParser(&cfg, v.now)
	if v.remote != nil {
		go v.refreshJWKS(v.remote)
	}
	return v, nil
}

// newParser checks what the keys do not: exp (required), nbf, aud and iss.
// The accepted algorithms are enforced in keySet.key, which runs before
// any signature check, so that refusals are told apart from bad
// signatures.
func newParser(cfg *Config, now func() time.Time) *jwt.Parser {
	opts := []jwt.ParserOption{
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	return jwt.NewParser(opts...)
}

// Methods returns the algorithms the keys in force accept, e.g.
// ["HS256", "RS256"]. A reload may change them.
func (v *Verifier) Methods() []string { return append([]string(nil), v.keys.Load().methods...) }

// Verify checks token's signature, algorithm and claims, and returns what
// it grants. The error is one of the package's sentinels (ErrClaims comes
// wrapped, naming the claim that failed). Verify does no I/O and never
// blocks, so it may run on an event loop; with a JWKSURL, ErrUnknownKey
// also asks the refresher for a fetch, without waiting for it.
func (v *Verifier) Verify(token string) (*Claims, error) {
	var tc tokenClaims
	_, err := v.parser.ParseWithClaims(token, &tc, v.keys.Load().key)
	if err != nil {
		err = v.classify(err, &tc)
		if err == ErrUnknownKey && v.remote != nil {
			v.remote.request() // never blocks: the token is refused now, a later one may pass
		}
		return nil, err
	}
	if tc.Subject == "" {
		return nil, fmt.Errorf("%w: \"sub\" is required", ErrClaims)
	}
	exp := tc.ExpiresAt.Time
	c := &Claims{Subject: tc.Subject, Expires: exp, ValidUntil: exp.Add(v.leeway)}
	if c.Subscribe, err = CompilePatterns(tc.Subscribe); err != nil {
		return nil, fmt.Errorf("%w: subscribe: %v", ErrClaims, err)
	}
	if c.Publish, err = CompilePatterns(tc.Publish); err != nil {
		return nil, fmt.Errorf("%w: publish: %v", ErrClaims, err)
	}
	return c, nil
}

// classify maps jwt's errors onto the package's sentinels. tc is what the
// parser decoded; it is looked at only for claim errors, which jwt reports
// after the signature checked out.
func (v *Verifier) classify(err error, tc *tokenClaims) error {
	switch {
	case errors.Is(err, ErrUnknownKey):
		return ErrUnknownKey
	case errors.Is(err, ErrAlgorithm):
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return v.claimsError(err, tc)
	}
	return ErrSignature
}

// claimsError names the claim that failed, never the value expected: a
// refresh error frame carries this text to the client.
func (v *Verifier) claimsError(err error, tc *tokenClaims) error {
	switch {
	case v.audience != "" && !slices.Contains(tc.Audience, v.audience):
		return fmt.Errorf("%w: \"aud\" does not name this service", ErrClaims)
	case v.issuer != "" && tc.Issuer != v.issuer:
		return fmt.Errorf("%w: \"iss\" is not the trusted issuer", ErrClaims)
	case tc.ExpiresAt == nil:
		return fmt.Errorf("%w: \"exp\" is required", ErrClaims)
	}
	return fmt.Errorf("%w: %v", ErrClaims, err)
}
