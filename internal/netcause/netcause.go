// Package netcause names the network cause of an error in a few words a
// reader can act on ("connection refused", "host not found"), for
// readiness reports. It returns fixed phrases, never the error's own text,
// which may carry addresses, user names or URLs with credentials.
package netcause

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// serverClosedIdle is net/http's error for a kept-alive connection the
// server closed between two requests: unexported, wrapping nothing, so
// known by its fixed text.
const serverClosedIdle = "http: server closed idle connection"

// Of returns the network cause of err, or "" when err has none it knows.
func Of(err error) string {
	var (
		dnsErr    *net.DNSError
		netErr    net.Error
		certErr   *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		recordErr tls.RecordHeaderError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "host not found"
		}
		return "host name lookup failed"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr):
		return "TLS certificate not trusted"
	case errors.As(err, &recordErr):
		return "TLS handshake failed (the server does not speak TLS)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "no answer in time"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		strings.Contains(err.Error(), serverClosedIdle):
		return "connection closed by the server"
	}
	return ""
}
