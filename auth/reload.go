package auth

import (
	"errors"
	"fmt"
)

// Reload replaces the Verifier's keys with cfg's HMACSecret, PublicKeyPEM
// and JWKS, as NewVerifier would read them: keys of any kind may come,
// go or change, as long as at least one remains. The new keys apply to
// the next Verify; connections keep the Claims they hold, and their next
// refresh is checked against the new keys.
//
// A key set from JWKSURL is not read by Reload: Reload asks the refresher
// for a fetch, which happens within MinJWKSRefresh, asynchronously.
//
// What a key does not decide needs a new Verifier: Reload refuses a cfg
// whose Leeway, Audience, Issuer or JWKSURL differ from the Verifier's,
// and ignores Now, Logger and the other JWKS settings. Authentication
// itself cannot be switched on or off by a reload: a Verifier always has a
// key, and a node without one has no Verifier.
//
// On any error the keys in force stay, untouched. Reload may be called
// from any goroutine, concurrently with Verify; concurrent reloads are
// serialised.
func (v *Verifier) Reload(cfg Config) error {
	var errs []error
	if cfg.Leeway != v.leeway {
		errs = append(errs, fmt.Errorf("leeway %v → %v", v.leeway, cfg.Leeway))
	}
	if cfg.Audience != v.audience {
		errs = append(errs, fmt.Errorf("audience %q → %q", v.audience, cfg.Audience))
	}
	if cfg.Issuer != v.issuer {
		errs = append(errs, fmt.Errorf("issuer %q → %q", v.issuer, cfg.Issuer))
	}
	if url := v.jwksURL(); cfg.JWKSURL != url {
		errs = append(errs, errors.New("JWKS URL"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("auth: reload changes more than keys (restart instead): %w", err)
	}
	if v.remote != nil && len(cfg.JWKS) > 0 {
		return errors.New("auth: reload: JWKS and JWKSURL are both set: give one")
	}
	ks, err := parseKeys(&cfg)
	if err != nil {
		return err
	}
	v.swap.Lock()
	defer v.swap.Unlock()
	if v.remote != nil {
		ks.jwks, ks.remote = v.keys.Load().jwks, true
	}
	if ks, err = ks.withMethods(); err != nil {
		return err
	}
	v.keys.Store(ks)
	if v.remote != nil {
		v.remote.request()
	}
	return nil
}

func (v *Verifier) jwksURL() string {
	if v.remote == nil {
		return ""
	}
	return v.remote.url
}
