package client

import (
	"encoding/base64"
	"testing"
	"time"
)

// jwtWith builds an unsigned token around payload: the client never
// verifies, it only reads exp.
func jwtWith(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + ".c2ln"
}

func TestTokenExpiry(t *testing.T) {
	for _, c := range []struct {
		token string
		want  time.Time
	}{
		{jwtWith(`{"sub":"a","exp":1767225600}`), time.Unix(1767225600, 0)},
		{jwtWith(`{"exp":1767225600.5}`), time.Unix(1767225600, 5e8)},
		{jwtWith(`{"sub":"a"}`), time.Time{}},
		{jwtWith(`{"exp":"soon"}`), time.Time{}},
		{jwtWith(`{"exp":-1}`), time.Time{}},
		{jwtWith(`not json`), time.Time{}},
		{"opaque-api-key", time.Time{}},
		{"a.!!!.c", time.Time{}},
		{"", time.Time{}},
	} {
		if got := tokenExpiry(c.token); !got.Equal(c.want) {
			t.Errorf("tokenExpiry(%q) = %v, want %v", c.token, got, c.want)
		}
	}
	// Padding, which some issuers leave in, is tolerated.
	padded := base64.URLEncoding.EncodeToString([]byte(`{"exp":1767225600}`))
	if got := tokenExpiry("h." + padded + ".s"); !got.Equal(time.Unix(1767225600, 0)) {
		t.Errorf("padded payload: %v", got)
	}
}

// TestRefreshSchedule: a token is refreshed RefreshBefore its expiry, or
// at half its remaining life when that is later, and never sooner than a
// second (an expired token, a clock ahead of the server's).
func TestRefreshSchedule(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	margin := 30 * time.Second
	for _, c := range []struct {
		left, want time.Duration
	}{
		{time.Hour, time.Hour - 30*time.Second},
		{10 * time.Minute, 9*time.Minute + 30*time.Second},
		{61 * time.Second, 31 * time.Second},
		{60 * time.Second, 30 * time.Second},
		{40 * time.Second, 20 * time.Second},
		{3 * time.Second, 1500 * time.Millisecond},
		{time.Second, time.Second},
		{0, time.Second},
		{-time.Minute, time.Second},
	} {
		if got := refreshDelay(now, now.Add(c.left), margin); got != c.want {
			t.Errorf("refreshDelay with %v left = %v, want %v", c.left, got, c.want)
		}
	}
}
