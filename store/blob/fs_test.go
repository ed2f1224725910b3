package blob_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/store/blob"
	"github.com/modelkeep/modelkeep/store/blob/blobtest"
)

func newFS(t *testing.T) (*blob.FS, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "blobs")
	s, err := blob.NewFS(root)
	if err != nil {
		t.Fatalf("NewFS: %v", err)
	}
	return s, root
}

func TestFS(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) modelkeep.BlobStore {
		s, root := newFS(t)
		// Whatever a subtest did, it must leave no temp files behind.
		t.Cleanup(func() { assertNoTempFiles(t, root) })
		return s
	})
}

func TestFSConfinedToRoot(t *testing.T) {
	s, root := newFS(t)
	// A file next to the root that an escaping key would reach.
	outside := filepath.Join(filepath.Dir(root), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := []string{"../secret", "a/../../secret", "/etc/passwd", outside, "..\\secret", "a/b/../../../secret"}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			if _, err := s.Put(t.Context(), key, strings.NewReader("x"), 1); !errors.Is(err, modelkeep.ErrInvalid) {
				t.Errorf("Put = %v, want ErrInvalid", err)
			}
			if rc, _, err := s.Open(t.Context(), key); !errors.Is(err, modelkeep.ErrInvalid) {
				if rc != nil {
					rc.Close()
				}
				t.Errorf("Open = %v, want ErrInvalid", err)
			}
			if err := s.Delete(t.Context(), key); !errors.Is(err, modelkeep.ErrInvalid) {
				t.Errorf("Delete = %v, want ErrInvalid", err)
			}
		})
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "secret" {
		t.Errorf("file outside the root changed: %q, %v", b, err)
	}
}

func TestFSReservedTempPrefix(t *testing.T) {
	s, _ := newFS(t)
	_, err := s.Put(t.Context(), "a/.modelkeep-tmp-123", strings.NewReader("x"), 1)
	if !errors.Is(err, modelkeep.ErrInvalid) {
		t.Errorf("Put = %v, want ErrInvalid", err)
	}
}

func TestFSFailedPutLeavesNoFiles(t *testing.T) {
	tests := []struct {
		name string
		body io.Reader
		size int64
	}{
		{"reader error", io.MultiReader(strings.NewReader("partial"), errReader{}), -1},
		{"short body", strings.NewReader("short"), 100},
		{"long body", strings.NewReader("too long"), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, root := newFS(t)
			if _, err := s.Put(t.Context(), "deep/nested/dir/blob", tc.body, tc.size); err == nil {
				t.Fatal("Put succeeded")
			}
			// Not even the directories created for the key are left.
			entries, err := os.ReadDir(root)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Errorf("root holds %d entries after a failed put, want none", len(entries))
			}
		})
	}
}

func TestFSDeletePrunesEmptyDirs(t *testing.T) {
	s, root := newFS(t)
	for _, key := range []string{"files/v1/a", "files/v1/b", "files/v2/c"} {
		if _, err := s.Put(t.Context(), key, strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"files/v1/a", "files/v1/b"} {
		if err := s.Delete(t.Context(), key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "files", "v1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directory files/v1 kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "files", "v2", "c")); err != nil {
		t.Errorf("neighbour blob gone: %v", err)
	}
	if err := s.Delete(t.Context(), "files/v2/c"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("root removed by pruning: %v", err)
	}
}

// TestFSPing: Ping's error is ErrUnavailable with a message that says why
// (readiness shows it).
func TestFSPing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		breakRoot func(root string) error
		want      string
	}{
		{"root removed", os.Remove, "directory %s not found"},
		{"root replaced by a file", func(root string) error {
			if err := os.Remove(root); err != nil {
				return err
			}
			return os.WriteFile(root, nil, 0o600)
		}, "%s is not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, root := newFS(t)
			if err := tc.breakRoot(root); err != nil {
				t.Fatal(err)
			}
			err := s.Ping(t.Context())
			var why *modelkeep.Error
			if want := fmt.Sprintf(tc.want, root); !errors.Is(err, modelkeep.ErrUnavailable) || !errors.As(err, &why) || why.Message != want {
				t.Errorf("Ping = %v, want ErrUnavailable saying %q", err, want)
			}
		})
	}
}

func TestNewFS(t *testing.T) {
	if _, err := blob.NewFS(""); !errors.Is(err, modelkeep.ErrInvalid) {
		t.Errorf("NewFS(\"\") = %v, want ErrInvalid", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := blob.NewFS(file); err == nil {
		t.Errorf("NewFS on a regular file succeeded")
	}
	nested := filepath.Join(t.TempDir(), "x", "y", "blobs")
	if _, err := blob.NewFS(nested); err != nil {
		t.Fatalf("NewFS(%q): %v", nested, err)
	}
	if fi, err := os.Stat(nested); err != nil || !fi.IsDir() {
		t.Errorf("root not created: %v", err)
	}
}

func TestFSOpenReturnsFile(t *testing.T) {
	s, _ := newFS(t)
	if _, err := s.Put(t.Context(), "k", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.Open(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	// *os.File lets http.ServeContent and io.Copy use sendfile.
	if _, ok := rc.(*os.File); !ok {
		t.Errorf("Open returned %T, want *os.File", rc)
	}
}

// assertNoTempFiles fails if any in-flight upload file is left under root.
func assertNoTempFiles(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".modelkeep-tmp-") {
			t.Errorf("temp file left behind: %s", p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("walk %s: %v", root, err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read failed") }
