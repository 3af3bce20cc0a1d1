package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// What stands between wsbench and the server: TLS for wss:// targets, and
// the PROXY header a load balancer would send. The options are checked
// here once, for Validate, and carried to every process in its Plan.

// anyTLS reports whether a target is wss://.
func (c Config) anyTLS() bool {
	for _, u := range c.URLs {
		if t, err := ParseTarget(u); err == nil && t.TLS {
			return true
		}
	}
	return false
}

func (c Config) tlsOptions() TLSOptions {
	return TLSOptions{CAFile: c.TLSCAFile, Insecure: c.TLSInsecure, ServerName: c.TLSServerName}
}

// proxyOptions parses the PROXY settings; the error names the flag.
func (c Config) proxyOptions() (ProxyOptions, error) {
	o := ProxyOptions{Version: c.ProxyProtocol}
	if err := o.check(); err != nil {
		return o, err
	}
	if c.ProxySource == "" {
		return o, nil
	}
	if o.Version == "" {
		return o, errors.New("--proxy-source needs --proxy-protocol")
	}
	a, err := netip.ParseAddr(c.ProxySource)
	if err != nil {
		return o, fmt.Errorf("--proxy-source: %w", err)
	}
	o.Source = a
	return o, nil
}

// validateTransport reports the problems of the TLS and PROXY settings.
func (c Config) validateTransport() []error {
	var errs []error
	o := c.tlsOptions()
	switch {
	case c.anyTLS():
		if err := o.check(); err != nil {
			errs = append(errs, err)
		}
	case o != TLSOptions{}:
		errs = append(errs, errors.New("--tls-ca, --tls-insecure and --tls-server-name apply to wss:// targets, and no --url is one"))
	}
	if _, err := c.proxyOptions(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// dialStream opens a connection to t for a client that reads on its own
// goroutine (the WebSocket publisher): TCP, the PROXY header as the
// client proxyID would have it, then TLS for a wss:// target.
func (c Config) dialStream(ctx context.Context, t Target, proxyID uint32) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, err
	}
	if po, _ := c.proxyOptions(); po.Version != "" {
		hdr, err := po.appendProxyHeader(nil, proxyID, nc.LocalAddr(), nc.RemoteAddr())
		if err == nil {
			_ = nc.SetWriteDeadline(time.Now().Add(c.ConnectTimeout))
			_, err = nc.Write(hdr)
		}
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("PROXY header: %w", err)
		}
	}
	if !t.TLS {
		return nc, nil
	}
	cfg, err := c.tlsOptions().clientConfig(t)
	if err != nil {
		nc.Close()
		return nil, err
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}
