package blob

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/modelkeep/modelkeep"
)

// responseError builds the error the SDK returns for an HTTP status.
func responseError(status int, err error) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "Op", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
	}}
}

func TestS3Err(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errors.New("connection refused"))}
	tests := []struct {
		name string
		err  error
		want error // sentinel expected in the chain; nil: none of ours
	}{
		{"nil", nil, nil},
		{"no such key", &types.NoSuchKey{}, modelkeep.ErrNotFound},
		{"head 404", responseError(404, &smithy.GenericAPIError{Code: "NotFound"}), modelkeep.ErrNotFound},
		{"bare 404", responseError(404, errors.New("?")), modelkeep.ErrNotFound},
		{"no such bucket", &types.NoSuchBucket{}, modelkeep.ErrUnavailable},
		{"503 slow down", responseError(503, &smithy.GenericAPIError{Code: "SlowDown"}), modelkeep.ErrUnavailable},
		{"500", responseError(500, &smithy.GenericAPIError{Code: "InternalError"}), modelkeep.ErrUnavailable},
		{"precondition", responseError(412, &smithy.GenericAPIError{Code: "PreconditionFailed"}), modelkeep.ErrPrecondition},
		{"dial refused", responseError(0, &smithyhttp.RequestSendError{Err: dial}), modelkeep.ErrUnavailable},
		{"dns", &smithyhttp.RequestSendError{Err: &net.DNSError{Err: "no such host", Name: "s3.invalid"}}, modelkeep.ErrUnavailable},
		{"deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), modelkeep.ErrUnavailable},
		{"access denied", responseError(403, &smithy.GenericAPIError{Code: "AccessDenied"}), nil},
		{"canceled", &smithyhttp.RequestSendError{Err: context.Canceled}, nil},
	}
	sentinels := []error{modelkeep.ErrNotFound, modelkeep.ErrUnavailable, modelkeep.ErrPrecondition}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s3Err(tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("s3Err lost the original error: %v", got)
			}
			for _, s := range sentinels {
				if errors.Is(got, s) != (s == tc.want) {
					t.Errorf("errors.Is(%v, %v) = %t, want %t", got, s, !(s == tc.want), s == tc.want)
				}
			}
		})
	}
	if err := s3Err(&smithyhttp.RequestSendError{Err: context.Canceled}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancellation is not kept: %v", err)
	}
}

func TestValidateKey(t *testing.T) {
	valid := []string{"a", "a/b", "files/0193/01J9/weights.safetensors", ".hidden", "a/.b", "a..b", "...", "ü/ñ", "with space"}
	for _, k := range valid {
		if err := validateKey(k); err != nil {
			t.Errorf("validateKey(%q) = %v, want nil", k, err)
		}
	}
	long := make([]byte, maxKeyLen+1)
	for i := range long {
		long[i] = 'a'
	}
	invalid := []string{"", "/", "/a", "a/", "a//b", ".", "..", "a/.", "./a", "a/../b", `a\b`, "a\x00b", "\xff", string(long)}
	for _, k := range invalid {
		if err := validateKey(k); !errors.Is(err, modelkeep.ErrInvalid) {
			t.Errorf("validateKey(%q) = %v, want ErrInvalid", k, err)
		}
	}
}

func TestPartSizeAt(t *testing.T) {
	const base = 8 << 20
	for _, tc := range []struct {
		size int64
		n    int
		want int64
	}{
		{-1, 1, base}, {-1, 1000, base}, {-1, 1001, 2 * base}, {-1, 4001, 16 * base},
		{-1, 10_000, 512 * base}, // capped below at 5 GiB
		{6 << 30, 1, base}, {100 << 30, 1, 11 << 20},
	} {
		if got := partSizeAt(base, tc.size, tc.n); got != tc.want {
			t.Errorf("partSizeAt(%d, %d) = %d, want %d", tc.size, tc.n, got, tc.want)
		}
	}
	// An unknown length fits far more than base x 10,000 into 10,000 parts.
	var total int64
	for n := 1; n <= 10_000; n++ {
		total += partSizeAt(base, -1, n)
	}
	if total < 1<<40 {
		t.Errorf("10,000 parts hold %d bytes", total)
	}
}

// TestRefusesChecksum: a store that does not take the CRC32C algorithm or
// the FULL_OBJECT type says so with one of these codes; other failures of
// the create are the upload's own and are not retried without it.
func TestRefusesChecksum(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{responseError(501, &smithy.GenericAPIError{Code: "NotImplemented"}), true},
		{responseError(400, &smithy.GenericAPIError{Code: "InvalidArgument"}), true},
		{responseError(400, &smithy.GenericAPIError{Code: "InvalidRequest"}), true},
		{responseError(403, &smithy.GenericAPIError{Code: "AccessDenied"}), false},
		{responseError(404, &smithy.GenericAPIError{Code: "NoSuchBucket"}), false},
		{responseError(503, &smithy.GenericAPIError{Code: "SlowDown"}), false},
		{errors.New("connection refused"), false},
	}
	for _, tt := range tests {
		if got := refusesChecksum(tt.err); got != tt.want {
			t.Errorf("refusesChecksum(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
