package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// rsaJWK is one RSA entry with modulus n and exponent e.
func rsaJWK(kid string, n *big.Int, e int64) string {
	b64 := base64.RawURLEncoding.EncodeToString
	return fmt.Sprintf(`{"kty":"RSA","kid":%q,"n":%q,"e":%q}`, kid, b64(n.Bytes()), b64(big.NewInt(e).Bytes()))
}

func TestParseJWKSRSABounds(t *testing.T) {
	pow2 := func(bits uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), bits) }
	odd := func(n *big.Int, delta int64) *big.Int { return new(big.Int).Add(n, big.NewInt(delta)) }
	for _, tc := range []struct {
		name string
		n    *big.Int
		e    int64
		ok   bool
	}{
		{"2047 bits", odd(pow2(2046), 1), 65537, false},
		{"2048 bits", odd(pow2(2047), 1), 65537, true},
		{"4096 bits", odd(pow2(4095), 1), 65537, true},
		{"4097 bits", odd(pow2(4096), 1), 65537, false},
		{"even modulus", pow2(2047), 65537, false},
		{"e = 1", odd(pow2(2047), 1), 1, false},
		{"e = 3", odd(pow2(2047), 1), 3, true},
		{"even e", odd(pow2(2047), 1), 65536, false},
		{"e = 2^31-1", odd(pow2(2047), 1), 1<<31 - 1, true},
		{"e = 2^31+1", odd(pow2(2047), 1), 1<<31 + 1, false},
		{"e = 2^40+1", odd(pow2(2047), 1), 1<<40 + 1, false},
	} {
		_, err := parseJWKS([]byte(`{"keys":[` + rsaJWK("k", tc.n, tc.e) + `]}`))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestParseJWKSBounds(t *testing.T) {
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	one := jwksOf(t, map[string]any{"e": &ek.PublicKey})
	entry := string(one[len(`{"keys":[`) : len(one)-2])
	set := func(n int, entry func(i int) string) []byte {
		var b strings.Builder
		b.WriteString(`{"keys":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(entry(i))
		}
		b.WriteString(`]}`)
		return []byte(b.String())
	}
	withKid := func(i int) string { return strings.Replace(entry, `"kid":"e"`, fmt.Sprintf(`"kid":"k%d"`, i), 1) }
	encEntry := func(int) string { return `{"kty":"RSA","use":"enc"}` }
	padded := func(n int) []byte { return append(bytes.Repeat([]byte(" "), n-len(one)), one...) }
	for _, tc := range []struct {
		name string
		doc  []byte
		want error // nil: accepted
	}{
		{"MaxJWKSKeys keys", set(MaxJWKSKeys, withKid), nil},
		{"MaxJWKSKeys+1 keys", set(MaxJWKSKeys+1, withKid), ErrJWKSTooManyKeys},
		{"MaxJWKSKeys+1 entries, all but one skipped", set(MaxJWKSKeys+1, func(i int) string {
			if i == MaxJWKSKeys {
				return withKid(i)
			}
			return encEntry(i)
		}), ErrJWKSTooManyKeys},
		{"1 MiB of empty entries", set((MaxJWKSBytes-12)/3, func(int) string { return "{}" }), ErrJWKSTooManyKeys},
		{"MaxJWKSBytes", padded(MaxJWKSBytes), nil},
		{"MaxJWKSBytes+1", padded(MaxJWKSBytes + 1), ErrJWKSTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := parseJWKS(tc.doc)
			if tc.want == nil {
				if err != nil || len(keys) == 0 {
					t.Fatalf("%d keys, err %v", len(keys), err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseJWKSErrorsStayShort(t *testing.T) {
	long := strings.Repeat("k", 100_000)
	for name, doc := range map[string]string{
		"kid":  `{"keys":[{"kty":"RSA","kid":"` + long + `","n":"!","e":"AQAB"}]}`,
		"kty":  `{"keys":[{"kty":"` + long + `"}]}`,
		"crv":  `{"keys":[{"kty":"EC","crv":"` + long + `"}]}`,
		"base": `{"keys":[{"kty":"RSA","n":"` + long + `!","e":"AQAB"}]}`,
	} {
		_, err := parseJWKS([]byte(doc))
		if err == nil || len(err.Error()) > 200 {
			t.Errorf("%s: error of %d bytes: %.300v", name, len(fmt.Sprint(err)), err)
		}
	}
}
