package store

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/audit"

	"github.com/modelkeep/modelkeep"
)

func TestPutFile(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		n := mustCreateVersion(t, s, "m")
		at := time.Date(2025, 2, 3, 4, 5, 6, 7891011, time.UTC)
		first := modelkeep.File{Path: "weights/model.bin", Size: 10, SHA256: sha("one"), BlobKey: "files/1/a", CreatedAt: at}

		t.Run("new path replaces nothing", func(t *testing.T) {
			replaced, err := s.PutFile(ctx, "m", n, first)
			if err != nil || replaced != nil {
				t.Fatalf("PutFile = %v, %v; want nil, nil", replaced, err)
			}
			got, err := s.GetFile(ctx, "m", n, first.Path)
			want := first
			want.CreatedAt = at.Truncate(time.Microsecond)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("GetFile = %+v, %v; want %+v", got, err, want)
			}
		})
		t.Run("same path returns the replaced file", func(t *testing.T) {
			second := modelkeep.File{Path: first.Path, Size: 20, SHA256: sha("two"), BlobKey: "files/1/b"}
			replaced, err := s.PutFile(ctx, "m", n, second)
			if err != nil {
				t.Fatal(err)
			}
			if replaced == nil || replaced.BlobKey != first.BlobKey || replaced.Size != first.Size || replaced.SHA256 != first.SHA256 {
				t.Errorf("replaced = %+v, want the first file", replaced)
			}
			got, err := s.GetFile(ctx, "m", n, first.Path)
			if err != nil || got.BlobKey != second.BlobKey || got.Size != 20 || got.SHA256 != second.SHA256 {
				t.Errorf("GetFile = %+v, %v; want the second file", got, err)
			}
			for key, want := range map[string]bool{first.BlobKey: false, second.BlobKey: true} {
				if used, err := s.BlobKeyInUse(ctx, key); err != nil || used != want {
					t.Errorf("BlobKeyInUse(%s) = %v, %v; want %v", key, used, err, want)
				}
			}
		})
		t.Run("paths are case-sensitive and sorted bytewise", func(t *testing.T) {
			long := strings.Repeat("é", modelkeep.MaxPathLen/2) // 1024 bytes, 512 characters
			for i, p := range []string{"a.txt", "A.txt", "b/c", "B", long} {
				mustPutFile(t, s, "m", n, p, fmt.Sprintf("files/1/%d", i))
			}
			files, err := s.ListFiles(ctx, "m", n)
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, f := range files {
				paths = append(paths, f.Path)
			}
			want := []string{"A.txt", "B", "a.txt", "b/c", "weights/model.bin", long}
			if !slices.Equal(paths, want) {
				t.Errorf("paths %q, want %q", paths, want)
			}
		})
		t.Run("ready versions refuse files", func(t *testing.T) {
			files, err := s.ListFiles(ctx, "m", n)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.FinalizeVersion(ctx, "m", n, modelkeep.ManifestDigest(files), time.Time{}); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"new.bin", first.Path} {
				replaced, err := s.PutFile(ctx, "m", n, modelkeep.File{Path: p, Size: 1, SHA256: sha("x"), BlobKey: "files/1/z"})
				wantErrIs(t, err, modelkeep.ErrConflict)
				if replaced != nil {
					t.Errorf("replaced %+v on a refused put", replaced)
				}
			}
			after, err := s.ListFiles(ctx, "m", n)
			if err != nil || !reflect.DeepEqual(after, files) {
				t.Errorf("files changed after finalize: %v", err)
			}
		})
	})
}

// Concurrent uploads to the same path: each replaced file is reported to
// exactly one caller, so no blob is leaked or deleted twice.
func TestPutFileConcurrentReplace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		mustCreateModel(t, s, "m", nil)
		n := mustCreateVersion(t, s, "m")
		const workers = 8
		replaced := make([]*modelkeep.File, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				key := "blob-" + string(rune('a'+i))
				replaced[i], errs[i] = s.PutFile(t.Context(), "m", n, modelkeep.File{Path: "p", Size: 1, SHA256: sha(key), BlobKey: key})
			})
		}
		wg.Wait()
		keys := map[string]bool{}
		for i, r := range replaced {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if r != nil {
				if keys[r.BlobKey] {
					t.Errorf("blob %s reported replaced twice", r.BlobKey)
				}
				keys[r.BlobKey] = true
			}
		}
		cur, err := s.GetFile(t.Context(), "m", n, "p")
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != workers-1 || keys[cur.BlobKey] {
			t.Errorf("replaced %d blobs (current %s), want every blob but the current one", len(keys), cur.BlobKey)
		}
	})
}

// Uploads of new paths into different versions at once must not deadlock
// each other (on MySQL, locking reads of absent rows take gap locks that
// inserts into neighbouring versions wait for).
func TestPutFileConcurrentVersions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		mustCreateModel(t, s, "m", nil)
		const workers, files = 8, 10
		var numbers [workers]int
		for i := range workers {
			numbers[i] = mustCreateVersion(t, s, "m")
		}
		errs := make(chan error, workers*files)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				for j := range files {
					f := modelkeep.File{Path: fmt.Sprintf("part-%02d", j), Size: 1, SHA256: sha("x"), BlobKey: fmt.Sprintf("files/%d/%d", i, j)}
					errs <- s.InTx(t.Context(), func(tx modelkeep.MetaStore) error {
						if _, err := tx.PutFile(t.Context(), "m", numbers[i], f); err != nil {
							return err
						}
						_, err := tx.AppendAudit(t.Context(), audit.Event{Actor: "a", Action: "file.upload"})
						return err
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
