package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	secret = []byte("0123456789abcdef0123456789abcdef")
	now    = time.Unix(1_800_000_000, 0)
	clock  = func() time.Time { return now }

	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
)

func keys(t testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return rsaKey, ecKey
}

func publicPEM(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// claims are a valid payload: sub, exp an hour away, a pattern each.
func claims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub": "user-1", "exp": now.Add(time.Hour).Unix(),
		"subscribe": []string{"news", "user.1.>"}, "publish": []string{"chat.*"},
	}
}

func sign(t testing.TB, m jwt.SigningMethod, key any, c jwt.MapClaims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	cfg.Now = clock
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyHS256Grants(t *testing.T) {
	v := verifier(t, Config{HMACSecret: secret})
	c, err := v.Verify(sign(t, jwt.SigningMethodHS256, secret, claims(), ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "user-1" || !c.Expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("claims %+v", c)
	}
	for ch, want := range map[string]bool{"news": true, "user.1.inbox": true, "user.2.inbox": false, "chat.x": false} {
		if c.CanSubscribe(ch) != want {
			t.Errorf("CanSubscribe(%q) = %v", ch, !want)
		}
	}
	if !c.CanPublish("chat.lobby") || c.CanPublish("news") {
		t.Error("publish patterns not applied")
	}
}

func TestVerifyRS256AndES256FromPEM(t *testing.T) {
	rk, ek := keys(t)
	for _, tc := range []struct {
		name   string
		pub    any
		method jwt.SigningMethod
		priv   any
	}{
		{"RS256", &rk.PublicKey, jwt.SigningMethodRS256, rk},
		{"ES256", &ek.PublicKey, jwt.SigningMethodES256, ek},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verifier(t, Config{PublicKeyPEM: publicPEM(t, tc.pub)})
			if _, err := v.Verify(sign(t, tc.method, tc.priv, claims(), "")); err != nil {
				t.Fatal(err)
			}
			if got := v.Methods(); len(got) != 1 || got[0] != tc.name {
				t.Fatalf("methods %v", got)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	rk, ek := keys(t)
	pemRSA := publicPEM(t, &rk.PublicKey)
	v := verifier(t, Config{HMACSecret: secret, PublicKeyPEM: pemRSA})
	with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := claims()
		edit(c)
		return c
	}
	otherSecret := []byte(strings.Repeat("x", 32))
	noneToken, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrMalformed},
		{"garbage", "not.a.token", ErrMalformed},
		{"two parts", "abc.def", ErrMalformed},
		{"alg none", noneToken, ErrAlgorithm},
		{"wrong secret", sign(t, jwt.SigningMethodHS256, otherSecret, claims(), ""), ErrSignature},
		// Algorithm confusion: HS256 keyed with the RSA public key's PEM text.
		{"HS256 with the RSA public key", sign(t, jwt.SigningMethodHS256, pemRSA, claims(), ""), ErrSignature},
		{"HS384 not configured", sign(t, jwt.SigningMethodHS384, secret, claims(), ""), ErrAlgorithm},
		{"ES256 not configured", sign(t, jwt.SigningMethodES256, ek, claims(), ""), ErrAlgorithm},
		{"expired", sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Second).Unix() }), ""), ErrExpired},
		{"no exp", sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { delete(c, "exp") }), ""), ErrClaims},
		{"nbf ahead", sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() }), ""), ErrNotYetValid},
		{"no sub", sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { delete(c, "sub") }), ""), ErrClaims},
		{"bad pattern", sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["subscribe"] = []string{"a.>.b"} }), ""), ErrClaims},
		{"pattern not a string", sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["publish"] = []int{1} }), ""), ErrMalformed},
		{"tampered payload", tamper(sign(t, jwt.SigningMethodHS256, secret, claims(), "")), ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v (claims %+v), want %v", err, c, tc.want)
			}
		})
	}
	// nbf in the past is fine.
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(-time.Minute).Unix() }), "")); err != nil {
		t.Fatalf("nbf in the past: %v", err)
	}
}

// tamper grants the token "publish": [">"] without re-signing it.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	_ = json.Unmarshal(payload, &m)
	m["publish"] = []string{">"}
	b, _ := json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestVerifyLeeway(t *testing.T) {
	v := verifier(t, Config{HMACSecret: secret, Leeway: 5 * time.Second})
	c := claims()
	c["exp"] = now.Add(-3 * time.Second).Unix()
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, secret, c, "")); err != nil {
		t.Fatalf("3s past exp with 5s leeway: %v", err)
	}
}

func jwksOf(t testing.TB, keys map[string]any) []byte {
	t.Helper()
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	for kid, k := range keys {
		switch k := k.(type) {
		case *rsa.PublicKey:
			set.Keys = append(set.Keys, map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
				"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())})
		case *ecdsa.PublicKey:
			raw, _ := k.Bytes()
			set.Keys = append(set.Keys, map[string]string{"kty": "EC", "kid": kid, "crv": "P-256",
				"x": b64(raw[1:33]), "y": b64(raw[33:])})
		}
	}
	b, _ := json.Marshal(set)
	return b
}

func TestVerifyJWKSPicksKeyByKid(t *testing.T) {
	rk, ek := keys(t)
	rk2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, Config{JWKS: jwksOf(t, map[string]any{"r1": &rk.PublicKey, "r2": &rk2.PublicKey, "e1": &ek.PublicKey})})
	for _, tc := range []struct {
		name string
		tok  string
		want error
	}{
		{"r1", sign(t, jwt.SigningMethodRS256, rk, claims(), "r1"), nil},
		{"r2", sign(t, jwt.SigningMethodRS256, rk2, claims(), "r2"), nil},
		{"e1", sign(t, jwt.SigningMethodES256, ek, claims(), "e1"), nil},
		{"r1 key under kid r2", sign(t, jwt.SigningMethodRS256, rk, claims(), "r2"), ErrSignature},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, rk, claims(), "zz"), ErrUnknownKey},
		{"no kid, several keys", sign(t, jwt.SigningMethodRS256, rk, claims(), ""), ErrUnknownKey},
		{"ES256 under an RSA kid", sign(t, jwt.SigningMethodES256, ek, claims(), "r1"), ErrUnknownKey},
		{"HS256 not configured", sign(t, jwt.SigningMethodHS256, secret, claims(), "r1"), ErrAlgorithm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.tok)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewVerifierRefusesBadKeys(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]Config{
		"nothing":        {},
		"short secret":   {HMACSecret: []byte("short")},
		"not PEM":        {PublicKeyPEM: []byte("hello")},
		"1024-bit RSA":   {PublicKeyPEM: publicPEM(t, &small.PublicKey)},
		"P-384":          {PublicKeyPEM: publicPEM(t, &p384.PublicKey)},
		"JWKS not JSON":  {JWKS: []byte("{")},
		"JWKS empty":     {JWKS: []byte(`{"keys":[]}`)},
		"JWKS oct":       {JWKS: []byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`)},
		"JWKS bad point": {JWKS: []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("A", 43) + `"}]}`)},
	} {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	rk, ek := keys(b)
	for _, tc := range []struct {
		name   string
		cfg    Config
		method jwt.SigningMethod
		key    any
	}{
		{"HS256", Config{HMACSecret: secret}, jwt.SigningMethodHS256, secret},
		{"RS256", Config{PublicKeyPEM: publicPEM(b, &rk.PublicKey)}, jwt.SigningMethodRS256, rk},
		{"ES256", Config{PublicKeyPEM: publicPEM(b, &ek.PublicKey)}, jwt.SigningMethodES256, ek},
	} {
		b.Run(tc.name, func(b *testing.B) {
			v := verifier(b, tc.cfg)
			tok := sign(b, tc.method, tc.key, claims(), "")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestVerifyAudienceAndIssuer(t *testing.T) {
	v := verifier(t, Config{HMACSecret: secret, Audience: "wsgate", Issuer: "https://idp.example.com/"})
	with := func(edit func(jwt.MapClaims)) string {
		c := claims()
		c["aud"], c["iss"] = []string{"other", "wsgate"}, "https://idp.example.com/"
		edit(c)
		return sign(t, jwt.SigningMethodHS256, secret, c, "")
	}
	for _, tc := range []struct {
		name   string
		token  string
		reason string // in the error, naming the claim that failed
	}{
		{"both fit", with(func(jwt.MapClaims) {}), ""},
		{"aud as a string", with(func(c jwt.MapClaims) { c["aud"] = "wsgate" }), ""},
		{"aud missing", with(func(c jwt.MapClaims) { delete(c, "aud") }), `"aud"`},
		{"aud of another service", with(func(c jwt.MapClaims) { c["aud"] = []string{"other"} }), `"aud"`},
		{"aud differs in case", with(func(c jwt.MapClaims) { c["aud"] = "WSGATE" }), `"aud"`},
		{"iss missing", with(func(c jwt.MapClaims) { delete(c, "iss") }), `"iss"`},
		{"iss of another issuer", with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com/" }), `"iss"`},
		{"iss a prefix", with(func(c jwt.MapClaims) { c["iss"] = "https://idp.example.com" }), `"iss"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.token)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrClaims) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Verify: %v, want %v naming %s", err, ErrClaims, tc.reason)
			}
		})
	}
	// Without Audience and Issuer, aud and iss are not looked at.
	open := verifier(t, Config{HMACSecret: secret})
	if _, err := open.Verify(with(func(c jwt.MapClaims) { c["aud"], c["iss"] = "x", "y" })); err != nil {
		t.Fatalf("unchecked aud/iss: %v", err)
	}
}

func TestNewVerifierBoundsLeeway(t *testing.T) {
	for _, tc := range []struct {
		leeway time.Duration
		ok     bool
	}{
		{0, true}, {time.Second, true}, {MaxLeeway, true},
		{MaxLeeway + time.Nanosecond, false}, {time.Hour, false}, {-time.Second, false},
	} {
		_, err := NewVerifier(Config{HMACSecret: secret, Leeway: tc.leeway})
		if (err == nil) != tc.ok {
			t.Errorf("leeway %v: err %v, want ok=%v", tc.leeway, err, tc.ok)
		}
	}
}
