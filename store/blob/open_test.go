package blob

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		dataDir string
		wantDir string
		wantS3  *S3Options
		wantErr string // substring of the error; empty means success
	}{
		{name: "empty uses the data dir", spec: "", dataDir: "./data", wantDir: filepath.Join("data", "blobs")},
		{name: "empty with absolute data dir", spec: "", dataDir: "/var/lib/modelkeep", wantDir: "/var/lib/modelkeep/blobs"},
		{name: "empty without data dir", spec: "", dataDir: "", wantErr: "no data directory"},
		{name: "file absolute", spec: "file:/srv/blobs", wantDir: "/srv/blobs"},
		{name: "file relative kept as given", spec: "file:./data/blobs", wantDir: "./data/blobs"},
		{name: "file relative bare", spec: "file:blobs", wantDir: "blobs"},
		{name: "file url form", spec: "file:///srv/blobs", wantDir: "/srv/blobs"},
		{name: "file url localhost", spec: "file://localhost/srv/blobs", wantDir: "/srv/blobs"},
		{name: "file url with host", spec: "file://nas/srv/blobs", wantErr: "cannot name a host"},
		{name: "file without dir", spec: "file:", wantErr: "needs a directory"},
		{
			name:   "s3 full",
			spec:   "s3://models?endpoint=http://127.0.0.1:7070&region=us-east-1&path_style=true",
			wantS3: &S3Options{Bucket: "models", Endpoint: "http://127.0.0.1:7070", Region: "us-east-1", PathStyle: true},
		},
		{name: "s3 bucket only", spec: "s3://models", wantS3: &S3Options{Bucket: "models"}},
		{name: "s3 trailing slash", spec: "s3://models/", wantS3: &S3Options{Bucket: "models"}},
		{name: "s3 path style false", spec: "s3://models?path_style=0", wantS3: &S3Options{Bucket: "models"}},
		{name: "s3 https endpoint", spec: "s3://my.models-1?endpoint=https://s3.example.com", wantS3: &S3Options{Bucket: "my.models-1", Endpoint: "https://s3.example.com"}},
		{name: "s3 no bucket", spec: "s3://?region=us-east-1", wantErr: "no bucket"},
		{name: "s3 one slash", spec: "s3:/models", wantErr: "no bucket"},
		{name: "s3 opaque", spec: "s3:models", wantErr: "two slashes"},
		{name: "s3 bad bucket", spec: "s3://a", wantErr: "not a valid bucket"},
		{name: "s3 key prefix", spec: "s3://models/prefix", wantErr: "key prefix"},
		{name: "s3 credentials in spec", spec: "s3://key:secret@models", wantErr: "credentials do not belong"},
		{name: "s3 unknown parameter", spec: "s3://models?pathstyle=true", wantErr: `unknown parameter "pathstyle"`},
		{name: "s3 repeated parameter", spec: "s3://models?region=a&region=b", wantErr: "more than once"},
		{name: "s3 bad path_style", spec: "s3://models?path_style=yes", wantErr: "not a boolean"},
		{name: "s3 endpoint without scheme", spec: "s3://models?endpoint=127.0.0.1:7070", wantErr: "not an http(s) url"},
		{name: "s3 endpoint wrong scheme", spec: "s3://models?endpoint=ftp://host", wantErr: "not an http(s) url"},
		{name: "s3 bad query", spec: "s3://models?region=%zz", wantErr: "invalid"},
		{name: "no scheme", spec: "/srv/blobs", wantErr: "want file:<dir> or s3://"},
		{name: "unknown scheme", spec: "gs://models", wantErr: `unsupported scheme "gs"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSpec(tc.spec, tc.dataDir)
			if tc.wantErr != "" {
				if !errors.Is(err, modelkeep.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseSpec(%q) = %v, want ErrInvalid containing %q", tc.spec, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseSpec(%q): %v", tc.spec, err)
			}
			if got.dir != tc.wantDir {
				t.Errorf("dir = %q, want %q", got.dir, tc.wantDir)
			}
			switch {
			case (got.s3 == nil) != (tc.wantS3 == nil):
				t.Errorf("s3 = %+v, want %+v", got.s3, tc.wantS3)
			case got.s3 != nil && *got.s3 != *tc.wantS3:
				t.Errorf("s3 = %+v, want %+v", *got.s3, *tc.wantS3)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dataDir := t.TempDir()
	s, err := Open(t.Context(), "", dataDir)
	if err != nil {
		t.Fatalf("Open default: %v", err)
	}
	if fs, ok := s.(*FS); !ok || fs.root != filepath.Join(dataDir, "blobs") {
		t.Errorf("Open default = %#v, want FS at %s", s, filepath.Join(dataDir, "blobs"))
	}

	s, err = Open(t.Context(), "s3://models?endpoint=http://127.0.0.1:7070&path_style=true", dataDir)
	if err != nil {
		t.Fatalf("Open s3: %v", err)
	}
	if s3, ok := s.(*S3); !ok || s3.bucket != "models" {
		t.Errorf("Open s3 = %#v, want S3 on bucket models", s)
	}

	if _, err := Open(t.Context(), "bogus", dataDir); !errors.Is(err, modelkeep.ErrInvalid) {
		t.Errorf("Open bogus = %v, want ErrInvalid", err)
	}
}
