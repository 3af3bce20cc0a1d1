package auth

import "errors"

// Errors of Verify and Extract, one per condition a client can be told
// about. The reactor turns each into an HTTP 401 (or an error frame for a
// refresh) whose reason is the error's text.
var (
	ErrNoToken        = errors.New("no token")
	ErrMultipleTokens = errors.New("more than one token")
	ErrMalformed      = errors.New("malformed token")
	ErrAlgorithm      = errors.New("token algorithm not accepted")
	ErrUnknownKey     = errors.New("token key id unknown")
	ErrSignature      = errors.New("bad token signature")
	ErrExpired        = errors.New("token expired")
	ErrNotYetValid    = errors.New("token not valid yet")
	ErrClaims         = errors.New("invalid token claims")
)

// Errors of reading a JSON Web Key Set, from a file or a URL. They never
// reach a client: the operator sees them at start, on reload, or in the
// log of a failed refresh (the keys in force stay).
var (
	ErrJWKSTooLarge    = errors.New("JWKS larger than MaxJWKSBytes")
	ErrJWKSTooManyKeys = errors.New("JWKS holds more than MaxJWKSKeys keys")
	ErrJWKSNotHTTPS    = errors.New("JWKS URL is not https")
)
