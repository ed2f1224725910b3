package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep"
)

// multipartDir is the directory under the root that holds the uploads in
// progress: one directory per upload, named by its id, with the target key
// in a file "key" and each part in a file "<number>.<etag>". Keys may not
// start with it, and List does not enter it.
const multipartDir = ".multipart"

var _ modelkeep.Multipart = (*FS)(nil)

// uploadIDPattern is the form of the ids CreateMultipart makes; anything
// else names no upload (and never a path outside the upload directory).
var uploadIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// partFilePattern is a part's file name: number and etag.
var partFilePattern = regexp.MustCompile(`^([0-9]{1,5})\.([0-9a-f]{16})$`)

func newHexID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// uploadDir returns the directory of an upload after checking the id.
func (f *FS) uploadDir(uploadID string) (string, error) {
	if !uploadIDPattern.MatchString(uploadID) {
		return "", modelkeep.Errorf(modelkeep.ErrNotFound, "multipart upload %q not found", uploadID)
	}
	return filepath.Join(f.root, multipartDir, uploadID), nil
}

// openUpload checks that the upload exists and is for key.
func (f *FS) openUpload(uploadID, key string) (string, error) {
	dir, err := f.uploadDir(uploadID)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, "key"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", modelkeep.Errorf(modelkeep.ErrNotFound, "multipart upload %q not found", uploadID)
	}
	if err != nil {
		return "", err
	}
	if string(b) != key {
		return "", modelkeep.Errorf(modelkeep.ErrNotFound, "multipart upload %q is not for %q", uploadID, key)
	}
	return dir, nil
}

// CreateMultipart makes the upload's directory and records its key.
func (f *FS) CreateMultipart(ctx context.Context, key string) (string, error) {
	if _, err := f.path(key); err != nil {
		return "", fmt.Errorf("create multipart upload %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("create multipart upload %q: %w", key, err)
	}
	id := newHexID(16)
	dir := filepath.Join(f.root, multipartDir, id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create multipart upload %q: %w", key, err)
	}
	if err := writeFileSync(filepath.Join(dir, "key"), []byte(key)); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("create multipart upload %q: %w", key, err)
	}
	return id, nil
}

func writeFileSync(name string, data []byte) error {
	fh, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = fh.Write(data)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

// PutPart writes the part to a temporary file in the upload's directory,
// syncs it and renames it to "<n>.<etag>", then removes the part's earlier
// files: the newest complete write of a part wins, and a failed one leaves
// the previous part in place. Part checksums are not kept on disk: the
// caller hashes every part that reaches it (the sha256 argument is
// ignored).
func (f *FS) PutPart(ctx context.Context, key, uploadID string, n int, r io.Reader, size int64, _ string) (modelkeep.Part, error) {
	op := fmt.Sprintf("put part %d of %q", n, key)
	if err := checkPart(n, size); err != nil {
		return modelkeep.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	dir, err := f.openUpload(uploadID, key)
	if err != nil {
		return modelkeep.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = modelkeep.Errorf(modelkeep.ErrNotFound, "multipart upload %q not found", uploadID)
		}
		return modelkeep.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	body := newCheckedReader(ctx, r, size)
	if _, err := io.CopyBuffer(struct{ io.Writer }{tmp}, body, make([]byte, copyBufSize)); err != nil {
		if berr := body.bodyErr(op, key); berr != nil {
			return modelkeep.Part{}, berr
		}
		return modelkeep.Part{}, fmt.Errorf("%s: write: %w", op, err)
	}
	if body.n != size {
		return modelkeep.Part{}, fmt.Errorf("%s: %w", op, modelkeep.Errorf(modelkeep.ErrInvalid, "body ended after %d of the declared %d bytes", body.n, size))
	}
	if err := tmp.Sync(); err != nil {
		return modelkeep.Part{}, fmt.Errorf("%s: sync: %w", op, err)
	}
	if err := tmp.Close(); err != nil {
		return modelkeep.Part{}, fmt.Errorf("%s: close: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return modelkeep.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	etag := newHexID(8)
	name := strconv.Itoa(n) + "." + etag
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = modelkeep.Errorf(modelkeep.ErrNotFound, "multipart upload %q not found", uploadID)
		}
		return modelkeep.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	committed = true
	if err := syncDir(dir); err != nil {
		return modelkeep.Part{}, fmt.Errorf("%s: sync dir: %w", op, err)
	}
	// Earlier writes of the same part are superseded.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if m := partFilePattern.FindStringSubmatch(e.Name()); m != nil && m[1] == strconv.Itoa(n) && e.Name() != name {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return modelkeep.Part{Number: n, Size: size, ETag: etag}, nil
}

// checkPart checks a part's number and size against the limits.
func checkPart(n int, size int64) error {
	switch {
	case n < 1 || n > modelkeep.MaxParts:
		return modelkeep.Errorf(modelkeep.ErrInvalid, "part number %d is outside 1 to %d", n, modelkeep.MaxParts)
	case size < 0 || size > modelkeep.MaxPartSize:
		return modelkeep.Errorf(modelkeep.ErrInvalid, "part size %d is outside 0 to %d bytes", size, int64(modelkeep.MaxPartSize))
	}
	return nil
}

// checkParts checks the list CompleteMultipart is given: ascending numbers,
// and every part but the last at least MinPartSize, as S3 requires.
func checkParts(parts []modelkeep.Part) error {
	if len(parts) == 0 {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "a multipart upload needs at least one part")
	}
	for i, p := range parts {
		if err := checkPart(p.Number, p.Size); err != nil {
			return err
		}
		if i > 0 && p.Number <= parts[i-1].Number {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "parts are not in ascending order (%d after %d)", p.Number, parts[i-1].Number)
		}
		if i < len(parts)-1 && p.Size < modelkeep.MinPartSize {
			return modelkeep.Errorf(modelkeep.ErrConflict, "part %d has %d bytes: every part but the last needs at least %d", p.Number, p.Size, modelkeep.MinPartSize)
		}
	}
	return nil
}

// CompleteMultipart copies the parts, in order, into a temporary file next
// to the target (the kernel copies file to file), syncs and renames it into
// place (writeFile), then removes the upload's directory. A cancellation
// before the rename leaves the upload as it was, to complete again.
func (f *FS) CompleteMultipart(ctx context.Context, key, uploadID string, parts []modelkeep.Part) (modelkeep.BlobInfo, error) {
	op := fmt.Sprintf("complete multipart upload of %q", key)
	if err := checkParts(parts); err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, err)
	}
	p, err := f.path(key)
	if err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, err)
	}
	dir, err := f.openUpload(uploadID, key)
	if err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, err)
	}
	files := make([]*os.File, 0, len(parts))
	defer func() {
		for _, fh := range files {
			_ = fh.Close()
		}
	}()
	for _, part := range parts {
		fh, err := os.Open(filepath.Join(dir, strconv.Itoa(part.Number)+"."+part.ETag))
		if errors.Is(err, fs.ErrNotExist) {
			return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, modelkeep.Errorf(modelkeep.ErrConflict, "part %d is missing or was replaced", part.Number))
		}
		if err != nil {
			return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, err)
		}
		files = append(files, fh)
		fi, err := fh.Stat()
		if err != nil {
			return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, err)
		}
		if fi.Size() != part.Size {
			return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, modelkeep.Errorf(modelkeep.ErrConflict, "part %d has %d bytes, not %d", part.Number, fi.Size(), part.Size))
		}
	}
	fi, err := f.writeFile(ctx, p, func(tmp *os.File) error {
		for _, fh := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			// *os.File to *os.File: copy_file_range on Linux.
			if _, err := io.Copy(tmp, fh); err != nil {
				return fmt.Errorf("copy: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("%s: remove parts: %w", op, err)
	}
	return modelkeep.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// AbortMultipart removes the upload's directory with its parts.
func (f *FS) AbortMultipart(ctx context.Context, key, uploadID string) error {
	dir, err := f.uploadDir(uploadID)
	if err != nil {
		return nil // no such upload
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("abort multipart upload %q: %w", uploadID, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("abort multipart upload %q: %w", uploadID, err)
	}
	return nil
}

// ListMultipart reads the upload directories. Initiated is the key file's
// time; LastActivity the newest file's in the directory.
func (f *FS) ListMultipart(ctx context.Context, prefix string, fn func(modelkeep.MultipartUpload) error) error {
	base := filepath.Join(f.root, multipartDir)
	entries, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list multipart uploads: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list multipart uploads: %w", err)
		}
		if !e.IsDir() || !uploadIDPattern.MatchString(e.Name()) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		u, ok := readUpload(dir, e.Name())
		if !ok || !strings.HasPrefix(u.Key, prefix) {
			continue
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// readUpload describes the upload in dir; false when it vanished or has no
// key file (yet: a CreateMultipart in progress, or one that failed; the
// directory's own time stands in then).
func readUpload(dir, id string) (modelkeep.MultipartUpload, bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return modelkeep.MultipartUpload{}, false
	}
	u := modelkeep.MultipartUpload{UploadID: id}
	var last time.Time
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if fi.ModTime().After(last) {
			last = fi.ModTime()
		}
		if e.Name() == "key" {
			b, err := os.ReadFile(filepath.Join(dir, "key"))
			if err != nil {
				return modelkeep.MultipartUpload{}, false
			}
			u.Key, u.Initiated = string(b), fi.ModTime()
		}
	}
	if u.Initiated.IsZero() {
		fi, err := os.Stat(dir)
		if err != nil {
			return modelkeep.MultipartUpload{}, false
		}
		u.Initiated = fi.ModTime()
	}
	u.LastActivity = last
	if last.Before(u.Initiated) {
		u.LastActivity = u.Initiated
	}
	return u, true
}
