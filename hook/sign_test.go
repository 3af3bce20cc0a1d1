package hook

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A vector computed outside Go (Python's hmac module).
const (
	vectorSecret    = "0123456789abcdef"
	vectorTimestamp = 1700000000
	vectorBody      = `{"type":"events","events":[]}`
	vectorSignature = "v1=06ca82ee538140473f35870de58dc483ca3338c8640af7bd0beed9012054e3a1"
)

func TestSignKnownVector(t *testing.T) {
	if got := Sign([]byte(vectorSecret), vectorTimestamp, []byte(vectorBody)); got != vectorSignature {
		t.Errorf("Sign = %s, want %s", got, vectorSignature)
	}
}

// signed returns the headers of body signed at ts with secret.
func signed(secret []byte, ts int64, body []byte) http.Header {
	h := http.Header{}
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(secret, ts, body))
	return h
}

func TestVerifyRoundTrip(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	body := []byte(vectorBody)
	for _, skew := range []time.Duration{0, -DefaultTolerance, DefaultTolerance, time.Second} {
		h := signed(testSecret, now.Add(skew).Unix(), body)
		if err := Verify(testSecret, h, body, now, DefaultTolerance); err != nil {
			t.Errorf("skew %s: %v", skew, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	body := []byte(vectorBody)
	good := signed(testSecret, now.Unix(), body)
	with := func(name, value string) http.Header {
		h := good.Clone()
		h.Set(name, value)
		return h
	}
	without := func(name string) http.Header {
		h := good.Clone()
		h.Del(name)
		return h
	}
	for _, tc := range []struct {
		name   string
		secret []byte
		header http.Header
		body   string
		want   error
	}{
		{"wrong secret", []byte("another-secret-of-16+"), good, vectorBody, ErrSignatureMismatch},
		{"tampered body", testSecret, good, vectorBody + " ", ErrSignatureMismatch},
		{"empty body", testSecret, good, "", ErrSignatureMismatch},
		{"old timestamp", testSecret, signed(testSecret, now.Add(-DefaultTolerance-time.Second).Unix(), body), vectorBody, ErrSignatureExpired},
		{"future timestamp", testSecret, signed(testSecret, now.Add(DefaultTolerance+time.Second).Unix(), body), vectorBody, ErrSignatureExpired},
		{"timestamp from another request", testSecret, with(HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10)), vectorBody, ErrSignatureMismatch},
		{"no timestamp", testSecret, without(HeaderTimestamp), vectorBody, ErrSignatureMissing},
		{"no signature", testSecret, without(HeaderSignature), vectorBody, ErrSignatureMissing},
		{"no headers", testSecret, http.Header{}, vectorBody, ErrSignatureMissing},
		{"timestamp not a number", testSecret, with(HeaderTimestamp, "yesterday"), vectorBody, ErrSignatureMalformed},
		{"timestamp signed", testSecret, with(HeaderTimestamp, "+1700000000"), vectorBody, ErrSignatureMalformed},
		{"timestamp empty", testSecret, with(HeaderTimestamp, ""), vectorBody, ErrSignatureMalformed},
		{"timestamp huge", testSecret, with(HeaderTimestamp, strings.Repeat("9", 30)), vectorBody, ErrSignatureMalformed},
		{"two timestamps", testSecret, func() http.Header { h := good.Clone(); h.Add(HeaderTimestamp, "1"); return h }(), vectorBody, ErrSignatureMalformed},
		{"signature without scheme", testSecret, with(HeaderSignature, strings.TrimPrefix(good.Get(HeaderSignature), "v1=")), vectorBody, ErrSignatureMalformed},
		{"signature short", testSecret, with(HeaderSignature, good.Get(HeaderSignature)[:40]), vectorBody, ErrSignatureMalformed},
		{"signature not hex", testSecret, with(HeaderSignature, "v1="+strings.Repeat("zz", 32)), vectorBody, ErrSignatureMalformed},
		{"only an unknown scheme", testSecret, with(HeaderSignature, "v9=abc"), vectorBody, ErrSignatureMalformed},
		{"signature empty", testSecret, with(HeaderSignature, ""), vectorBody, ErrSignatureMalformed},
	} {
		if err := Verify(tc.secret, tc.header, []byte(tc.body), now, DefaultTolerance); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestVerifyAcceptsRotatedKeys(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	body := []byte(vectorBody)
	oldKey, newKey := []byte("old-secret-0123456789"), []byte("new-secret-0123456789")
	both := Sign(oldKey, now.Unix(), body) + ", " + Sign(newKey, now.Unix(), body) + ",v2=future-scheme"
	h := http.Header{}
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderSignature, both)
	for _, key := range [][]byte{oldKey, newKey} {
		if err := Verify(key, h, body, now, DefaultTolerance); err != nil {
			t.Errorf("key %q: %v", key, err)
		}
	}
	if err := Verify(testSecret, h, body, now, DefaultTolerance); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("a third key: %v, want ErrSignatureMismatch", err)
	}
	// The same values on two header lines.
	h.Del(HeaderSignature)
	h.Add(HeaderSignature, Sign(oldKey, now.Unix(), body))
	h.Add(HeaderSignature, Sign(newKey, now.Unix(), body))
	if err := Verify(newKey, h, body, now, DefaultTolerance); err != nil {
		t.Errorf("two header lines: %v", err)
	}
}

func TestVerifyToleranceDefaultsWhenZero(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	body := []byte(vectorBody)
	inside := signed(testSecret, now.Add(-DefaultTolerance+time.Second).Unix(), body)
	outside := signed(testSecret, now.Add(-DefaultTolerance-time.Second).Unix(), body)
	if err := Verify(testSecret, inside, body, now, 0); err != nil {
		t.Errorf("inside the default window: %v", err)
	}
	if err := Verify(testSecret, outside, body, now, 0); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("outside the default window: %v", err)
	}
}

func TestVerifyRefusesAbsurdClock(t *testing.T) {
	body := []byte(vectorBody)
	for _, now := range []time.Time{time.Unix(math.MinInt64, 0), time.Unix(math.MaxInt64, 0), time.Unix(-maxTimestamp, 0)} {
		h := signed(testSecret, 0, body)
		if err := Verify(testSecret, h, body, now, math.MaxInt64); !errors.Is(err, ErrSignatureExpired) {
			t.Errorf("clock at %d: %v, want ErrSignatureExpired", now.Unix(), err)
		}
	}
}
