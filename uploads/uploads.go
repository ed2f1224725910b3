// Package uploads holds resumable multipart uploads (docs/uploads.md): a
// session for one file path of a pending version, its parts sent in any
// order and in parallel, each checked against its own SHA-256, the parts
// received listed, and the file joined to the version only once its whole
// SHA-256 and size are verified. Sessions map to the blob store's multipart
// uploads (modelkeep.Multipart: S3 multipart uploads, part files on disk);
// expired sessions and multipart uploads nobody owns are swept.
//
// It consumes the registry's types and store interfaces (package modelkeep);
// the store implements its Store, the blob stores modelkeep.Multipart.
package uploads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/modelkeep/modelkeep"
)

// Status is where a session is in its life.
type Status string

// Statuses. open takes parts; completing is being verified and joined to the
// version; the others are final, kept for a while so that a client that
// missed the answer can ask again, then removed by the sweep.
const (
	StatusOpen       Status = "open"
	StatusCompleting Status = "completing"
	StatusCompleted  Status = "completed"
	StatusAborted    Status = "aborted"
	StatusExpired    Status = "expired"
	StatusFailed     Status = "failed" // the whole file's checksum or size did not match
)

// Statuses lists every status.
var Statuses = []Status{StatusOpen, StatusCompleting, StatusCompleted, StatusAborted, StatusExpired, StatusFailed}

// Live reports whether a session still owns its multipart upload.
func (s Status) Live() bool { return s == StatusOpen || s == StatusCompleting }

// Upload is an upload session.
type Upload struct {
	ID      string
	Model   string
	Version int
	Path    string
	Size    int64
	// SHA256 is the digest the client announced ("" when it gave none)
	// and, once completed, the file's.
	SHA256   string
	PartSize int64
	// BlobKey is where the file goes; StoreUploadID the blob store's
	// multipart upload. Neither is shown to clients.
	BlobKey       string
	StoreUploadID string
	// PartChecksum is the checksum the blob store keeps for each part and
	// a presigned part is signed with: modelkeep.ChecksumCRC32C for the
	// sessions of a store that presigns parts, modelkeep.ChecksumSHA256 for
	// those started before on such a store; "" where the store keeps none
	// (disk).
	PartChecksum string
	// Presigned: the session handed out presigned part URLs; completion
	// then trusts none of the hash states the server kept (Complete).
	Presigned bool
	Status    Status
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// ExpiresAt: an open session expires then unless a part arrives first
	// (each one moves it); a final one is removed then.
	ExpiresAt time.Time
}

// PartCount is the number of parts the file is cut into.
func (u Upload) PartCount() int { return PartCount(u.Size, u.PartSize) }

// PartSizeOf is the size part n must have: PartSize, except the last.
func (u Upload) PartSizeOf(n int) int64 {
	if n == u.PartCount() {
		return u.Size - int64(n-1)*u.PartSize
	}
	return u.PartSize
}

// PartCount is ceil(size / partSize).
func PartCount(size, partSize int64) int {
	return int((size + partSize - 1) / partSize)
}

// Part is a part a session has received.
type Part struct {
	Number int
	Size   int64
	// SHA256 is the part's as the server hashed it, or as the blob store
	// keeps it; "" for a part that went straight to a store that keeps
	// its CRC32C instead.
	SHA256 string
	// CRC32C (hex) is the part's as the blob store keeps it, where it does
	// (listed by the store; not recorded by the server).
	CRC32C string
	// ETag names the bytes the blob store holds for the part.
	ETag string
	// HashState is the whole file's SHA-256 state after parts 1..Number,
	// when this part was hashed in order: it continued the state of part
	// Number-1, whose SHA-256 was then PrevSHA256 ("" for part 1). Nil
	// when the part arrived before its predecessor.
	HashState  []byte
	PrevSHA256 string
	CreatedAt  time.Time
}

// Store is what the upload use cases need from the metadata store.
type Store interface {
	modelkeep.VersionStore
	modelkeep.FileStore
	modelkeep.AuditStore
	UploadStore

	// InUploadTx runs fn in one transaction with a store bound to it.
	InUploadTx(ctx context.Context, fn func(tx Store) error) error
}

// UploadStore keeps sessions and their parts.
type UploadStore interface {
	// CreateUpload stores u (in u.Model's version u.Version). ErrNotFound
	// when the version does not exist; ErrConflict when a live session for
	// the path exists.
	CreateUpload(ctx context.Context, u Upload) error
	// GetUpload reads a session of a version; ErrNotFound.
	GetUpload(ctx context.Context, model string, version int, id string) (Upload, error)
	// ListUploads returns up to f.Limit sessions of a version, newest
	// first.
	ListUploads(ctx context.Context, f UploadFilter) ([]Upload, error)
	// SetUploadStatus moves a session from one of the statuses from (and,
	// when updatedBefore is not zero, last updated before it) to to, with
	// the given sha256 (when not empty) and expiry; ErrConflict when the
	// session is in none of them (compare and swap).
	SetUploadStatus(ctx context.Context, id string, from []Status, updatedBefore time.Time, to Status, sha256 string, at, expiresAt time.Time) error
	// TouchUpload moves an open session's expiry (a part arrived);
	// ErrConflict when it is not open.
	TouchUpload(ctx context.Context, id string, at, expiresAt time.Time) error
	// MarkUploadPresigned is TouchUpload that also marks the session as
	// one that handed out presigned part URLs (Upload.Presigned).
	MarkUploadPresigned(ctx context.Context, id string, at, expiresAt time.Time) error
	// DueUploads returns up to limit sessions whose expiry is before t, of
	// the given statuses, oldest expiry first.
	DueUploads(ctx context.Context, statuses []Status, t time.Time, limit int) ([]Upload, error)
	// DeleteUpload removes a session with its parts.
	DeleteUpload(ctx context.Context, id string) error
	// LiveUploadOwns reports whether a live session owns the blob store's
	// multipart upload storeUploadID of key.
	LiveUploadOwns(ctx context.Context, key, storeUploadID string) (bool, error)

	// PutUploadPart records a received part, replacing one of the same
	// number.
	PutUploadPart(ctx context.Context, uploadID string, p Part) error
	// GetUploadPart reads one part; ErrNotFound.
	GetUploadPart(ctx context.Context, uploadID string, n int) (Part, error)
	// DeleteUploadPart forgets a part (absent: no error).
	DeleteUploadPart(ctx context.Context, uploadID string, n int) error
	// ListUploadParts returns a session's parts by number.
	ListUploadParts(ctx context.Context, uploadID string) ([]Part, error)
}

// UploadFilter selects sessions of a version.
type UploadFilter struct {
	Model   string
	Version int
	Status  Status // "" for all
	// Keyset: created before BeforeCreatedAt, or at it with an id below
	// BeforeID.
	BeforeCreatedAt time.Time
	BeforeID        string
	Limit           int
}

// Options tune a Service.
type Options struct {
	// PartSize is the smallest part size the server hands out (a larger
	// file gets larger parts, to fit MaxParts); DefaultPartSize when 0.
	PartSize int64
	// MaxSize bounds a file; DefaultMaxSize when 0.
	MaxSize int64
	// Expiry is how long a session stays open after its last part (or its
	// creation), and how long a final one is kept; DefaultExpiry when 0.
	Expiry time.Duration
	// CompletingStaleAfter is how long a completion may run before another
	// request may take it over (its server died);
	// DefaultCompletingStaleAfter when 0.
	CompletingStaleAfter time.Duration
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Pager signs and checks page tokens: the registry's (see
	// modelkeep.ServiceOptions.Pager); without one, a random key, good only
	// in this process.
	Pager *modelkeep.Pager
	// PresignTTL is how long a presigned part URL is valid (a part's
	// request must start within it); DefaultPresignTTL when 0.
	PresignTTL time.Duration
}

// Defaults of Options.
const (
	DefaultPartSize             = 16 << 20
	DefaultMaxSize              = 64 << 30
	DefaultExpiry               = 24 * time.Hour
	DefaultCompletingStaleAfter = time.Hour
	DefaultPresignTTL           = 5 * time.Minute
)

// Service holds the upload use cases.
type Service struct {
	store  Store
	blobs  modelkeep.BlobStore
	mp     modelkeep.Multipart     // nil when the blob store has no multipart uploads
	pp     modelkeep.PartPresigner // nil when parts cannot go straight to the blob store
	log    *modelkeep.AuditLog
	opts   Options
	logger *slog.Logger
}

// New wires the upload use cases to the store, the blob store and the
// registry's audit log.
func New(store Store, blobs modelkeep.BlobStore, log *modelkeep.AuditLog, opts Options) *Service {
	if opts.PartSize <= 0 {
		opts.PartSize = DefaultPartSize
	}
	opts.PartSize = min(max(opts.PartSize, modelkeep.MinPartSize), modelkeep.MaxPartSize)
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.Expiry <= 0 {
		opts.Expiry = DefaultExpiry
	}
	if opts.CompletingStaleAfter <= 0 {
		opts.CompletingStaleAfter = DefaultCompletingStaleAfter
	}
	if opts.PresignTTL <= 0 {
		opts.PresignTTL = DefaultPresignTTL
	}
	if opts.Pager == nil {
		opts.Pager, _ = modelkeep.NewPager(modelkeep.NewPageKey()) // a new key has the size
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{store: store, blobs: blobs, log: log, opts: opts, logger: opts.Logger}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.mp, _ = blobs.(modelkeep.Multipart)
	if s.mp != nil {
		s.pp, _ = blobs.(modelkeep.PartPresigner)
	}
	return s
}

// PresignsParts reports whether parts may go straight to the blob store
// (PresignParts), bypassing the server.
func (s *Service) PresignsParts() bool { return s.pp != nil }

func (s *Service) clock() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

var errNoMultipart = modelkeep.Errorf(modelkeep.ErrUnavailable, "this server's blob store has no multipart uploads")

func (s *Service) multipart() (modelkeep.Multipart, error) {
	if s.mp == nil {
		return nil, errNoMultipart
	}
	return s.mp, nil
}

// PartSizeFor is the part size of a file of size bytes: the configured
// part size, or the smallest whole number of MiB that fits the file into
// MaxParts parts.
func PartSizeFor(size, base int64) int64 {
	need := (size + modelkeep.MaxParts - 1) / modelkeep.MaxParts
	need = (need + 1<<20 - 1) / (1 << 20) * (1 << 20)
	return min(max(base, need), modelkeep.MaxPartSize)
}

// uploadResource names a session in audit events: its version's resource.
func uploadResource(model string, version int) string {
	return modelkeep.VersionResource(model, version)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validateRef(model string, version int) error {
	if err := modelkeep.ValidateName("model", model); err != nil {
		return err
	}
	if version < 1 || version > modelkeep.MaxVersionNumber {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "version must be a number from 1 to %d", modelkeep.MaxVersionNumber)
	}
	return nil
}

func validateID(id string) error {
	if len(id) != 32 {
		return modelkeep.Errorf(modelkeep.ErrNotFound, "upload %q not found", id)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return modelkeep.Errorf(modelkeep.ErrNotFound, "upload %q not found", id)
	}
	return nil
}

// CreateInput is a new session.
type CreateInput struct {
	Model   string
	Version int
	Path    string
	Size    int64
	// SHA256, when set, is the whole file's expected digest.
	SHA256 string
}

// Create opens a session for a path of a pending version and starts its
// multipart upload in the blob store. The session start is audited.
func (s *Service) Create(ctx context.Context, in CreateInput) (Upload, error) {
	if err := validateRef(in.Model, in.Version); err != nil {
		return Upload{}, err
	}
	if err := modelkeep.ValidateFilePath(in.Path); err != nil {
		return Upload{}, err
	}
	switch {
	case in.Size < 1:
		return Upload{}, modelkeep.Errorf(modelkeep.ErrInvalid, "size %d: an upload session is for a file of at least 1 byte (PUT the file for an empty one)", in.Size)
	case in.Size > s.opts.MaxSize:
		return Upload{}, modelkeep.Errorf(modelkeep.ErrTooLarge, "size %d is larger than the upload limit of %d bytes", in.Size, s.opts.MaxSize)
	case in.Size > modelkeep.MaxParts*int64(modelkeep.MaxPartSize):
		return Upload{}, modelkeep.Errorf(modelkeep.ErrTooLarge, "size %d is larger than %d parts of %d bytes", in.Size, modelkeep.MaxParts, int64(modelkeep.MaxPartSize))
	}
	expected := ""
	if in.SHA256 != "" {
		var err error
		if expected, err = modelkeep.ParseSHA256(in.SHA256); err != nil {
			return Upload{}, err
		}
	}
	mp, err := s.multipart()
	if err != nil {
		return Upload{}, err
	}
	v, err := s.store.GetVersion(ctx, in.Model, in.Version)
	if err != nil {
		return Upload{}, err
	}
	if v.Status != modelkeep.StatusPending {
		return Upload{}, modelkeep.Errorf(modelkeep.ErrConflict, "version %s/%d is %s: its files are immutable", in.Model, in.Version, v.Status)
	}
	now := s.clock()
	u := Upload{
		ID: newID(), Model: in.Model, Version: in.Version, Path: in.Path, Size: in.Size, SHA256: expected,
		PartSize: PartSizeFor(in.Size, s.opts.PartSize), BlobKey: fmt.Sprintf("files/%s/%d/%s", in.Model, in.Version, newID()),
		Status: StatusOpen, CreatedBy: modelkeep.ActorName(ctx), CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.opts.Expiry),
	}
	// A store that takes parts straight from clients keeps every part's
	// CRC32C, so that it can tell which bytes each part holds (the server
	// sees no bytes of those parts) and refuse a part damaged on the way.
	create := mp.CreateMultipart
	if s.pp != nil {
		create, u.PartChecksum = s.pp.CreateMultipartCRC32C, modelkeep.ChecksumCRC32C
	}
	if u.StoreUploadID, err = create(ctx, u.BlobKey); err != nil {
		return Upload{}, fmt.Errorf("start multipart upload of %q: %w", in.Path, err)
	}
	err = s.store.InUploadTx(ctx, func(tx Store) error {
		if err := tx.CreateUpload(ctx, u); err != nil {
			return err
		}
		details := map[string]any{"upload_id": u.ID, "path": u.Path, "size": u.Size, "part_size": u.PartSize, "parts": u.PartCount()}
		if u.SHA256 != "" {
			details["sha256"] = u.SHA256
		}
		err := s.log.RecordChange(ctx, tx, "upload.start", uploadResource(u.Model, u.Version), details)
		return err
	})
	if err != nil {
		s.abortStore(u)
		return Upload{}, err
	}
	return u, nil
}

// abortStore aborts a session's multipart upload on a context of its own;
// failures are logged and left to the sweep.
func (s *Service) abortStore(u Upload) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.mp.AbortMultipart(ctx, u.BlobKey, u.StoreUploadID); err != nil {
		s.logger.Warn("abort multipart upload; the upload sweep will retry", "upload_id", u.ID, "err", err)
	}
}

// deleteBlob removes a blob no row references; failures are logged and left
// to the orphan sweep.
func (s *Service) deleteBlob(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.blobs.Delete(ctx, key); err != nil {
		s.logger.Warn("delete unreferenced blob; the orphan sweep will retry", "key", key, "err", err)
	}
}

// Get reads a session with the parts it has received.
func (s *Service) Get(ctx context.Context, model string, version int, id string) (Upload, []Part, error) {
	if err := validateRef(model, version); err != nil {
		return Upload{}, nil, err
	}
	if err := validateID(id); err != nil {
		return Upload{}, nil, err
	}
	u, err := s.store.GetUpload(ctx, model, version, id)
	if err != nil {
		return Upload{}, nil, err
	}
	if !u.Status.Live() {
		parts, err := s.store.ListUploadParts(ctx, id)
		return u, parts, err
	}
	parts, _, err := s.parts(ctx, u)
	if err != nil {
		return Upload{}, nil, err
	}
	// A part whose checksum nobody knows (sent straight to the store before
	// it kept part checksums) is not listed: the client sends it again.
	known := parts[:0]
	for _, p := range parts {
		if p.SHA256 != "" || p.CRC32C != "" {
			known = append(known, p)
		}
	}
	return u, known, nil
}

// ListInput selects and pages the sessions of a version.
type ListInput struct {
	Model     string
	Version   int
	Status    string
	PageSize  int
	PageToken string
}

// List lists the sessions of a version, newest first.
func (s *Service) List(ctx context.Context, in ListInput) ([]Upload, string, error) {
	if err := validateRef(in.Model, in.Version); err != nil {
		return nil, "", err
	}
	f := UploadFilter{Model: in.Model, Version: in.Version}
	if in.Status != "" {
		f.Status = Status(in.Status)
		if !validStatus(f.Status) {
			return nil, "", modelkeep.Errorf(modelkeep.ErrInvalid, "status %q: want one of open, completing, completed, aborted, expired, failed", in.Status)
		}
	}
	listing := modelkeep.NewListing("listUploads", in.Model, strconv.Itoa(in.Version), in.Status)
	page, err := s.opts.Pager.StartTimedPage(listing, in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	if _, err := s.store.GetVersion(ctx, in.Model, in.Version); err != nil {
		return nil, "", err
	}
	f.BeforeCreatedAt, f.BeforeID, f.Limit = page.Before, page.BeforeID, page.Limit+1
	us, err := s.store.ListUploads(ctx, f)
	if err != nil {
		return nil, "", err
	}
	us, next := modelkeep.EndTimedPage(page, us, func(u Upload) (string, time.Time) { return u.ID, u.CreatedAt })
	return us, next, nil
}

func validStatus(st Status) bool {
	for _, x := range Statuses {
		if x == st {
			return true
		}
	}
	return false
}

// Abort ends an open session: its parts are discarded and nothing joins the
// version. Aborting an aborted session is no error. The abort is audited.
func (s *Service) Abort(ctx context.Context, model string, version int, id string) error {
	if err := validateRef(model, version); err != nil {
		return err
	}
	if err := validateID(id); err != nil {
		return err
	}
	u, err := s.store.GetUpload(ctx, model, version, id)
	if err != nil {
		return err
	}
	switch u.Status {
	case StatusAborted:
		return nil
	case StatusOpen:
	default:
		return modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is %s: only an open upload can be aborted", id, u.Status)
	}
	now := s.clock()
	err = s.store.InUploadTx(ctx, func(tx Store) error {
		if err := tx.SetUploadStatus(ctx, id, []Status{StatusOpen}, time.Time{}, StatusAborted, "", now, now.Add(s.opts.Expiry)); err != nil {
			if errors.Is(err, modelkeep.ErrConflict) {
				return modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is no longer open", id)
			}
			return err
		}
		err := s.log.RecordChange(ctx, tx, "upload.abort", uploadResource(model, version), map[string]any{"upload_id": id, "path": u.Path})
		return err
	})
	if err != nil {
		return err
	}
	if s.mp != nil {
		s.abortStore(u)
	}
	return nil
}
