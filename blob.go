package modelkeep

import (
	"context"
	"io"
	"time"
)

// BlobStore keeps artifact bytes under opaque keys. Implementations live in
// store/blob (local filesystem and S3) and pass one conformance suite
// (store/blob/blobtest).
type BlobStore interface {
	// Put streams r to key. size is the exact length, or -1 when unknown.
	// On any error nothing is left under key (a partial write is removed).
	// When reading r fails (or r holds more or fewer bytes than size), the
	// error is r's own, wrapped, and ErrInvalid unless it has a kind: the
	// caller's fault; a failing store is ErrUnavailable or of no kind.
	Put(ctx context.Context, key string, r io.Reader, size int64) (BlobInfo, error)
	// Open returns a reader positioned at the start; ErrNotFound if absent.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, BlobInfo, error)
	// Stat describes key; ErrNotFound if absent.
	Stat(ctx context.Context, key string) (BlobInfo, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Ping checks that the store is reachable and writable in principle
	// (the directory exists, the bucket answers).
	Ping(ctx context.Context) error
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Presigner is implemented by blob stores that can hand out short-lived
// URLs for direct downloads (S3).
type Presigner interface {
	PresignGet(ctx context.Context, key string, ttl time.Duration, opts PresignOptions) (string, error)
}

// PresignOptions tune a presigned download.
type PresignOptions struct {
	// Filename, when set, becomes the Content-Disposition attachment name.
	Filename string
}

// BlobLister is implemented by blob stores whose keys can be enumerated; the
// orphan sweep uses it to find blobs no row references.
type BlobLister interface {
	// List calls fn for every blob whose key starts with prefix.
	List(ctx context.Context, prefix string, fn func(BlobInfo) error) error
}

// Object Lock modes a Retainer keeps objects under.
const (
	LockCompliance = "COMPLIANCE" // nobody, root included, deletes or shortens it before the date
	LockNone       = "none"
)

// Retainer is implemented by blob stores that can keep an object immutable
// until a date (S3 Object Lock in compliance mode): where evidence packs
// are archived.
type Retainer interface {
	// RetentionMode says which mode PutRetained gives: LockCompliance when
	// the bucket has Object Lock, LockNone when it cannot lock objects.
	RetentionMode(ctx context.Context) (string, error)
	// PutRetained stores r (of size bytes) under key, locked in compliance
	// mode until until when the store can lock objects.
	PutRetained(ctx context.Context, key string, r io.Reader, size int64, until time.Time) (BlobInfo, error)
	// Retention reads the lock of key: its mode (LockNone when unlocked)
	// and its date.
	Retention(ctx context.Context, key string) (mode string, until time.Time, err error)
}

// Limits of multipart uploads: S3's, kept by every Multipart store so that
// an upload that works on one works on the other.
const (
	MinPartSize = 5 << 20 // every part but the last is at least this long
	MaxPartSize = 5 << 30 // no part is longer
	MaxParts    = 10_000  // part numbers run from 1 to MaxParts
)

// Multipart is implemented by blob stores that assemble a blob from parts
// uploaded separately, in any order and in parallel: S3 multipart uploads,
// part files on disk. Resumable uploads (package uploads) and the S3
// store's own uploads of bodies of unknown length use it.
type Multipart interface {
	// CreateMultipart starts an upload that will become key and returns
	// its id.
	CreateMultipart(ctx context.Context, key string) (uploadID string, err error)
	// PutPart streams part n (1 to MaxParts) of exactly size bytes from r.
	// A later PutPart of the same n replaces the part; a failed one leaves
	// part n absent or as it was (never a mix). ErrNotFound when the
	// upload does not exist (completed, aborted, or never made); a failing
	// r gives r's error as Put does. sha256, when not empty, is the part's
	// hex SHA-256: a store that keeps SHA-256 part checksums (an upload of
	// the SHA256 algorithm) checks the bytes against it (ErrDigestMismatch)
	// and keeps it; others ignore it, and the caller hashes the part
	// itself. An upload of CreateMultipartCRC32C wants "" here: the store
	// computes the part's CRC32C.
	PutPart(ctx context.Context, key, uploadID string, n int, r io.Reader, size int64, sha256 string) (Part, error)
	// CompleteMultipart joins parts, in ascending order of their numbers,
	// into key and ends the upload. ErrConflict when a part is missing or
	// is no longer the one its ETag names (it was replaced since);
	// ErrNotFound when the upload does not exist.
	CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) (BlobInfo, error)
	// AbortMultipart discards the upload and its parts; an upload that
	// does not exist is not an error.
	AbortMultipart(ctx context.Context, key, uploadID string) error
	// ListMultipart calls fn for every open upload whose key starts with
	// prefix.
	ListMultipart(ctx context.Context, prefix string, fn func(MultipartUpload) error) error
}

// Part is a stored part of a multipart upload. ETag identifies the bytes
// stored (S3's part ETag; on disk, the name of the part's file): a part
// replaced later has another.
type Part struct {
	Number int
	Size   int64
	ETag   string
	// SHA256 and CRC32C are the part's checksum as the store checked and
	// keeps it (PartPresigner), in hex: one of them, after the upload's
	// algorithm; "" where the store keeps none. CompleteMultipart passes
	// it on to a store that asks for it.
	SHA256 string
	CRC32C string
}

// The checksum algorithms a store may check parts with.
const (
	ChecksumSHA256 = "sha256"
	ChecksumCRC32C = "crc32c"
)

// PartChecksum is a part's checksum: its algorithm (ChecksumSHA256 or
// ChecksumCRC32C) and its value in hex.
type PartChecksum struct {
	Algorithm string
	Hex       string
}

// PartPresigner is implemented by blob stores whose multipart uploads can
// take parts straight from clients, through presigned URLs (S3), so that
// the bytes of a large upload need not pass through the server. Such an
// upload is started with CreateMultipartCRC32C: every part then has its
// CRC32C, which the store checks as the part arrives when the client sends
// it (refusing one whose bytes differ), computes otherwise, and keeps, so
// that ListParts tells what each part holds. The server never sees those
// bytes: it must read the joined blob back to verify the whole file.
// (Uploads started before with the SHA256 algorithm take parts signed with
// their SHA-256.)
type PartPresigner interface {
	// CreateMultipartCRC32C starts an upload that will become key, whose
	// every part has its CRC32C (S3: the CRC32C checksum algorithm, type
	// FULL_OBJECT, so that a part sent without one is still taken), and
	// returns its id.
	CreateMultipartCRC32C(ctx context.Context, key string) (uploadID string, err error)
	// PresignPart returns a request that stores part n of exactly size
	// bytes with the checksum sum into the upload, valid for ttl: the store
	// refuses other bytes, another length or a late request. sum's
	// algorithm is the upload's.
	PresignPart(ctx context.Context, key, uploadID string, n int, size int64, sum PartChecksum, ttl time.Duration) (PresignedRequest, error)
	// ListParts returns the parts the store holds, by number, with their
	// checksum when the upload keeps part checksums. ErrNotFound when the
	// upload does not exist.
	ListParts(ctx context.Context, key, uploadID string) ([]Part, error)
}

// PresignedRequest is a request a client sends as is, without credentials
// of its own: the method, the URL and the header fields it must carry
// (they are signed into the URL).
type PresignedRequest struct {
	Method  string
	URL     string
	Header  map[string]string
	Expires time.Time
}

// MultipartUpload describes an open multipart upload.
type MultipartUpload struct {
	Key      string
	UploadID string
	// Initiated is when the upload was created; LastActivity when its
	// newest part was stored (Initiated when it has none).
	Initiated    time.Time
	LastActivity time.Time
}
