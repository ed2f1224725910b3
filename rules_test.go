package modelkeep_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"fraud-detector", true},
		{"a", true},
		{"0", true},
		{"model.v2_final-x", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"Fraud", false},
		{"-a", false},
		{".a", false},
		{"_a", false},
		{"a b", false},
		{"a/b", false},
		{"naïve", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := modelkeep.ValidateName("model", tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
			}
			if err != nil && !errors.Is(err, modelkeep.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestValidateFilePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"model.bin", true},
		{"weights/layer-1/model.safetensors", true},
		{"a b/ünïcode.txt", true},
		{"..data", true},
		{"a..b", true},
		{"", false},
		{"/abs", false},
		{"a//b", false},
		{"a/", false},
		{"./a", false},
		{"a/./b", false},
		{"..", false},
		{"a/../b", false},
		{`a\b`, false},
		{"a\x00b", false},
		{"a\nb", false},
		{"\xff", false},
		{strings.Repeat("a", 1025), false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			err := modelkeep.ValidateFilePath(tc.path)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateFilePath(%q) = %v, want ok=%v", tc.path, err, tc.ok)
			}
			if err != nil && !errors.Is(err, modelkeep.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestManifestDigest(t *testing.T) {
	files := []modelkeep.File{
		{Path: "b/weights.bin", Size: 10, SHA256: strings.Repeat("b", 64)},
		{Path: "a.json", Size: 2, SHA256: strings.Repeat("a", 64)},
		{Path: "B.txt", Size: 0, SHA256: strings.Repeat("c", 64)},
	}
	// sha256 of "cccc…  0  B.txt\naaaa…  2  a.json\nbbbb…  10  b/weights.bin\n",
	// computed independently with sha256sum.
	const want = "sha256:5bc9d37ec20c7f5fcd81119354ed4fc64f8543eefc05406fc61338140878d2e1"
	got := modelkeep.ManifestDigest(files)
	if got != want {
		t.Fatalf("ManifestDigest = %s, want %s", got, want)
	}
	// Order of the input does not matter.
	reversed := []modelkeep.File{files[2], files[1], files[0]}
	if modelkeep.ManifestDigest(reversed) != got {
		t.Fatal("digest depends on input order")
	}
	// Any change of size, digest or path changes it.
	for i := range files {
		changed := append([]modelkeep.File(nil), files...)
		changed[i].Size++
		if modelkeep.ManifestDigest(changed) == got {
			t.Fatalf("size change of %s not reflected", files[i].Path)
		}
	}
}

func TestErrorf(t *testing.T) {
	cause := errors.New("disk on fire")
	err := modelkeep.Errorf(modelkeep.ErrUnavailable, "write blob: %w", cause)
	if !errors.Is(err, modelkeep.ErrUnavailable) || !errors.Is(err, cause) {
		t.Fatalf("%v should be both ErrUnavailable and its cause", err)
	}
	if err.Error() != "write blob: disk on fire" {
		t.Fatalf("message %q", err.Error())
	}
	if got := modelkeep.KindOf(err); got != modelkeep.ErrUnavailable {
		t.Fatalf("kind %v", got)
	}
}

// The one error table: each kind's code and HTTP status, found through any
// wrapping, and no kind for an error that has none (a 500).
func TestErrorKinds(t *testing.T) {
	tests := []struct {
		kind   *modelkeep.ErrorKind
		code   string
		status int
	}{
		{modelkeep.ErrInvalid, "invalid_argument", 400},
		{modelkeep.ErrUnauthenticated, "unauthenticated", 401},
		{modelkeep.ErrForbidden, "forbidden", 403},
		{modelkeep.ErrNotFound, "not_found", 404},
		{modelkeep.ErrConflict, "conflict", 409},
		{modelkeep.ErrPrecondition, "precondition_failed", 412},
		{modelkeep.ErrTooLarge, "too_large", 413},
		{modelkeep.ErrDigestMismatch, "digest_mismatch", 422},
		{modelkeep.ErrUnavailable, "unavailable", 503},
		{modelkeep.ErrCSRF, "csrf_failed", 403},
		{modelkeep.ErrRateLimited, "rate_limited", 429},
	}
	if len(tests) != len(modelkeep.ErrorKinds) {
		t.Fatalf("%d kinds in the table, %d tested", len(modelkeep.ErrorKinds), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if tt.kind.Code != tt.code || tt.kind.Status != tt.status {
				t.Errorf("%v: code %q status %d, want %q %d", tt.kind, tt.kind.Code, tt.kind.Status, tt.code, tt.status)
			}
			for _, err := range []error{
				tt.kind,
				modelkeep.Errorf(tt.kind, "model %q not found", "m"),
				fmt.Errorf("read model: %w", modelkeep.Errorf(tt.kind, "x: %w", errors.New("cause"))),
			} {
				if got := modelkeep.KindOf(err); got != tt.kind {
					t.Errorf("KindOf(%v) = %v, want %v", err, got, tt.kind)
				}
			}
		})
	}
	if got := modelkeep.KindOf(errors.New("x")); got != nil {
		t.Errorf("a plain error has kind %v", got)
	}
}
