package bench

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSOptions say how wss:// targets are dialled. They travel in a Plan to
// worker processes, which load the roots themselves.
type TLSOptions struct {
	CAFile     string `json:"ca_file,omitempty"`     // PEM roots to trust; empty: the system's
	Insecure   bool   `json:"insecure,omitempty"`    // no verification at all (loudly reported)
	ServerName string `json:"server_name,omitempty"` // SNI and the name verified; empty: the URL's host
}

// Describe says, for the report, how the server was authenticated.
func (o TLSOptions) Describe() string {
	switch {
	case o.Insecure:
		return "wss, certificate NOT verified (--tls-insecure)"
	case o.CAFile != "":
		return "wss, verified against " + o.CAFile
	}
	return "wss, verified against the system roots"
}

// check reports a bad combination or an unreadable CA file.
func (o TLSOptions) check() error {
	if o.Insecure && o.CAFile != "" {
		return errors.New("--tls-insecure and --tls-ca exclude each other")
	}
	_, err := o.roots()
	return err
}

func (o TLSOptions) roots() (*x509.CertPool, error) {
	if o.CAFile == "" {
		return nil, nil // crypto/tls uses the system's
	}
	pem, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", o.CAFile)
	}
	return pool, nil
}

// clientConfig is the TLS configuration for target t. There is no session
// cache: every connection stands for a new client and pays a full
// handshake, which is what a proxy meeting new visitors pays.
func (o TLSOptions) clientConfig(t Target) (*tls.Config, error) {
	roots, err := o.roots()
	if err != nil {
		return nil, err
	}
	name := o.ServerName
	if name == "" {
		name = t.ServerName
	}
	return &tls.Config{
		RootCAs:            roots,
		ServerName:         name,
		InsecureSkipVerify: o.Insecure, //nolint:gosec // asked for with --tls-insecure, and reported as such
		MinVersion:         tls.VersionTLS12,
	}, nil
}

// tlsState names what a handshake negotiated, for the report:
// "TLS 1.3, TLS_AES_128_GCM_SHA256, X25519MLKEM768".
func tlsState(st tls.ConnectionState) string {
	return tls.VersionName(st.Version) + ", " + tls.CipherSuiteName(st.CipherSuite) + ", " + st.CurveID.String()
}
