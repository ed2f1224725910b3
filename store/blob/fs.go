package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/modelkeep/modelkeep"
)

// tmpPrefix names in-flight uploads. Keys whose last segment starts with it
// are refused, and List skips such files, so a half-written blob is never
// mistaken for a real one.
const tmpPrefix = ".modelkeep-tmp-"

// copyBufSize is the buffer for copying bodies to disk: larger than io.Copy's
// 32 KiB default to cut write syscalls on multi-GiB artifacts.
const copyBufSize = 256 << 10

// FS stores blobs as files under a root directory; a key's slash-separated
// segments become directories. Files are written 0600 and directories 0750:
// only the server reads them.
type FS struct {
	root string
}

var (
	_ modelkeep.BlobStore  = (*FS)(nil)
	_ modelkeep.BlobLister = (*FS)(nil)
)

// NewFS returns a store rooted at root, creating the directory if needed.
func NewFS(root string) (*FS, error) {
	if root == "" {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "blob root directory is empty")
	}
	root = filepath.Clean(root)
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("create blob root %q: %w", root, err)
	}
	return &FS{root: root}, nil
}

// path maps a key to its file under the root. validateKey already guarantees
// a relative, clean path; filepath.IsLocal is a second fence in case a future
// rule change lets something slip through.
func (f *FS) path(key string) (string, error) {
	if err := validateKey(key); err != nil {
		return "", err
	}
	rel := filepath.FromSlash(key)
	if !filepath.IsLocal(rel) {
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "blob key %q escapes the store root", key)
	}
	if strings.HasPrefix(filepath.Base(rel), tmpPrefix) {
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "blob key %q uses the reserved prefix %q", key, tmpPrefix)
	}
	if first, _, _ := strings.Cut(key, "/"); first == multipartDir {
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "blob key %q is in the reserved directory %q", key, multipartDir)
	}
	return filepath.Join(f.root, rel), nil
}

// Put writes r to a temporary file next to the target, syncs it and renames
// it into place (writeFile), so readers see either the old blob or the whole
// new one.
func (f *FS) Put(ctx context.Context, key string, r io.Reader, size int64) (modelkeep.BlobInfo, error) {
	p, err := f.path(key)
	if err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("put blob %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("put blob %q: %w", key, err)
	}
	body := newCheckedReader(ctx, r, size)
	var bodyErr error
	fi, err := f.writeFile(ctx, p, func(tmp *os.File) error {
		// Hide *os.File's ReadFrom so the larger buffer is used: ReadFrom
		// falls back to a 32 KiB copy for non-file sources.
		if _, err := io.CopyBuffer(struct{ io.Writer }{tmp}, body, make([]byte, copyBufSize)); err != nil {
			if bodyErr = body.bodyErr("put blob", key); bodyErr != nil {
				return bodyErr
			}
			return fmt.Errorf("write: %w", err)
		}
		return nil
	})
	if bodyErr != nil {
		return modelkeep.BlobInfo{}, bodyErr // the body's own error, already naming the blob
	}
	if err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("put blob %q: %w", key, err)
	}
	return modelkeep.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// writeFile is how every file of the store lands at p: write fills a
// temporary file next to p, which is synced, renamed into place, and made
// durable by syncing the directory. Readers see the old file or the whole
// new one. On any error the temporary file and the directories made for it
// are removed, and p holds no partial or unsynced file: a failed directory
// sync removes p again (the contract of Put: an error means nothing left).
// A cancelled ctx is honoured up to the rename.
func (f *FS) writeFile(ctx context.Context, p string, write func(tmp *os.File) error) (fs.FileInfo, error) {
	dir := filepath.Dir(p)
	tmp, err := f.createTemp(dir)
	if err != nil {
		f.pruneDirs(dir)
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close() // may already be closed; the file is going away
			_ = os.Remove(tmp.Name())
			f.pruneDirs(dir)
		}
	}()
	if err := write(tmp); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	fi, err := tmp.Stat()
	if err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	// Last chance to honour a cancellation before the file becomes visible.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return nil, err
	}
	committed = true // the temporary name no longer exists
	// The rename is only durable once the directory is synced. If that
	// fails the file is removed again.
	if err := syncDir(dir); err != nil {
		_ = os.Remove(p)
		f.pruneDirs(dir)
		return nil, fmt.Errorf("sync dir: %w", err)
	}
	return fi, nil
}

// createTemp makes the parent directories and a temp file in dir. A
// concurrent Delete may prune a directory between MkdirAll and CreateTemp,
// so a vanished directory is recreated a few times before giving up.
func (f *FS) createTemp(dir string) (*os.File, error) {
	var err error
	for range 3 {
		if err = os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		var tmp *os.File
		tmp, err = os.CreateTemp(dir, tmpPrefix+"*")
		if err == nil {
			return tmp, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, err
}

// Open returns the file itself: *os.File is an io.ReadSeekCloser, and
// http.ServeContent on it lets the kernel do the copying.
func (f *FS) Open(ctx context.Context, key string) (io.ReadSeekCloser, modelkeep.BlobInfo, error) {
	p, err := f.path(key)
	if err != nil {
		return nil, modelkeep.BlobInfo{}, fmt.Errorf("open blob %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, modelkeep.BlobInfo{}, fmt.Errorf("open blob %q: %w", key, err)
	}
	file, err := os.Open(p)
	if err != nil {
		return nil, modelkeep.BlobInfo{}, fmt.Errorf("open blob %q: %w", key, fsErr(key, err))
	}
	fi, err := file.Stat()
	if err != nil {
		_ = file.Close()
		return nil, modelkeep.BlobInfo{}, fmt.Errorf("open blob %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		// A key that is only a prefix of other keys is a directory here.
		_ = file.Close()
		return nil, modelkeep.BlobInfo{}, fmt.Errorf("open blob %q: %w", key, notFound(key))
	}
	return file, modelkeep.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Stat describes key.
func (f *FS) Stat(ctx context.Context, key string) (modelkeep.BlobInfo, error) {
	p, err := f.path(key)
	if err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("stat blob %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("stat blob %q: %w", key, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("stat blob %q: %w", key, fsErr(key, err))
	}
	if !fi.Mode().IsRegular() {
		return modelkeep.BlobInfo{}, fmt.Errorf("stat blob %q: %w", key, notFound(key))
	}
	return modelkeep.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes key and then any directories it leaves empty, so the tree
// does not fill up with empty per-version directories.
func (f *FS) Delete(ctx context.Context, key string) error {
	p, err := f.path(key)
	if err != nil {
		return fmt.Errorf("delete blob %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete blob %q: %w", key, err)
	}
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist), isNotDir(err):
		return nil
	case err != nil:
		return fmt.Errorf("delete blob %q: %w", key, err)
	case fi.IsDir():
		return nil // a prefix of other keys, not a blob
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %q: %w", key, err)
	}
	f.pruneDirs(filepath.Dir(p))
	return nil
}

// pruneDirs removes dir and its parents up to (not including) the root while
// they are empty. Failures are ignored: a non-empty or concurrently reused
// directory is exactly where pruning should stop.
func (f *FS) pruneDirs(dir string) {
	for dir != f.root && strings.HasPrefix(dir, f.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// Ping checks that the root still exists and is a directory (a volume that
// was unmounted or deleted under the server shows up here).
func (f *FS) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ping blob store: %w", err)
	}
	// The *modelkeep.Error says why (readiness shows it); the system's
	// error follows, for the log.
	fi, err := os.Stat(f.root)
	if err != nil {
		return fmt.Errorf("ping blob store %q: %w: %w", f.root, modelkeep.Errorf(modelkeep.ErrUnavailable, "%s", f.unavailable(err)), err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("ping blob store %q: %w", f.root, modelkeep.Errorf(modelkeep.ErrUnavailable, "%s is not a directory", f.root))
	}
	return nil
}

// unavailable says why the root cannot be read.
func (f *FS) unavailable(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("directory %s not found", f.root)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("directory %s: permission denied", f.root)
	}
	return fmt.Sprintf("directory %s unreadable", f.root)
}

// List calls fn for every blob whose key starts with prefix, in no
// particular order. The walk starts at the deepest directory named by the
// prefix, so listing one version's files does not scan the whole store.
func (f *FS) List(ctx context.Context, prefix string, fn func(modelkeep.BlobInfo) error) error {
	start := f.root
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		p, err := f.path(prefix[:i])
		if err != nil {
			// No valid key can start with an invalid directory part.
			return nil
		}
		start = p
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
				return nil // the prefix names nothing, or it vanished mid-walk
			}
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if d.IsDir() && p == filepath.Join(f.root, multipartDir) {
			return filepath.SkipDir // the parts of multipart uploads are no blobs
		}
		if d.IsDir() || !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(f.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted since the directory was read
		} else if err != nil {
			return err
		}
		if err := fn(modelkeep.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return &fnErr{err}
		}
		return nil
	})
	var fe *fnErr
	if errors.As(err, &fe) {
		return fe.err // the callback's own error, unwrapped, so sentinels compare
	}
	if err != nil {
		return fmt.Errorf("list blobs %q: %w", prefix, err)
	}
	return nil
}

// fnErr carries a List callback's error through WalkDir so that it is not
// mistaken for (and wrapped like) a filesystem error.
type fnErr struct{ err error }

func (e *fnErr) Error() string { return e.err.Error() }

// fsErr turns "no such file" (including a path through a regular file, which
// is ENOTDIR) into ErrNotFound.
func fsErr(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
		return notFound(key)
	}
	return err
}

// isNotDir reports ENOTDIR: a path that runs through a regular file, as when
// "a/b" is looked up while "a" is a blob.
func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

func notFound(key string) error {
	return modelkeep.Errorf(modelkeep.ErrNotFound, "blob %q not found", key)
}

// syncDir fsyncs a directory so that a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
