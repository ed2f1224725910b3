package modelkeep

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrorKind is a category of failure a user may see: every error that
// reaches a user unwraps to one of the kinds below. The kind says, in this
// one table, what the failure is called in the JSON error body
// ({"error":{"code":...}}) and which HTTP status answers it; api/errors.go
// maps errors through it and nothing else.
type ErrorKind struct {
	msg    string
	Code   string // the error.code of the JSON body
	Status int    // the HTTP status
}

func (k *ErrorKind) Error() string { return k.msg }

// The kinds. Compare with errors.Is.
var (
	ErrInvalid         = &ErrorKind{"invalid argument", "invalid_argument", http.StatusBadRequest}
	ErrUnauthenticated = &ErrorKind{"unauthenticated", "unauthenticated", http.StatusUnauthorized}
	ErrForbidden       = &ErrorKind{"forbidden", "forbidden", http.StatusForbidden}
	ErrNotFound        = &ErrorKind{"not found", "not_found", http.StatusNotFound}
	ErrConflict        = &ErrorKind{"conflict", "conflict", http.StatusConflict}
	ErrPrecondition    = &ErrorKind{"precondition failed", "precondition_failed", http.StatusPreconditionFailed}
	ErrTooLarge        = &ErrorKind{"too large", "too_large", http.StatusRequestEntityTooLarge}
	ErrDigestMismatch  = &ErrorKind{"digest mismatch", "digest_mismatch", http.StatusUnprocessableEntity}
	ErrUnavailable     = &ErrorKind{"unavailable", "unavailable", http.StatusServiceUnavailable}
	// ErrCSRF refuses a change made with a browser session's cookie that
	// does not prove it comes from Modelkeep's own pages (no or a wrong
	// X-CSRF-Token, a foreign Origin). A 403 of its own code, so that the
	// web UI can tell it from missing rights.
	ErrCSRF = &ErrorKind{"csrf check failed", "csrf_failed", http.StatusForbidden}
	// ErrRateLimited refuses a request over its caller's budget (a
	// token's, or a client address's): the HTTP layer's, answered with
	// Retry-After and the RateLimit header fields.
	ErrRateLimited = &ErrorKind{"rate limited", "rate_limited", http.StatusTooManyRequests}
)

// ErrorKinds lists every kind, in the order KindOf tries them.
var ErrorKinds = []*ErrorKind{
	ErrInvalid, ErrUnauthenticated, ErrForbidden, ErrNotFound, ErrConflict,
	ErrPrecondition, ErrTooLarge, ErrDigestMismatch, ErrUnavailable, ErrCSRF, ErrRateLimited,
}

// KindOf returns the kind err unwraps to, or nil for an error of no kind
// (an internal failure, answered 500 without its message).
func KindOf(err error) *ErrorKind {
	for _, k := range ErrorKinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// Error is a user-facing error: Error() is the message a client may see and
// Unwrap gives the kind (and the cause, when there is one).
type Error struct {
	Kind    error
	Message string
	cause   error
}

func (e *Error) Error() string { return e.Message }

// Unwrap exposes both the kind and the underlying cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Kind, e.cause}
	}
	return []error{e.Kind}
}

// Errorf builds an *Error of the given kind. A %w verb in format records the
// cause too, so errors.Is finds both the kind and the cause.
func Errorf(kind error, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), cause: errors.Unwrap(err)}
}
