package auth

import (
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/testkit"
)

// testClock is a Config.Now that tests move by hand.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(now.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// jwksServer is a local HTTPS server of key sets. By default it serves
// doc; handler, when set, answers instead.
type jwksServer struct {
	*httptest.Server
	doc      atomic.Pointer[[]byte]
	handler  atomic.Pointer[http.HandlerFunc]
	requests atomic.Int64
}

func newJWKSServer(t *testing.T, doc []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.serve(doc)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if h := s.handler.Load(); h != nil {
			(*h)(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(*s.doc.Load())
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-certificate case makes it complain
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(doc []byte) { s.doc.Store(&doc); s.handler.Store(nil) }

func (s *jwksServer) answer(h http.HandlerFunc) { s.handler.Store(&h) }

// roots trusts the server's certificate.
func (s *jwksServer) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return pool
}

// remoteVerifier fetches s's key set on clock; Close runs at cleanup.
func remoteVerifier(t *testing.T, s *jwksServer, clock *testClock, edit func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{JWKSURL: s.URL, JWKSRootCAs: s.roots(), Now: clock.Now, JWKSFetchTimeout: 2 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// settled waits until the refresher has taken a kick and gone back to
// waiting: whatever that kick was going to start has started.
func settled(t *testing.T, r *remoteJWKS, kicks, waits int64) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, "the refresher to take the kick and wait", func() bool {
		return r.kicks.Load() > kicks && r.waits.Load() > waits
	})
}

func TestJWKSURLPicksUpRotationOnUnknownKidOncePerMinute(t *testing.T) {
	rk, ek := keys(t)
	srv := newJWKSServer(t, jwksOf(t, map[string]any{"r1": &rk.PublicKey}))
	clock := newTestClock()
	v := remoteVerifier(t, srv, clock, nil)
	r := v.remote
	oldTok := sign(t, jwt.SigningMethodRS256, rk, claims(), "r1")
	newTok := sign(t, jwt.SigningMethodES256, ek, claims(), "e1") // a new key, of a new type
	if _, err := v.Verify(oldTok); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the refresher to wait", func() bool { return r.waits.Load() == 1 })

	// The identity provider adds e1. A token signed with it is refused at
	// once; the refresh it asks for waits for the minute to pass, however
	// many such tokens come.
	srv.serve(jwksOf(t, map[string]any{"r1": &rk.PublicKey, "e1": &ek.PublicKey}))
	for range 100 {
		if _, err := v.Verify(newTok); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("new kid before any refresh: %v", err)
		}
	}
	settled(t, r, 0, 1)
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d requests within the first minute, want 1 (start-up)", n)
	}

	clock.advance(MinJWKSRefresh - time.Second)
	kicks, waits := r.kicks.Load(), r.waits.Load()
	if _, err := v.Verify(newTok); !errors.Is(err, ErrUnknownKey) {
		t.Fatal(err)
	}
	settled(t, r, kicks, waits)
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d requests 59 s after start-up, want 1", n)
	}

	clock.advance(time.Second)
	testkit.Eventually(t, 10*time.Second, "the new key to verify", func() bool { _, err := v.Verify(newTok); return err == nil })
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d requests after the minute, want 2", n)
	}
	if _, err := v.Verify(oldTok); err != nil {
		t.Fatalf("old key, still served: %v", err)
	}

	// r1 is withdrawn: after the next refresh its tokens are refused.
	srv.serve(jwksOf(t, map[string]any{"e1": &ek.PublicKey}))
	clock.advance(MinJWKSRefresh)
	_, _ = v.Verify(sign(t, jwt.SigningMethodES256, ek, claims(), "made-up"))
	testkit.Eventually(t, 10*time.Second, "the withdrawn key to be refused", func() bool {
		_, err := v.Verify(oldTok)
		return errors.Is(err, ErrUnknownKey)
	})
	if n := srv.requests.Load(); n != 3 {
		t.Fatalf("%d requests after two minutes, want 3", n)
	}
	if got := v.Methods(); len(got) != 1 || got[0] != "ES256" {
		t.Fatalf("methods %v", got)
	}
}

func TestJWKSURLDue(t *testing.T) {
	last := now
	for _, tc := range []struct {
		name    string
		next    time.Time
		pending bool
		want    time.Time
	}{
		{"periodic", last.Add(10 * time.Minute), false, last.Add(10 * time.Minute)},
		{"asked for: a minute after the last", last.Add(10 * time.Minute), true, last.Add(MinJWKSRefresh)},
		{"asked for, periodic sooner", last.Add(MinJWKSRefresh), true, last.Add(MinJWKSRefresh)},
	} {
		r := &remoteJWKS{last: last, next: tc.next, pending: tc.pending}
		if got := r.due(); !got.Equal(tc.want) {
			t.Errorf("%s: due %v after the last fetch, want %v", tc.name, got.Sub(last), tc.want.Sub(last))
		}
	}
}

func TestJWKSURLMaxAge(t *testing.T) {
	r := &remoteJWKS{refresh: DefaultJWKSRefresh}
	for header, want := range map[string]time.Duration{
		"":                               DefaultJWKSRefresh,
		"max-age=300":                    5 * time.Minute,
		"public, max-age=120, immutable": 2 * time.Minute,
		"Max-Age=\"240\"":                4 * time.Minute,
		"max-age=0":                      MinJWKSRefresh,
		"no-store":                       DefaultJWKSRefresh,
		"max-age=59":                     MinJWKSRefresh,
		"max-age=3600":                   time.Hour,
		"max-age=86400":                  MaxJWKSRefresh,
		"max-age=99999999999999999999":   DefaultJWKSRefresh, // not a number we take
		"max-age=-5":                     DefaultJWKSRefresh,
		"max-age=9223372036":             MaxJWKSRefresh,
	} {
		h := http.Header{}
		h.Set("Cache-Control", header)
		if got := r.maxAge(h); got != want {
			t.Errorf("Cache-Control %q: refresh in %v, want %v", header, got, want)
		}
	}
}

// hostileAnswer is how a broken or hostile JWKS server answers, and what
// the fetch must fail with.
type hostileAnswer struct {
	handler http.HandlerFunc
	want    string        // in the error
	timeout time.Duration // Config.JWKSFetchTimeout; 0: 10 s
}

func (a hostileAnswer) fetchTimeout() time.Duration {
	if a.timeout == 0 {
		return 10 * time.Second
	}
	return a.timeout
}

var gzipBomb = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	_, _ = z.Write(bytes.Repeat([]byte(" "), 4*MaxJWKSBytes))
	_ = z.Close()
	return b.Bytes()
})

func hostile(good []byte) map[string]hostileAnswer {
	padded := append(bytes.Repeat([]byte(" "), MaxJWKSBytes+1-len(good)), good...)
	tooLarge := ErrJWKSTooLarge.Error()
	bomb := gzipBomb()
	return map[string]hostileAnswer{
		"oversize, Content-Length": {handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(padded)))
			_, _ = w.Write(padded)
		}, want: "Content-Length 1048577: " + tooLarge},
		"oversize, chunked": {handler: func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < len(padded); i += 64 << 10 {
				_, _ = w.Write(padded[i:min(i+64<<10, len(padded))])
				w.(http.Flusher).Flush()
			}
		}, want: "JWKS of 1048577 bytes: " + tooLarge},
		"gzip bomb": {handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bomb)
		}, want: tooLarge},
		"no answer": {handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			want: "context deadline exceeded", timeout: 300 * time.Millisecond},
		"slowloris body": {handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			for {
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}, want: "context deadline exceeded", timeout: 300 * time.Millisecond},
		"redirect to http": {handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://"+r.Host+"/jwks", http.StatusFound)
		}, want: ErrJWKSNotHTTPS.Error()},
		"redirect loop": {handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/again", http.StatusFound)
		}, want: "more than 3 redirects"},
		"status 500": {handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
			want: "status 500"},
		"not JSON": {handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) },
			want: "invalid character"},
		"no usable key": {handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"keys":[{"kty":"oct"}]}`)) },
			want: `kty "oct"`},
		"too many keys": {handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"keys":[` + strings.Repeat(`{},`, MaxJWKSKeys) + `{}]}`))
		}, want: ErrJWKSTooManyKeys.Error()},
		"huge header": {handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Pad", strings.Repeat("a", 2*maxJWKSHeaderBytes))
			_, _ = w.Write(good)
		}, want: "headers exceeded"},
	}
}

func TestJWKSURLRefusesHostileServerAtStart(t *testing.T) {
	rk, _ := keys(t)
	good := jwksOf(t, map[string]any{"r1": &rk.PublicKey})
	for name, a := range hostile(good) {
		t.Run(name, func(t *testing.T) {
			srv := newJWKSServer(t, good)
			srv.answer(a.handler)
			v, err := NewVerifier(Config{JWKSURL: srv.URL, JWKSRootCAs: srv.roots(), JWKSFetchTimeout: a.fetchTimeout()})
			if err == nil {
				v.Close()
				t.Fatal("started on a hostile key set")
			}
			if !strings.Contains(err.Error(), a.want) {
				t.Fatalf("err %v, want %q", err, a.want)
			}
		})
	}
}

func TestJWKSURLKeepsKeysWhenRefreshFails(t *testing.T) {
	rk, ek := keys(t)
	good := jwksOf(t, map[string]any{"r1": &rk.PublicKey})
	rotated := jwksOf(t, map[string]any{"r1": &rk.PublicKey, "e1": &ek.PublicKey})
	oldTok := sign(t, jwt.SigningMethodRS256, rk, claims(), "r1")
	newTok := sign(t, jwt.SigningMethodES256, ek, claims(), "e1")
	for name, a := range hostile(rotated) {
		t.Run(name, func(t *testing.T) {
			srv := newJWKSServer(t, good)
			clock := newTestClock()
			v := remoteVerifier(t, srv, clock, func(c *Config) { c.JWKSFetchTimeout = a.fetchTimeout() })
			srv.answer(a.handler)
			clock.advance(MinJWKSRefresh)
			if _, err := v.Verify(newTok); !errors.Is(err, ErrUnknownKey) {
				t.Fatal(err)
			}
			testkit.Eventually(t, 10*time.Second, "the refresh to fail", func() bool { return v.remote.fetches.Load() == 1 })
			if _, err := v.Verify(oldTok); err != nil {
				t.Fatalf("old key lost: %v", err)
			}
			if _, err := v.Verify(newTok); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("key of a refused set: %v", err)
			}
			// The server recovers: a minute later the rotation lands.
			srv.serve(rotated)
			clock.advance(MinJWKSRefresh)
			testkit.Eventually(t, 10*time.Second, "the new key", func() bool { _, err := v.Verify(newTok); return err == nil })
		})
	}
}

func TestJWKSURLVerifyNeverWaitsForTheNetwork(t *testing.T) {
	rk, _ := keys(t)
	srv := newJWKSServer(t, jwksOf(t, map[string]any{"r1": &rk.PublicKey}))
	clock := newTestClock()
	v := remoteVerifier(t, srv, clock, func(c *Config) { c.JWKSFetchTimeout = time.Minute })
	entered, release := make(chan struct{}), make(chan struct{})
	srv.answer(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	clock.advance(MinJWKSRefresh)
	unknown := sign(t, jwt.SigningMethodRS256, rk, claims(), "r2")
	if _, err := v.Verify(unknown); !errors.Is(err, ErrUnknownKey) {
		t.Fatal(err)
	}
	<-entered // a fetch is now stuck in the server

	done := make(chan error, 1)
	go func() {
		_, err1 := v.Verify(sign(t, jwt.SigningMethodRS256, rk, claims(), "r1"))
		_, err2 := v.Verify(unknown)
		done <- errors.Join(err1, errors.Join(err2, nil))
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnknownKey) || strings.Contains(err.Error(), "signature") {
			t.Fatalf("Verify during a stuck fetch: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Verify waits for the stuck fetch")
	}

	// Close aborts the stuck fetch and ends the refresher.
	closed := make(chan struct{})
	go func() { v.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for the stuck fetch")
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, rk, claims(), "r1")); err != nil {
		t.Fatalf("Verify after Close: %v", err)
	}
}

func TestJWKSURLConfig(t *testing.T) {
	rk, _ := keys(t)
	srv := newJWKSServer(t, jwksOf(t, map[string]any{"r1": &rk.PublicKey}))
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"http", Config{JWKSURL: "http://" + srv.Listener.Addr().String()}, ErrJWKSNotHTTPS.Error()},
		{"no host", Config{JWKSURL: "https:///jwks"}, ErrJWKSNotHTTPS.Error()},
		{"not a URL", Config{JWKSURL: "https://a b/%zz"}, "JWKS URL"},
		{"file and URL", Config{JWKSURL: srv.URL, JWKSRootCAs: srv.roots(), JWKS: []byte(`{}`)}, "both set"},
		{"refresh too short", Config{JWKSURL: srv.URL, JWKSRootCAs: srv.roots(), JWKSRefresh: time.Second}, "refresh"},
		{"refresh too long", Config{JWKSURL: srv.URL, JWKSRootCAs: srv.roots(), JWKSRefresh: 2 * time.Hour}, "refresh"},
		{"untrusted certificate", Config{JWKSURL: srv.URL}, "certificate"},
		{"nobody there", Config{JWKSURL: "https://127.0.0.1:1/jwks", JWKSRootCAs: srv.roots()}, "127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(tc.cfg)
			if err == nil {
				v.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestJWKSURLReload(t *testing.T) {
	rk, ek := keys(t)
	srv := newJWKSServer(t, jwksOf(t, map[string]any{"r1": &rk.PublicKey}))
	clock := newTestClock()
	v := remoteVerifier(t, srv, clock, nil)
	for name, cfg := range map[string]Config{
		"another URL": {JWKSURL: srv.URL + "/other"},
		"no URL":      {HMACSecret: secret},
		"URL and set": {JWKSURL: srv.URL, JWKS: jwksOf(t, map[string]any{"e1": &ek.PublicKey})},
	} {
		if err := v.Reload(cfg); err == nil {
			t.Errorf("reload with %s accepted", name)
		}
	}
	// A reload adds a secret, keeps the fetched keys, and asks for a
	// fetch, which comes once the minute has passed.
	srv.serve(jwksOf(t, map[string]any{"r1": &rk.PublicKey, "e1": &ek.PublicKey}))
	clock.advance(MinJWKSRefresh)
	if err := v.Reload(Config{JWKSURL: srv.URL, HMACSecret: secret}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{sign(t, jwt.SigningMethodHS256, secret, claims(), ""), sign(t, jwt.SigningMethodRS256, rk, claims(), "r1")} {
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("after reload: %v", err)
		}
	}
	testkit.Eventually(t, 10*time.Second, "the fetch the reload asked for", func() bool { return srv.requests.Load() == 2 })
	newTok := sign(t, jwt.SigningMethodES256, ek, claims(), "e1")
	testkit.Eventually(t, 10*time.Second, "the new key", func() bool { _, err := v.Verify(newTok); return err == nil })
}

func TestJWKSURLSameKeys(t *testing.T) {
	rk, ek := keys(t)
	a := map[string]any{"r": &rk.PublicKey, "e": &ek.PublicKey}
	for _, tc := range []struct {
		name string
		b    map[string]any
		want bool
	}{
		{"same", map[string]any{"r": &rk.PublicKey, "e": &ek.PublicKey}, true},
		{"one fewer", map[string]any{"r": &rk.PublicKey}, false},
		{"kids swapped", map[string]any{"e": &rk.PublicKey, "r": &ek.PublicKey}, false},
		{"another kid", map[string]any{"r": &rk.PublicKey, "x": &ek.PublicKey}, false},
	} {
		if got := sameKeys(a, tc.b); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

// lockedBuffer is a log destination the refresher and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestJWKSURLLogsRefreshes(t *testing.T) {
	rk, ek := keys(t)
	srv := newJWKSServer(t, jwksOf(t, map[string]any{"r1": &rk.PublicKey}))
	clock := newTestClock()
	var logs lockedBuffer
	v := remoteVerifier(t, srv, clock, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	srv.answer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	clock.advance(MinJWKSRefresh)
	_, _ = v.Verify(sign(t, jwt.SigningMethodES256, ek, claims(), "e1"))
	testkit.Eventually(t, 10*time.Second, "the failed fetch", func() bool { return v.remote.fetches.Load() == 1 })
	if want := `level=WARN msg="JWKS refresh failed: keeping the keys in force" url=` + srv.URL + ` err="status 502 Bad Gateway" retry_in=1m0s`; !strings.Contains(logs.String(), want) {
		t.Fatalf("log lacks %q:\n%s", want, logs.String())
	}
	srv.serve(jwksOf(t, map[string]any{"r1": &rk.PublicKey, "e1": &ek.PublicKey}))
	clock.advance(MinJWKSRefresh)
	_, _ = v.Verify(sign(t, jwt.SigningMethodES256, ek, claims(), "e1"))
	testkit.Eventually(t, 10*time.Second, "the second fetch", func() bool { return v.remote.fetches.Load() == 2 })
	if want := `level=INFO msg="JWKS refreshed" url=` + srv.URL + ` keys=2 next_in=10m0s`; !strings.Contains(logs.String(), want) {
		t.Fatalf("log lacks %q:\n%s", want, logs.String())
	}
}
