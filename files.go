package modelkeep

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// PutFileInput is one artifact upload.
type PutFileInput struct {
	Model   string
	Version int
	Path    string
	Body    io.Reader
	// Size is the body's length, or -1 when unknown (chunked uploads).
	Size int64
	// ExpectedSHA256, when set, must match the body's digest (else 422 and
	// nothing is kept).
	ExpectedSHA256 string
}

// hashingReader computes the SHA-256 of what passes through it and counts
// the bytes.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	return n, err
}

// PutFile streams a file into a pending version. The bytes go to the blob
// store under a fresh key while their digest is computed; the row is written
// only once the bytes are safe, and the blob is removed again whenever the
// upload does not end in a committed row.
func (s *Service) PutFile(ctx context.Context, in PutFileInput) (File, error) {
	if err := validateVersionRef(in.Model, in.Version); err != nil {
		return File{}, err
	}
	if err := ValidateFilePath(in.Path); err != nil {
		return File{}, err
	}
	expected := ""
	if in.ExpectedSHA256 != "" {
		var err error
		if expected, err = ParseSHA256(in.ExpectedSHA256); err != nil {
			return File{}, err
		}
	}
	// Refuse early, before reading a possibly huge body; the row write below
	// re-checks atomically.
	v, err := s.meta.GetVersion(ctx, in.Model, in.Version)
	if err != nil {
		return File{}, err
	}
	if v.Status != StatusPending {
		return File{}, Errorf(ErrConflict, "version %s/%d is %s: its files are immutable", in.Model, in.Version, v.Status)
	}

	key := fmt.Sprintf("files/%s/%d/%s", in.Model, in.Version, randomID())
	hr := &hashingReader{r: in.Body, h: sha256.New()}
	info, err := s.blobs.Put(ctx, key, hr, in.Size)
	if err != nil {
		s.deleteBlob(key) // Put promises to leave nothing; make sure of it.
		// A failing body is the client's fault (it went away, sent more or
		// less than it announced, or too much): Put returns the body's own
		// error then, as ErrInvalid or ErrTooLarge.
		switch KindOf(err) {
		case ErrTooLarge, ErrInvalid:
			return File{}, err
		}
		return File{}, fmt.Errorf("store file %q: %w", in.Path, err)
	}
	sum := hex.EncodeToString(hr.h.Sum(nil))
	if expected != "" && sum != expected {
		s.deleteBlob(key)
		return File{}, Errorf(ErrDigestMismatch, "checksum mismatch for %q: got sha256 %s, X-Checksum-Sha256 says %s", in.Path, sum, expected)
	}
	f := File{Path: in.Path, Size: info.Size, SHA256: sum, BlobKey: key, CreatedAt: s.Now()}
	var replaced *File
	err = s.meta.InTx(ctx, func(tx MetaStore) error {
		var err error
		if replaced, err = tx.PutFile(ctx, in.Model, in.Version, f); err != nil {
			return err
		}
		details := map[string]any{"path": f.Path, "size": f.Size, "sha256": f.SHA256}
		if replaced != nil {
			details["replaced_sha256"] = replaced.SHA256
		}
		return s.record(ctx, tx, "file.upload", VersionResource(in.Model, in.Version), details)
	})
	if err != nil {
		s.deleteBlob(key)
		return File{}, err
	}
	if replaced != nil && replaced.BlobKey != key {
		s.deleteBlob(replaced.BlobKey)
	}
	return f, nil
}

// DeleteFile removes one file of a pending version; its blob goes once the
// deletion committed. 409 once the version is ready.
func (s *Service) DeleteFile(ctx context.Context, model string, number int, path string) (File, error) {
	if err := validateVersionRef(model, number); err != nil {
		return File{}, err
	}
	if err := ValidateFilePath(path); err != nil {
		return File{}, err
	}
	var f File
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		var err error
		if f, err = tx.DeleteFile(ctx, model, number, path); err != nil {
			return err
		}
		return s.record(ctx, tx, "file.delete", VersionResource(model, number), map[string]any{
			"path": f.Path, "size": f.Size, "sha256": f.SHA256})
	})
	if err != nil {
		return File{}, err
	}
	s.deleteBlob(f.BlobKey)
	return f, nil
}

// ListFiles returns a version's files and its manifest digest ("" while
// pending).
func (s *Service) ListFiles(ctx context.Context, model string, number int) ([]File, string, error) {
	if err := validateVersionRef(model, number); err != nil {
		return nil, "", err
	}
	v, err := s.meta.GetVersion(ctx, model, number)
	if err != nil {
		return nil, "", err
	}
	files, err := s.meta.ListFiles(ctx, model, number)
	if err != nil {
		return nil, "", err
	}
	return files, v.ManifestDigest, nil
}

// Download is an artifact on its way to a client: either Content to stream or
// a presigned URL to redirect to.
type Download struct {
	File    File
	Content io.ReadSeekCloser
	URL     string
}

// DownloadInput selects a file and how it is delivered.
type DownloadInput struct {
	Model   string
	Version int
	Path    string
	// Redirect asks for a presigned URL when the blob store can make one;
	// otherwise the content is streamed.
	Redirect   bool
	PresignTTL time.Duration
	// Check, when set, runs once the file is known and the caller allowed,
	// before anything is recorded, and is told whether the answer will be a
	// presigned URL: an error from it ends the download, unrecorded, and is
	// returned as is. The HTTP layer answers conditional and range requests
	// there (304, 412 and 416 move no bytes, so they are not downloads).
	Check func(f File, redirect bool) error
}

// DownloadFile records the download in the audit log, then opens the file or
// presigns a URL for it. The caller must close Content.
func (s *Service) DownloadFile(ctx context.Context, in DownloadInput) (Download, error) {
	if err := validateVersionRef(in.Model, in.Version); err != nil {
		return Download{}, err
	}
	if err := ValidateFilePath(in.Path); err != nil {
		return Download{}, err
	}
	presigner, canPresign := s.blobs.(Presigner)
	redirect := in.Redirect && canPresign
	// The reads and the event need no transaction of their own: the bytes
	// are opened after the event is committed either way, so a transaction
	// kept nothing from changing before they are served, and the event is
	// still committed before a byte is. Two statements instead of five
	// (begin, two reads, the event, commit) per download.
	f, err := s.fileToDownload(ctx, in, redirect)
	if err == nil {
		action := "file.download"
		if redirect {
			action = "file.presign"
		}
		err = s.record(ctx, s.meta, action, VersionResource(in.Model, in.Version), map[string]any{
			"path": f.Path, "sha256": f.SHA256, "size": f.Size})
	}
	if errors.Is(err, ErrForbidden) {
		s.RecordDenied(ctx, "downloadFile", VersionResource(in.Model, in.Version), err.Error())
	}
	if err != nil {
		return Download{}, err
	}
	if redirect {
		url, err := presigner.PresignGet(ctx, f.BlobKey, in.PresignTTL, PresignOptions{Filename: baseName(f.Path)})
		if err != nil {
			return Download{}, fmt.Errorf("presign %q: %w", f.Path, err)
		}
		return Download{File: f, URL: url}, nil
	}
	rc, _, err := s.blobs.Open(ctx, f.BlobKey)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			// A row without its bytes is damage, not a client error.
			return Download{}, fmt.Errorf("blob of %s/%d/%s is missing: %w", in.Model, in.Version, f.Path, ErrUnavailable)
		}
		return Download{}, fmt.Errorf("open %q: %w", f.Path, err)
	}
	return Download{File: f, Content: rc}, nil
}

// fileToDownload reads the file a download asks for and checks that the
// caller may have it: a token for released versions only gets files of
// versions in staging or production; in.Check decides the rest.
func (s *Service) fileToDownload(ctx context.Context, in DownloadInput, redirect bool) (File, error) {
	if a, ok := ActorFrom(ctx); ok && a.DownloadsReleasedOnly() {
		// Fresh: a version archived through another replica a moment ago
		// is no longer released.
		v, err := s.meta.GetVersionFresh(ctx, in.Model, in.Version)
		if err != nil {
			return File{}, err
		}
		if err := CheckReleased(v); err != nil {
			return File{}, err
		}
	}
	f, err := s.meta.GetFile(ctx, in.Model, in.Version, in.Path)
	if err != nil {
		return File{}, err
	}
	if in.Check != nil {
		if err := in.Check(f, redirect); err != nil {
			return File{}, err
		}
	}
	return f, nil
}

// MaxPresignFiles bounds the files of one PresignFiles call.
const MaxPresignFiles = 100

// PresignedFile is a file of a version with a presigned URL of its bytes.
type PresignedFile struct {
	File    File
	URL     string
	Expires time.Time
}

// PresignFiles hands out presigned URLs of several files of a version at
// once, so that a client pulling a version fetches the bytes straight from
// the blob store and asks the server once per batch of files instead of
// once per file. Each file is a download, as a redirect of DownloadFile
// is: one file.presign event per file, all in one transaction (which is
// what makes a batch cheaper than as many redirects: one commit). The
// download rules apply (a token that may download released versions only
// gets nothing of another). ErrConflict when the blob store presigns
// nothing (the client downloads through the server then); ErrNotFound
// for a path the version does not hold; ErrInvalid for an empty or too long
// list, or a path named twice.
func (s *Service) PresignFiles(ctx context.Context, model string, version int, paths []string, ttl time.Duration) ([]PresignedFile, error) {
	if err := validateVersionRef(model, version); err != nil {
		return nil, err
	}
	if err := checkPathList(paths); err != nil {
		return nil, err
	}
	presigner, ok := s.blobs.(Presigner)
	if !ok {
		return nil, Errorf(ErrConflict, "this server's blob store hands out no presigned URLs: download each file with GET .../files/{path}")
	}
	files := make([]File, len(paths))
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		if a, ok := ActorFrom(ctx); ok && a.DownloadsReleasedOnly() {
			v, err := tx.GetVersion(ctx, model, version)
			if err != nil {
				return err
			}
			if err := CheckReleased(v); err != nil {
				return err
			}
		}
		for i, p := range paths {
			f, err := tx.GetFile(ctx, model, version, p)
			if err != nil {
				return err
			}
			files[i] = f
			if err := s.record(ctx, tx, "file.presign", VersionResource(model, version), map[string]any{
				"path": f.Path, "sha256": f.SHA256, "size": f.Size}); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrForbidden) {
		s.RecordDenied(ctx, "presignFiles", VersionResource(model, version), err.Error())
	}
	if err != nil {
		return nil, err
	}
	// Taken before any URL is signed, so that it is never later than theirs;
	// the signer's clock is the real one, not the service's (tests move
	// that).
	expires := time.Now().Add(ttl).UTC()
	out := make([]PresignedFile, len(files))
	for i, f := range files {
		url, err := presigner.PresignGet(ctx, f.BlobKey, ttl, PresignOptions{Filename: baseName(f.Path)})
		if err != nil {
			return nil, fmt.Errorf("presign %q: %w", f.Path, err)
		}
		out[i] = PresignedFile{File: f, URL: url, Expires: expires}
	}
	return out, nil
}

// checkPathList refuses an empty or too long list of file paths, an
// invalid path and a path named twice.
func checkPathList(paths []string) error {
	if len(paths) == 0 || len(paths) > MaxPresignFiles {
		return Errorf(ErrInvalid, "ask for 1 to %d files at a time, not %d", MaxPresignFiles, len(paths))
	}
	seen := make(map[string]bool, len(paths))
	for _, p := range paths {
		if err := ValidateFilePath(p); err != nil {
			return err
		}
		if seen[p] {
			return Errorf(ErrInvalid, "file path %q is named twice", p)
		}
		seen[p] = true
	}
	return nil
}

// StatFile returns a file's record for its download's headers (HEAD),
// under the download's rules on who may read the version. It is not a
// download: nothing is recorded but a refusal.
func (s *Service) StatFile(ctx context.Context, model string, number int, path string) (File, error) {
	if err := validateVersionRef(model, number); err != nil {
		return File{}, err
	}
	if err := ValidateFilePath(path); err != nil {
		return File{}, err
	}
	var f File
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		if a, ok := ActorFrom(ctx); ok && a.DownloadsReleasedOnly() {
			v, err := tx.GetVersion(ctx, model, number)
			if err != nil {
				return err
			}
			if err := CheckReleased(v); err != nil {
				return err
			}
		}
		var err error
		f, err = tx.GetFile(ctx, model, number, path)
		return err
	})
	if errors.Is(err, ErrForbidden) {
		s.RecordDenied(ctx, "headFile", VersionResource(model, number), err.Error())
	}
	return f, err
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}
