package e2e

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/internal/testkit"
	"github.com/wsgate/wsgate/internal/wstest"
)

// TestSIGHUPReloadsKeys: rotating the token secret and the admin API key
// files and sending SIGHUP swaps both in without dropping a connection:
// the connected client keeps receiving, new handshakes need the new
// secret, publishing needs the new API key.
func TestSIGHUPReloadsKeys(t *testing.T) {
	dir := t.TempDir()
	secretFile, keyFile := filepath.Join(dir, "secret"), filepath.Join(dir, "api-key")
	write := func(path, v string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	oldSecret, newSecret := "old-secret-0123456789abcdefghijklmnop", "new-secret-0123456789abcdefghijklmnop"
	write(secretFile, oldSecret)
	write(keyFile, "old-key")
	n := startNode(t, "--jwt-hmac-secret-file", secretFile, "--api-key-file", keyFile)
	sign := func(secret string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "u", "exp": time.Now().Add(time.Hour).Unix(), "subscribe": []string{"news"},
		}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	publish := func(key string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+n.admin+"/api/publish", bytes.NewReader([]byte(`{"channel":"news","data":"x"}`)))
		req.Header.Set("X-API-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	handshake := func(secret string) int {
		t.Helper()
		c, err := wstest.Dial(n.url("/ws?channels=news&token="+sign(secret)), 5*time.Second)
		var he *wstest.HandshakeError
		if errors.As(err, &he) {
			return he.Status
		}
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		return 101
	}

	sub, err := wstest.Dial(n.url("/ws?channels=news&token="+sign(oldSecret)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	write(secretFile, newSecret)
	write(keyFile, "new-key")
	if err := n.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the new API key", func() bool { return publish("new-key") == 200 })
	if got := publish("old-key"); got != 401 {
		t.Errorf("publish with the old key after the reload: %d, want 401", got)
	}
	_ = sub.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, p, err := sub.ReadMessage(); err != nil || string(p) != `{"type":"message","channel":"news","data":"x"}` {
		t.Fatalf("the connected client after the reload: %q, %v", p, err)
	}
	if got := handshake(newSecret); got != 101 {
		t.Errorf("handshake with the new secret: %d", got)
	}
	if got := handshake(oldSecret); got != 401 {
		t.Errorf("handshake with the old secret: %d, want 401", got)
	}

	// A broken file keeps the keys in force.
	write(secretFile, "short")
	_ = n.cmd.Process.Signal(syscall.SIGHUP)
	testkit.Eventually(t, 10*time.Second, "the failed reload to be logged", func() bool {
		return bytes.Contains([]byte(n.Stderr()), []byte("reload failed"))
	})
	if got := handshake(newSecret); got != 101 {
		t.Errorf("handshake with the secret in force after a failed reload: %d", got)
	}
}
