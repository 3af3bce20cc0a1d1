package auth

import (
	"context"
	"crypto"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Bounds on a key set fetched from Config.JWKSURL (see also MaxJWKSBytes
// and MaxJWKSKeys, which apply to it as to a file).
const (
	// DefaultJWKSRefresh is how often the set is fetched when the server
	// sends no Cache-Control max-age and Config.JWKSRefresh is zero.
	DefaultJWKSRefresh = 10 * time.Minute
	// MinJWKSRefresh is the least time between two fetches, whatever asks
	// for them: a token with an unknown kid, a Reload, a short max-age, a
	// failed fetch's retry. Tokens with made-up kids therefore cost the
	// identity provider at most one request a minute per node.
	MinJWKSRefresh = time.Minute
	// MaxJWKSRefresh is the longest: a longer max-age is cut to it, so a
	// revoked key leaves within the hour.
	MaxJWKSRefresh = time.Hour
	// DefaultJWKSFetchTimeout bounds one fetch, from dialling to the last
	// byte, so a server that trickles its answer (slowloris) cannot hold
	// the refresher.
	DefaultJWKSFetchTimeout = 10 * time.Second
	// MaxJWKSRedirects is how many redirects a fetch follows, each to an
	// https URL only.
	MaxJWKSRedirects = 3
	// maxJWKSHeaderBytes bounds the response's header block.
	maxJWKSHeaderBytes = 64 << 10
)

// remoteJWKS is the state of a key set fetched from a URL. The fields
// below the line belong to the refresher goroutine (Verifier.refreshJWKS);
// NewVerifier sets them before starting it.
type remoteJWKS struct {
	url     string // Config.JWKSURL
	shown   string // url with any password masked, for errors and logs
	client  *http.Client
	timeout time.Duration    // per fetch
	refresh time.Duration    // interval when the server sends no max-age
	now     func() time.Time // Config.Now, so tests can move time
	logger  *slog.Logger
	kick    chan struct{}      // cap 1: Verify (unknown kid) and Reload ask for a fetch
	ctx     context.Context    // cancelled by Close; aborts a fetch in flight
	cancel  context.CancelFunc // Close
	done    chan struct{}      // closed when the refresher has returned

	// Observed by tests: kicks taken, waits begun, fetches finished.
	kicks, waits, fetches atomic.Int64

	// ---- owned by the refresher goroutine
	last    time.Time // start of the latest fetch
	next    time.Time // when the periodic fetch is due
	pending bool      // a fetch was asked for and is held back by MinJWKSRefresh
}

// newRemoteJWKS checks cfg's URL and settings and prepares the client; it
// does no I/O.
func newRemoteJWKS(cfg *Config, now func() time.Time) (*remoteJWKS, error) {
	u, err := url.Parse(cfg.JWKSURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("auth: JWKS URL: %w", err)
	case u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("auth: JWKS URL %q: %w", u.Redacted(), ErrJWKSNotHTTPS)
	case cfg.JWKSRefresh != 0 && (cfg.JWKSRefresh < MinJWKSRefresh || cfg.JWKSRefresh > MaxJWKSRefresh):
		return nil, fmt.Errorf("auth: JWKS refresh %v: want %v to %v", cfg.JWKSRefresh, MinJWKSRefresh, MaxJWKSRefresh)
	case cfg.JWKSFetchTimeout < 0:
		return nil, fmt.Errorf("auth: JWKS fetch timeout %v", cfg.JWKSFetchTimeout)
	}
	r := &remoteJWKS{
		url: cfg.JWKSURL, shown: u.Redacted(), timeout: cfg.JWKSFetchTimeout, refresh: cfg.JWKSRefresh, now: now,
		logger: cfg.Logger, kick: make(chan struct{}, 1), done: make(chan struct{}),
	}
	if r.timeout == 0 {
		r.timeout = DefaultJWKSFetchTimeout
	}
	if r.refresh == 0 {
		r.refresh = DefaultJWKSRefresh
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	r.client = &http.Client{
		Transport: &http.Transport{
			// Each fetch runs under a context with r.timeout, which bounds
			// dialling, the TLS handshake, the headers and the body alike.
			Proxy:                  http.ProxyFromEnvironment,
			TLSClientConfig:        &tls.Config{RootCAs: cfg.JWKSRootCAs, MinVersion: tls.VersionTLS12},
			MaxResponseHeaderBytes: maxJWKSHeaderBytes,
			DisableKeepAlives:      true, // a fetch every few minutes: hold no idle connection
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxJWKSRedirects {
				return fmt.Errorf("more than %d redirects", MaxJWKSRedirects)
			}
			if req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to %q: %w", req.URL.Redacted(), ErrJWKSNotHTTPS)
			}
			return nil
		},
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// fetchFirst sets up v.remote from cfg and fetches the key set into ks:
// without it, no Verifier.
func (v *Verifier) fetchFirst(cfg *Config, ks *keySet) error {
	r, err := newRemoteJWKS(cfg, v.now)
	if err != nil {
		return err
	}
	r.last = r.now()
	keys, maxAge, err := r.fetch()
	if err != nil {
		r.stop()
		return fmt.Errorf("auth: JWKS from %s: %w", r.shown, err)
	}
	ks.jwks, ks.remote, r.next = keys, true, r.last.Add(maxAge)
	v.remote = r
	return nil
}

// stop releases r's context when no refresher runs (nil-safe).
func (r *remoteJWKS) stop() {
	if r != nil {
		r.cancel()
	}
}

// fetch GETs the key set once, within the timeout and MaxJWKSBytes, and
// parses it. maxAge is the refresh interval the response asks for,
// clamped to [MinJWKSRefresh, MaxJWKSRefresh], or r.refresh.
func (r *remoteJWKS) fetch() (keys map[string]any, maxAge time.Duration, err error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("status %s", resp.Status)
	}
	if resp.ContentLength > MaxJWKSBytes {
		return nil, 0, fmt.Errorf("Content-Length %d: %w", resp.ContentLength, ErrJWKSTooLarge)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSBytes+1))
	if err == nil {
		err = ctx.Err() // a body cut by the deadline may read as a short one
	}
	if err != nil {
		return nil, 0, err
	}
	if keys, err = parseJWKS(body); err != nil {
		return nil, 0, err
	}
	return keys, r.maxAge(resp.Header), nil
}

// maxAge reads Cache-Control's max-age (RFC 9111 §5.2.2.1), clamped to
// [MinJWKSRefresh, MaxJWKSRefresh]; without one it is r.refresh.
func (r *remoteJWKS) maxAge(h http.Header) time.Duration {
	for _, directive := range strings.Split(h.Get("Cache-Control"), ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
		if !strings.EqualFold(name, "max-age") {
			continue
		}
		seconds, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
		if err != nil || seconds < 0 {
			break
		}
		d := MaxJWKSRefresh
		if seconds < int64(MaxJWKSRefresh/time.Second) {
			d = time.Duration(seconds) * time.Second
		}
		return max(d, MinJWKSRefresh)
	}
	return r.refresh
}

// request asks the refresher for a fetch, without waiting: it never
// blocks, so Verify may call it on an event loop.
func (r *remoteJWKS) request() {
	select {
	case r.kick <- struct{}{}:
	default: // one is already asked for
	}
}

// refreshJWKS is the refresher goroutine: it fetches r's key set when the
// periodic refresh is due, or when a fetch was asked for and the last one
// is MinJWKSRefresh old, and swaps in the new keys. It returns on Close.
func (v *Verifier) refreshJWKS(r *remoteJWKS) {
	defer close(r.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if wait := r.due().Sub(r.now()); wait > 0 {
			timer.Reset(wait)
			r.waits.Add(1)
			select {
			case <-r.ctx.Done():
				return
			case <-r.kick:
				r.kicks.Add(1)
				r.pending = true
			case <-timer.C:
			}
			continue
		}
		v.refreshOnce(r)
	}
}

// due is when the next fetch may start: the periodic one, or sooner when
// one was asked for, but never within MinJWKSRefresh of the last.
func (r *remoteJWKS) due() time.Time {
	if earliest := r.last.Add(MinJWKSRefresh); r.pending && earliest.Before(r.next) {
		return earliest
	}
	return r.next
}

// refreshOnce fetches the key set and swaps it in; a failure keeps the
// keys in force, is logged, and is retried after MinJWKSRefresh.
func (v *Verifier) refreshOnce(r *remoteJWKS) {
	defer r.fetches.Add(1)
	r.pending = false
	r.last = r.now()
	keys, maxAge, err := r.fetch()
	if err == nil {
		var old map[string]any
		if old, err = v.storeJWKS(keys); err == nil {
			r.next = r.last.Add(maxAge)
			level := slog.LevelDebug
			if !sameKeys(old, keys) {
				level = slog.LevelInfo
			}
			r.logger.Log(r.ctx, level, "JWKS refreshed", "url", r.shown, "keys", len(keys), "next_in", maxAge)
			return
		}
	}
	if r.ctx.Err() != nil {
		return // closing
	}
	r.next = r.last.Add(MinJWKSRefresh)
	r.logger.Warn("JWKS refresh failed: keeping the keys in force", "url", r.shown, "err", err, "retry_in", MinJWKSRefresh)
}

// storeJWKS swaps keys in as the key set's JWKS part, keeping the HMAC
// secret and PEM key, and returns the JWKS keys it replaced.
func (v *Verifier) storeJWKS(keys map[string]any) (map[string]any, error) {
	v.swap.Lock()
	defer v.swap.Unlock()
	ks := *v.keys.Load()
	old := ks.jwks
	ks.jwks = keys
	next, err := ks.withMethods()
	if err != nil {
		return nil, err
	}
	v.keys.Store(next)
	return old, nil
}

// sameKeys reports whether two key sets hold the same keys under the same
// kids.
func sameKeys(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for kid, key := range a {
		other, ok := b[kid].(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !other.Equal(key) {
			return false
		}
	}
	return true
}

// Close stops the goroutine that refreshes a key set fetched from a URL,
// aborting a fetch in flight, and returns once it has ended. Verify keeps
// working afterwards with the keys in force, which no longer change. Close
// is a no-op for a Verifier without JWKSURL (or a nil one), and may be
// called more than once, from any goroutine.
func (v *Verifier) Close() {
	if v == nil || v.remote == nil {
		return
	}
	v.remote.cancel()
	<-v.remote.done
}
