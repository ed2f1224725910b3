package modelkeep

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestValidateDatasetVersion(t *testing.T) {
	tests := []struct {
		v  string
		ok bool
	}{
		{"2026-11", true},
		{"v1.2.3+build:7", true},
		{"sha256-0123456789ab", true},
		{"A", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"-1", false},
		{"2026/11", false},
		{"v 1", false},
		{"..", false},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			err := ValidateDatasetVersion(tt.v)
			if (err == nil) != tt.ok {
				t.Errorf("ValidateDatasetVersion(%q) = %v, want ok %v", tt.v, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestDatasetVersionOf(t *testing.T) {
	tests := []struct {
		name string
		ref  DatasetRef
		want string
	}{
		{"named", DatasetRef{Name: "tx", Version: "2026-11", SHA256: strings.Repeat("a", 64)}, "2026-11"},
		{"by content", DatasetRef{Name: "tx", SHA256: "ABCDEF0123456789" + strings.Repeat("0", 48)}, "sha256-abcdef012345"},
		{"unpinned", DatasetRef{Name: "tx"}, "unversioned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := datasetVersionOf(tt.ref); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReconcileDataset(t *testing.T) {
	shaA, shaB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	stored := Dataset{Name: "tx", Version: "1", SHA256: shaA, URI: "s3://a", Size: 10}
	tests := []struct {
		name     string
		stored   Dataset
		in       Dataset
		strict   bool
		wantFill Dataset
		changed  bool
		conflict string
	}{
		{name: "the same again", stored: stored, in: stored, strict: true},
		{name: "less is the same", stored: stored, in: Dataset{SHA256: shaA}, strict: true},
		{name: "fills what is missing", stored: stored, in: Dataset{License: "cc-by-4.0", Description: "d"}, strict: true,
			wantFill: Dataset{Name: "tx", Version: "1", License: "cc-by-4.0", Description: "d"}, changed: true},
		{name: "fills the content of a bare record", stored: Dataset{Name: "tx", Version: "1"}, in: Dataset{SHA256: shaB, Size: 5},
			wantFill: Dataset{Name: "tx", Version: "1", SHA256: shaB, Size: 5}, changed: true},
		{name: "other bytes", stored: stored, in: Dataset{SHA256: shaB}, conflict: "sha256"},
		{name: "other size", stored: stored, in: Dataset{Size: 11}, conflict: "size"},
		{name: "a registration must agree on the uri", stored: stored, in: Dataset{URI: "s3://b"}, strict: true, conflict: "uri"},
		{name: "a reference keeps the registered uri", stored: stored, in: Dataset{URI: "s3://b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fill, changed, err := reconcileDataset(tt.stored, tt.in, tt.strict)
			if tt.conflict != "" {
				if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), tt.conflict) {
					t.Fatalf("err = %v, want a conflict about %s", err, tt.conflict)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.changed || (changed && fill != tt.wantFill) {
				t.Errorf("fill %+v changed %v, want %+v %v", fill, changed, tt.wantFill, tt.changed)
			}
		})
	}
}

func TestReconcileRun(t *testing.T) {
	env := RunEnvironment{Framework: "pytorch", Libraries: map[string]string{"numpy": "2.1"}}
	stored := Run{ID: "r", GitCommit: "abc", Parameters: map[string]string{"lr": "1"}, Environment: env}
	tests := []struct {
		name     string
		stored   Run
		in       Run
		wantFill Run // what the stored run gains
		changed  bool
		conflict string
	}{
		{name: "the same again", stored: stored, in: stored, wantFill: Run{ID: "r"}},
		{name: "nothing told", stored: stored, in: Run{ID: "r"}, wantFill: Run{ID: "r"}},
		{name: "fills the code uri", stored: stored, in: Run{ID: "r", CodeURI: "git://x"}, wantFill: Run{ID: "r", CodeURI: "git://x"}, changed: true},
		{name: "fills a bare run", stored: Run{ID: "r"}, in: stored, wantFill: stored, changed: true},
		{name: "another commit", stored: stored, in: Run{ID: "r", GitCommit: "def"}, conflict: "git_commit"},
		{name: "other parameters", stored: stored, in: Run{ID: "r", Parameters: map[string]string{"lr": "2"}}, conflict: "parameters"},
		{name: "another environment", stored: stored, in: Run{ID: "r", Environment: RunEnvironment{Framework: "jax"}}, conflict: "environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fill, changed, err := reconcileRun(tt.stored, tt.in)
			if tt.conflict != "" {
				if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), tt.conflict) {
					t.Fatalf("err = %v, want a conflict about %s", err, tt.conflict)
				}
				return
			}
			// Empty and nil maps are the same fill.
			same := fill.ID == tt.wantFill.ID && fill.GitCommit == tt.wantFill.GitCommit && fill.CodeURI == tt.wantFill.CodeURI &&
				maps.Equal(fill.Parameters, tt.wantFill.Parameters) && fill.Environment.Framework == tt.wantFill.Environment.Framework &&
				maps.Equal(fill.Environment.Libraries, tt.wantFill.Environment.Libraries)
			if err != nil || changed != tt.changed || !same {
				t.Errorf("fill %+v changed %v err %v, want %+v changed %v", fill, changed, err, tt.wantFill, tt.changed)
			}
		})
	}
}

func TestDatasetValidate(t *testing.T) {
	ok := Dataset{Name: "tx", Version: "1"}
	tests := []struct {
		name string
		mod  func(*Dataset)
		want string
	}{
		{"minimal", func(*Dataset) {}, ""},
		{"bad name", func(d *Dataset) { d.Name = "Tx" }, "name"},
		{"bad version", func(d *Dataset) { d.Version = "a/b" }, "version"},
		{"bad sha256", func(d *Dataset) { d.SHA256 = "xyz" }, "SHA-256"},
		{"negative size", func(d *Dataset) { d.Size = -1 }, "size"},
		{"long uri", func(d *Dataset) { d.URI = strings.Repeat("u", MaxURILen+1) }, "uri"},
		{"long license", func(d *Dataset) { d.License = strings.Repeat("l", MaxLicenseLen+1) }, "license"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ok
			tt.mod(&d)
			err := d.validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}
