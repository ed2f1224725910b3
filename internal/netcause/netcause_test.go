package netcause

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

func TestOf(t *testing.T) {
	dial := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: err}}
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"refused", fmt.Errorf("ping: %w", dial(syscall.ECONNREFUSED)), "connection refused"},
		{"no such host", &net.DNSError{Err: "no such host", Name: "db", IsNotFound: true}, "host not found"},
		{"lookup failed", &net.DNSError{Err: "server misbehaving", Name: "db"}, "host name lookup failed"},
		{"unreachable", dial(syscall.EHOSTUNREACH), "host unreachable"},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), "no answer in time"},
		{"i/o timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, "no answer in time"},
		{"reset", dial(syscall.ECONNRESET), "connection closed by the server"},
		{"eof", fmt.Errorf("read handshake: %w", io.ErrUnexpectedEOF), "connection closed by the server"},
		{"idle connection closed", &url.Error{Op: "Head", URL: "http://127.0.0.1:1/b", Err: errors.New("http: server closed idle connection")}, "connection closed by the server"},
		{"unknown CA", fmt.Errorf("get: %w", x509.UnknownAuthorityError{}), "TLS certificate not trusted"},
		{"not network", errors.New("syntax error near 'x' for user root:hunter2"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.err); got != tc.want {
				t.Errorf("Of(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
