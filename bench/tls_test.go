package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCert makes a throwaway self-signed certificate for "wsgate.test"
// only (no IP address: a client must be told the name), returning the
// server's configuration and the certificate as a PEM file of roots.
func testCert(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wsgate.test"},
		DNSNames:              []string{"wsgate.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, ca
}

func wssURL(srv *stallServer, path string) string { return "wss://" + srv.ln.Addr().String() + path }

func runFor(t *testing.T, cfg Config) *Report {
	t.Helper()
	cfg.Procs = 1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestTLSEchoWithProxyHeader: echo connections to a wss:// target, each
// starting with a PROXY v2 header before its TLS handshake, run on the
// TLS task loops through the same accounting as plain ones: every message
// answered and timed once, frames split inside their header included; the
// server read one header per connection, from 10.0.0.<i> on the socket's
// port, to its own address; the report names the negotiated TLS.
func TestTLSEchoWithProxyHeader(t *testing.T) {
	srvTLS, ca := testCert(t)
	srv := startStallServerWith(t, srvTLS, true)
	srv.split.Store(true)
	const conns = 16
	rep := runFor(t, Config{
		Scenario: ScenarioEcho, URLs: []string{wssURL(srv, "/echo")}, Conns: conns, Loops: 2,
		Duration: 300 * time.Millisecond, TLSCAFile: ca, TLSServerName: "wsgate.test", ProxyProtocol: ProxyV2,
	})
	checkEchoAccounting(t, rep, srv, conns)
	if !strings.HasPrefix(rep.Settings.TLS, "wss, verified against "+ca+"; TLS 1.3, ") || !strings.HasPrefix(rep.Settings.ProxyProtocol, "v2, ") {
		t.Errorf("settings tls %q, proxy %q: want the roots, the negotiated TLS and the PROXY version recorded", rep.Settings.TLS, rep.Settings.ProxyProtocol)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	seen := map[netip.Addr]bool{}
	for _, h := range srv.headers {
		if h.version != 2 || h.dst.String() != srv.ln.Addr().String() || h.src.Port() == 0 {
			t.Errorf("header %+v: want v2 to %s from a real port", h, srv.ln.Addr())
		}
		seen[h.src.Addr()] = true
	}
	for i := range conns {
		if a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}); !seen[a] {
			t.Errorf("no connection claimed %s; headers %+v", a, srv.headers)
		}
	}
	if len(srv.headers) != conns {
		t.Errorf("%d headers for %d connections", len(srv.headers), conns)
	}
}

// TestTLSConnectAndVerification: connections held on wss:// open and close
// cleanly when the certificate verifies (the name given with
// --tls-server-name) or when verification is off (reported as such); a
// certificate that does not verify fails each connection as
// tls_bad_certificate, without a frame sent.
func TestTLSConnectAndVerification(t *testing.T) {
	srvTLS, ca := testCert(t)
	srv := startStallServerWith(t, srvTLS, false)
	base := Config{Scenario: ScenarioConnect, URLs: []string{wssURL(srv, "/ws")}, Conns: 200, Hold: 50 * time.Millisecond, Loops: 2}

	ok := base
	ok.TLSCAFile, ok.TLSServerName = ca, "wsgate.test"
	rep := runFor(t, ok)
	if rep.Connections.OpenAtReady != 200 || len(rep.Errors) > 0 {
		t.Errorf("verified: %d open, errors %v; want 200 and none", rep.Connections.OpenAtReady, rep.Errors)
	}

	insecure := base
	insecure.TLSInsecure = true
	rep = runFor(t, insecure)
	if rep.Connections.OpenAtReady != 200 || !strings.Contains(rep.Settings.TLS, "NOT verified") {
		t.Errorf("insecure: %d open, tls %q; want 200 and the warning", rep.Connections.OpenAtReady, rep.Settings.TLS)
	}

	wrongName := base
	wrongName.TLSCAFile = ca // the URL's 127.0.0.1 is not in the certificate
	rep = runFor(t, wrongName)
	if rep.Connections.OpenAtReady != 0 || rep.Errors[kindTLSCertificate] != 200 {
		t.Errorf("wrong name: %d open, errors %v; want none open, 200 %s", rep.Connections.OpenAtReady, rep.Errors, kindTLSCertificate)
	}
}

// TestWSPublisherTLSAndProxy: the WebSocket publisher dials like the
// subscribers: PROXY header (publisher 1 from 10.255.255.254), TLS, upgrade.
func TestWSPublisherTLSAndProxy(t *testing.T) {
	srvTLS, ca := testCert(t)
	srv := startStallServerWith(t, srvTLS, true)
	cfg := Config{TLSCAFile: ca, TLSServerName: "wsgate.test", ProxyProtocol: ProxyV1, ConnectTimeout: 5 * time.Second}
	tg, err := ParseTarget(wssURL(srv, "/ws"))
	if err != nil {
		t.Fatal(err)
	}
	snd, err := dialWSSender(context.Background(), cfg, tg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snd.send(context.Background(), "c", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := snd.close(); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.headers) != 1 || srv.headers[0].version != 1 || srv.headers[0].src.Addr() != netip.MustParseAddr("10.255.255.254") {
		t.Fatalf("headers %+v: want one v1 header from 10.255.255.254", srv.headers)
	}
}

// TestTransportConfigErrors: TLS flags without a wss:// target, TLS flags
// that exclude each other, an unknown PROXY version, a source without a
// version, and an unreadable CA file are each refused by name.
func TestTransportConfigErrors(t *testing.T) {
	ws, wss := []string{"ws://127.0.0.1:1/ws"}, []string{"wss://127.0.0.1:1/ws"}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{URLs: ws, TLSInsecure: true}, "apply to wss:// targets"},
		{Config{URLs: wss, TLSInsecure: true, TLSCAFile: "x.pem"}, "exclude each other"},
		{Config{URLs: wss, TLSCAFile: filepath.Join(t.TempDir(), "none.pem")}, "--tls-ca"},
		{Config{URLs: ws, ProxyProtocol: "v3"}, `--proxy-protocol "v3"`},
		{Config{URLs: ws, ProxySource: "10.0.0.1"}, "--proxy-source needs --proxy-protocol"},
		{Config{URLs: ws, ProxyProtocol: ProxyV2, ProxySource: "host"}, "--proxy-source"},
	} {
		c.cfg.Scenario, c.cfg.Conns = ScenarioConnect, 1
		err := c.cfg.withDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %q", c.cfg, err, c.want)
		}
	}
	ok := Config{Scenario: ScenarioConnect, Conns: 1, URLs: wss, TLSServerName: "x", ProxyProtocol: ProxyV1, ProxySource: "2001:db8::7"}
	if err := ok.withDefaults().Validate(); err != nil {
		t.Errorf("valid wss:// and PROXY settings refused: %v", err)
	}
}

// TestTLSWireKeepsAPartialRead: what the loop leaves unread (a handshake
// response cut short) is copied out of the reader's buffer before the
// reader reuses it, and the next read follows it.
func TestTLSWireKeepsAPartialRead(t *testing.T) {
	var w tlsWire
	buf := []byte("HTTP/1.1 101")
	w.take(buf)
	if b, _ := w.Peek(-1); string(b) != "HTTP/1.1 101" {
		t.Fatalf("peek %q", b)
	}
	w.keep() // the loop consumed nothing
	copy(buf, "XXXXXXXXXXXX")
	w.take([]byte(" Switching"))
	if b, _ := w.Peek(-1); string(b) != "HTTP/1.1 101 Switching" {
		t.Fatalf("after the next read: %q", b)
	}
	if n, _ := w.Discard(5); n != 5 {
		t.Fatalf("discarded %d", n)
	}
	if b, _ := w.Next(-1); string(b) != "1.1 101 Switching" {
		t.Fatalf("next %q", b)
	}
	w.keep()
	if w.in != nil || w.owned {
		t.Fatalf("all consumed, yet %q kept", w.in)
	}
}
