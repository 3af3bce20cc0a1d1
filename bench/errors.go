package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/gobwas/ws"
)

// Error kinds in the report's error table. Each failed or lost connection
// counts once, under the first thing that went wrong with it.
const (
	kindDialRefused      = "dial_refused"
	kindDialTimeout      = "dial_timeout"
	kindDialNoAddr       = "dial_addr_not_available"
	kindDialNoFiles      = "dial_too_many_open_files"
	kindDialReset        = "dial_reset"
	kindDialOther        = "dial_other"
	kindEnroll           = "enroll_failed"
	kindHandshakeTimeout = "handshake_timeout"
	kindClosedBeforeUp   = "closed_before_upgrade"
	kindClosedByServer   = "closed_by_server_without_close_frame"
	kindReset            = "connection_reset"
	kindProtocol         = "protocol_error"
	kindCloseTimeout     = "close_timeout"
	kindProxyHeader      = "proxy_header_failed"
	kindTLSHandshake     = "tls_handshake_failed"
	kindTLSCertificate   = "tls_bad_certificate" // the server's certificate did not verify
	kindDeflateDeclined  = "deflate_declined"    // --deflate, and the 101 accepted no permessage-deflate
	kindSubscribeRefused = "subscribe_refused"   // --subscribe-via frame, answered with an error frame
)

// dialErrorKind names a dial failure.
func dialErrorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return kindDialRefused
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return kindDialNoAddr
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return kindDialNoFiles
	case errors.Is(err, syscall.ECONNRESET):
		return kindDialReset
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return kindDialTimeout
	}
	return kindDialOther
}

// tlsErrorKind names a failed TLS handshake: a certificate that did not
// verify, a timeout, or any other failure.
func tlsErrorKind(err error) string {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	switch {
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn):
		return kindTLSCertificate
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return kindHandshakeTimeout
	}
	return kindTLSHandshake
}

// closeKind names a close frame the server sent first by its code and the
// start of its reason: "server_close_1008_pong_timeout". The reason is cut
// at the first ';' (wsgate's drain reason carries a varying delay) and at
// 40 bytes, so the kinds stay few.
func closeKind(code ws.StatusCode, reason []byte) string {
	b := append([]byte("server_close_"), strconv.Itoa(int(code))...)
	if i := bytes.IndexByte(reason, ';'); i >= 0 {
		reason = reason[:i]
	}
	if len(reason) > 0 {
		b = append(b, '_')
	}
	for _, c := range reason[:min(len(reason), 40)] {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, '_')
		}
	}
	return string(b)
}
