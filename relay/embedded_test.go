package relay_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/relay"
)

// startEmbedded starts an embedded server until the test ends.
func startEmbedded(t *testing.T, cfg relay.EmbeddedConfig) *relay.EmbeddedNATS {
	t.Helper()
	e, err := relay.StartEmbeddedNATS(cfg)
	if err != nil {
		t.Fatalf("StartEmbeddedNATS(%+v): %v", cfg, err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

// rawConnect speaks NATS by hand, as an attacker's netcat would: it reads
// INFO, sends connect (a CONNECT line) and a PING, and returns the server's
// answer line.
func rawConnect(t *testing.T, clientURL, connect string) string {
	t.Helper()
	u, err := url.Parse(clientURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	if info, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(info, "INFO ") {
		t.Fatalf("want INFO, got %q, %v", info, err)
	}
	if _, err := c.Write([]byte(connect + "\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("no answer to %s: %v", connect, err)
	}
	return strings.TrimSpace(line)
}

const authViolation = "-ERR 'Authorization Violation'"

// TestEmbeddedNATSRequiresCredentials: an embedded server given the
// cluster's credentials refuses a client without them (a bare CONNECT {}
// could otherwise SUB wsgate.ch.> and read every channel) and accepts one
// with them.
func TestEmbeddedNATSRequiresCredentials(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        relay.EmbeddedConfig
		good, bad  []nats.Option
		goodRaw    string
		badConnect []string
	}{
		{
			name:       "token",
			cfg:        relay.EmbeddedConfig{Listen: "127.0.0.1:0", Token: "s3cret"},
			good:       []nats.Option{nats.Token("s3cret")},
			bad:        []nats.Option{nats.Token("guess")},
			goodRaw:    `CONNECT {"verbose":false,"auth_token":"s3cret"}`,
			badConnect: []string{`CONNECT {}`, `CONNECT {"auth_token":"guess"}`, `CONNECT {"user":"wsgate","pass":"s3cret"}`},
		},
		{
			name:       "user and password",
			cfg:        relay.EmbeddedConfig{Listen: "127.0.0.1:0", User: "wsgate", Password: "s3cret"},
			good:       []nats.Option{nats.UserInfo("wsgate", "s3cret")},
			bad:        []nats.Option{nats.UserInfo("wsgate", "guess")},
			goodRaw:    `CONNECT {"verbose":false,"user":"wsgate","pass":"s3cret"}`,
			badConnect: []string{`CONNECT {}`, `CONNECT {"user":"wsgate"}`, `CONNECT {"auth_token":"s3cret"}`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEmbedded(t, tc.cfg)
			for _, connect := range tc.badConnect {
				if got := rawConnect(t, e.ClientURL(), connect); got != authViolation {
					t.Errorf("%s + PING: server answered %q, want %q", connect, got, authViolation)
				}
			}
			if got := rawConnect(t, e.ClientURL(), tc.goodRaw); got != "PONG" {
				t.Errorf("%s + PING: server answered %q, want PONG", tc.goodRaw, got)
			}
			if nc, err := nats.Connect(e.ClientURL(), tc.bad...); err == nil {
				nc.Close()
				t.Error("a client with wrong credentials connected")
			}
			if nc, err := nats.Connect(e.ClientURL()); err == nil {
				nc.Close()
				t.Error("a client without credentials connected")
			}
			// The node's own relay, with the same settings, works.
			r, err := relay.DialNATS(relay.NATSConfig{URLs: []string{e.ClientURL()}, Required: true, Logger: quietLogger, Options: tc.good})
			if err != nil {
				t.Fatalf("the relay with the right credentials: %v", err)
			}
			t.Cleanup(func() { _ = r.Close() })
			if err := r.Status(); err != nil {
				t.Errorf("relay Status() = %v", err)
			}
		})
	}
}

// TestEmbeddedNATSRefusesOpenNonLoopback: without authentication the
// embedded server listens on loopback only; any other address is refused
// at start, naming the problem.
func TestEmbeddedNATSRefusesOpenNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:4222", "nats.example.com:4222"} {
		if e, err := relay.StartEmbeddedNATS(relay.EmbeddedConfig{Listen: addr}); !errors.Is(err, relay.ErrEmbeddedOpen) {
			if e != nil {
				e.Shutdown()
			}
			t.Errorf("StartEmbeddedNATS(%q) without authentication = %v, want %v", addr, err, relay.ErrEmbeddedOpen)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		// (A host without IPv6 may fail [::1] for another reason.)
		e, err := relay.StartEmbeddedNATS(relay.EmbeddedConfig{Listen: addr})
		if errors.Is(err, relay.ErrEmbeddedOpen) {
			t.Errorf("StartEmbeddedNATS(%q): %v, want loopback allowed", addr, err)
		}
		if e != nil {
			e.Shutdown()
		}
	}
	// Authenticated, it may listen on every interface.
	e := startEmbedded(t, relay.EmbeddedConfig{Listen: "0.0.0.0:0", Token: "s3cret"})
	u, _ := url.Parse(e.ClientURL())
	_, port, _ := net.SplitHostPort(u.Host)
	if got := rawConnect(t, "nats://127.0.0.1:"+port, `CONNECT {}`); got != authViolation {
		t.Errorf("CONNECT {} on 0.0.0.0 with a token: %q, want %q", got, authViolation)
	}
}

func TestEmbeddedNATSConfigErrors(t *testing.T) {
	for _, cfg := range []relay.EmbeddedConfig{
		{Listen: "127.0.0.1:0", Token: "t", User: "u", Password: "p"},
		{Listen: "127.0.0.1:0", User: "u"},
		{Listen: "127.0.0.1:0", Password: "p"},
		{Listen: "127.0.0.1:0", TLSCert: "cert.pem"},
		{Listen: "127.0.0.1:0", TLSCA: "ca.pem"},
		{Listen: "127.0.0.1"},
		{Listen: "127.0.0.1:http"},
		{Listen: "127.0.0.1:0", Monitor: "8222"},
	} {
		if e, err := relay.StartEmbeddedNATS(cfg); err == nil {
			e.Shutdown()
			t.Errorf("StartEmbeddedNATS(%+v) succeeded", cfg)
		}
	}
}

// TestEmbeddedNATSMonitorDefaultsToLoopback: ":port" binds monitoring to
// 127.0.0.1, not every interface; an explicit host is kept.
func TestEmbeddedNATSMonitorDefaultsToLoopback(t *testing.T) {
	e := startEmbedded(t, relay.EmbeddedConfig{Listen: "127.0.0.1:0", Monitor: ":0"})
	host, _, err := net.SplitHostPort(e.MonitorAddr())
	if err != nil || host != "127.0.0.1" {
		t.Errorf("monitoring on %q, want 127.0.0.1", e.MonitorAddr())
	}
	e2 := startEmbedded(t, relay.EmbeddedConfig{Listen: "127.0.0.1:0", Monitor: "localhost:0"})
	if host, _, _ := net.SplitHostPort(e2.MonitorAddr()); host != "127.0.0.1" && host != "::1" {
		t.Errorf("monitoring on %q, want localhost", e2.MonitorAddr())
	}
	if e3 := startEmbedded(t, relay.EmbeddedConfig{Listen: "127.0.0.1:0"}); e3.MonitorAddr() != "" {
		t.Errorf("monitoring on %q without Monitor", e3.MonitorAddr())
	}
}

// TestEmbeddedNATSMaxConns: the server refuses connections past MaxConns.
func TestEmbeddedNATSMaxConns(t *testing.T) {
	e := startEmbedded(t, relay.EmbeddedConfig{Listen: "127.0.0.1:0", MaxConns: 2})
	for i := range 2 {
		nc, err := nats.Connect(e.ClientURL())
		if err != nil {
			t.Fatalf("connection %d of 2: %v", i+1, err)
		}
		t.Cleanup(nc.Close)
	}
	// The server says "maximum connections exceeded" and closes; the
	// client may see that or the closed socket first.
	if nc, err := nats.Connect(e.ClientURL()); err == nil {
		nc.Close()
		t.Error("a third connection was accepted with MaxConns 2")
	}
}

// TestEmbeddedNATSClientCertificates: with a server certificate and a CA,
// clients must connect over TLS with a certificate the CA signed; that is
// authentication enough to listen beyond loopback.
func TestEmbeddedNATSClientCertificates(t *testing.T) {
	pki := newTestPKI(t)
	e := startEmbedded(t, relay.EmbeddedConfig{Listen: "0.0.0.0:0", TLSCert: pki.cert, TLSKey: pki.key, TLSCA: pki.ca})
	u, _ := url.Parse(e.ClientURL())
	_, port, _ := net.SplitHostPort(u.Host)
	clientURL := "tls://127.0.0.1:" + port
	if nc, err := nats.Connect(clientURL, nats.RootCAs(pki.ca)); err == nil {
		nc.Close()
		t.Error("a TLS client without a certificate connected")
	}
	if nc, err := nats.Connect("nats://127.0.0.1:" + port); err == nil {
		nc.Close()
		t.Error("a plain-text client connected")
	}
	r, err := relay.DialNATS(relay.NATSConfig{
		URLs: []string{clientURL}, Required: true, Logger: quietLogger,
		Options: []nats.Option{nats.RootCAs(pki.ca), nats.ClientCert(pki.cert, pki.key)},
	})
	if err != nil {
		t.Fatalf("the relay with a client certificate: %v", err)
	}
	_ = r.Close()
}

// testPKI is a CA and one certificate it signed, valid for 127.0.0.1 as a
// server and as a client (a node uses the same files for both), as PEM
// files.
type testPKI struct{ ca, cert, key string }

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, key := newKey(), newKey()
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wsgate test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "wsgate node"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testPKI{
		ca:   write("ca.pem", "CERTIFICATE", caDER),
		cert: write("node.pem", "CERTIFICATE", der),
		key:  write("node-key.pem", "PRIVATE KEY", keyDER),
	}
}
