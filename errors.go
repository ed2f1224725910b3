package modelkeep

import (
	"errors"
	"fmt"
)

// Sentinel errors: every error that reaches a user unwraps to one of these, and
// the HTTP layer maps each to one status code in one place.
var (
	ErrInvalid         = errors.New("invalid argument")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrForbidden       = errors.New("forbidden")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrPrecondition    = errors.New("precondition failed")
	ErrTooLarge        = errors.New("too large")
	ErrDigestMismatch  = errors.New("digest mismatch")
	ErrUnavailable     = errors.New("unavailable")
)

// Error is a user-facing error: Error() is the message a client may see and
// Unwrap gives the sentinel kind (and the cause, when there is one).
type Error struct {
	Kind    error
	Message string
	cause   error
}

func (e *Error) Error() string { return e.Message }

// Unwrap exposes both the sentinel and the underlying cause to errors.Is/As.
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

// ErrorCode is the stable machine-readable code for an error's kind, used in
// the JSON error body ({"error":{"code":...}}).
func ErrorCode(err error) string {
	for _, c := range errorCodes {
		if errors.Is(err, c.kind) {
			return c.code
		}
	}
	return "internal"
}

var errorCodes = []struct {
	kind error
	code string
}{
	{ErrInvalid, "invalid_argument"},
	{ErrUnauthenticated, "unauthenticated"},
	{ErrForbidden, "forbidden"},
	{ErrNotFound, "not_found"},
	{ErrConflict, "conflict"},
	{ErrPrecondition, "precondition_failed"},
	{ErrTooLarge, "too_large"},
	{ErrDigestMismatch, "digest_mismatch"},
	{ErrUnavailable, "unavailable"},
}
