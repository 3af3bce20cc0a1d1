package e2e

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// What the tests of deploy/ share: a throwaway certificate authority,
// rendering a committed recipe by replacing its documented example values,
// and raw WebSocket handshakes from a chosen source address, plain or TLS,
// that report the status, the refusal's body, or the node that took them.

// testTLS is a throwaway CA and a server certificate it signed for
// 127.0.0.1 and localhost, written as PEM files.
type testTLS struct {
	roots    *x509.CertPool
	certFile string // the server certificate
	keyFile  string // its private key
	pemFile  string // certificate then key in one file (HAProxy's crt)
}

func newTestTLS(t testing.TB) *testTLS {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wsgate e2e test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	s := &testTLS{
		roots:    x509.NewCertPool(),
		certFile: filepath.Join(dir, "wsgate.crt"),
		keyFile:  filepath.Join(dir, "wsgate.key"),
		pemFile:  filepath.Join(dir, "wsgate.pem"),
	}
	s.roots.AddCert(ca)
	for file, data := range map[string][]byte{s.certFile: certPEM, s.keyFile: keyPEM, s.pemFile: append(certPEM, keyPEM...)} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// clientConfig trusts the test CA only.
func (s *testTLS) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: s.roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// recipe reads a committed file of deploy/ (path relative to it).
func recipe(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "deploy", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replaceAll replaces each old with its new in text (pairs: old, new,
// ...), failing the test when an old value does not occur: the recipe
// changed, and the test must change with it rather than run a file that
// still points at the example addresses.
func replaceAll(t testing.TB, text string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("the recipe no longer contains %q", pairs[i])
		}
		text = strings.ReplaceAll(text, pairs[i], pairs[i+1])
	}
	return text
}

// replaceInLine is replaceAll restricted to the one line that contains
// marker (a server line, say), for values that repeat on other lines.
func replaceInLine(t testing.TB, text, marker string, pairs ...string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	found := -1
	for i, l := range lines {
		if strings.Contains(l, marker) {
			if found >= 0 {
				t.Fatalf("the recipe has more than one line containing %q", marker)
			}
			found = i
		}
	}
	if found < 0 {
		t.Fatalf("the recipe has no line containing %q", marker)
	}
	lines[found] = replaceAll(t, lines[found], pairs...)
	return strings.Join(lines, "\n")
}

// recipeDuration returns the duration the recipe sets with directive (the
// first word after it: "timeout tunnel 1h" gives 1h).
func recipeDuration(t testing.TB, text, directive string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(directive) + `\s+([0-9]+[a-z]+)\s*;?\s*$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("the recipe sets no %q", directive)
	}
	if _, err := time.ParseDuration(m[1]); err != nil {
		t.Fatalf("%s %s: %v", directive, m[1], err)
	}
	return m[1]
}

// handshake is the outcome of one raw WebSocket opening handshake.
type handshake struct {
	status int    // the HTTP status: 101, or the refusal's
	body   string // a refusal's body (it says why)
	node   string // after a 101 on /ws, the "node" of the connected frame
	conn   net.Conn
}

// wsDial opens a connection from the loopback address from (127.0.0.2,
// say: it needs no setup on Linux) to addr, with TLS when tlsConf is set,
// sends an upgrade request for /ws with the extra header lines given
// ("X-Forwarded-For: 1.2.3.4"), and reads the answer, and after a 101 the
// connected frame. A 101's connection stays open until the test ends.
func wsDial(t testing.TB, from, addr string, tlsConf *tls.Config, headers ...string) handshake {
	t.Helper()
	h, err := tryWS(from, addr, tlsConf, nil, headers...)
	if err != nil {
		t.Fatal(err)
	}
	if h.conn != nil {
		t.Cleanup(func() { h.conn.Close() })
	}
	return h
}

// tryWS is wsDial's work, with prefix sent before the request (a PROXY
// protocol header), and an error for a connection that ends before an
// answer. The caller closes a 101's connection.
func tryWS(from, addr string, tlsConf *tls.Config, prefix []byte, headers ...string) (h handshake, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return h, fmt.Errorf("dial %s from %s: %w", addr, from, err)
	}
	defer func() {
		if h.conn == nil {
			nc.Close()
		}
	}()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(prefix); err != nil {
		return h, fmt.Errorf("to %s from %s: %w", addr, from, err)
	}
	if tlsConf != nil {
		tc := tls.Client(nc, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return h, fmt.Errorf("TLS with %s from %s: %w", addr, from, err)
		}
		nc = tc
	}
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for _, line := range headers {
		req += line + "\r\n"
	}
	if _, err := io.WriteString(nc, req+"\r\n"); err != nil {
		return h, fmt.Errorf("handshake with %s from %s: %w", addr, from, err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return h, fmt.Errorf("handshake with %s from %s: %w", addr, from, err)
	}
	h.status = resp.StatusCode
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		h.body = strings.TrimSpace(string(b))
		return h, nil
	}
	payload, err := readServerFrame(br)
	if err != nil {
		return h, fmt.Errorf("connected frame from %s (from %s): %w", addr, from, err)
	}
	var f struct{ Type, Node string }
	if err := json.Unmarshal(payload, &f); err != nil || f.Type != "connected" {
		return h, fmt.Errorf("first frame from %s is %q (%v), want the connected frame", addr, payload, err)
	}
	_ = nc.SetDeadline(time.Time{})
	h.node, h.conn = f.Node, nc
	return h, nil
}

// readServerFrame reads one unmasked, unfragmented frame (RFC 6455 §5.2)
// and returns its payload.
func readServerFrame(br *bufio.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, err
	}
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if hdr[1]&0x80 != 0 || n > 1<<20 {
		return nil, fmt.Errorf("unexpected frame header %x, length %d", hdr, n)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(br, p)
	return p, err
}

// connections is the node's count of upgraded WebSocket connections.
func (n *node) connections(t testing.TB) int {
	t.Helper()
	return int(n.stats(t)["stats"].(map[string]any)["connections"].(float64))
}
