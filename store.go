package modelkeep

import (
	"context"
	"time"

	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/search"
)

// MetaStore keeps the registry's metadata. Implementations (store/) translate
// their errors to the sentinels: a missing row is ErrNotFound, a duplicate key
// ErrConflict, an unreachable database ErrUnavailable.
type MetaStore interface {
	// InTx runs fn in one transaction, handing it a store bound to it: fn's
	// writes all commit, or none do.
	InTx(ctx context.Context, fn func(tx MetaStore) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	GovernanceStore
	AuditStore
	LineageStore

	// CreateModel inserts m; ErrConflict when the name exists.
	CreateModel(ctx context.Context, m Model) error
	GetModel(ctx context.Context, name string) (Model, error)
	// ListModels returns up to f.Limit models ordered by name, after f.AfterName.
	ListModels(ctx context.Context, f ModelFilter) ([]Model, error)
	// UpdateModel stores m's description, tags and UpdatedAt.
	UpdateModel(ctx context.Context, m Model) error
	// DeleteModel removes the model with its versions, files and aliases.
	DeleteModel(ctx context.Context, name string) error

	// CreateVersion gives v the model's next version number (never reused,
	// even after deletion), stores it and returns the number.
	CreateVersion(ctx context.Context, v Version) (int, error)
	GetVersion(ctx context.Context, model string, number int) (Version, error)
	// ListVersions returns up to f.Limit versions of f.Model, newest first,
	// with numbers below f.BeforeNumber when it is not 0; ErrNotFound when
	// the model does not exist.
	ListVersions(ctx context.Context, f VersionFilter) ([]Version, error)
	// FinalizeVersion moves a pending version to ready with its manifest
	// digest; ErrConflict when the version is not pending (compare and swap).
	FinalizeVersion(ctx context.Context, model string, number int, digest string, at time.Time) error

	// PutFile records f in a pending version, replacing a file at the same
	// path; it returns the replaced file, if any, so its blob can be removed.
	// ErrConflict when the version is not pending.
	PutFile(ctx context.Context, model string, number int, f File) (replaced *File, err error)
	GetFile(ctx context.Context, model string, number int, path string) (File, error)
	// ListFiles returns every file of the version ordered by path.
	ListFiles(ctx context.Context, model string, number int) ([]File, error)
	// BlobKeyInUse reports whether any file row references the blob key.
	BlobKeyInUse(ctx context.Context, key string) (bool, error)
	// ModelBlobKeys lists the blob keys of all files of a model (to delete
	// them after the model is removed).
	ModelBlobKeys(ctx context.Context, model string) ([]string, error)

	// CreateToken stores a token record; GetToken reads one by id (jti).
	CreateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns up to f.Limit records, newest first.
	ListTokens(ctx context.Context, f TokenFilter) ([]Token, error)
	// RevokeToken marks a token revoked (idempotent); ErrNotFound if absent.
	RevokeToken(ctx context.Context, id string, at time.Time) error

	// AppendAudit appends e to the hash chain: it sets e.Seq, e.PrevHash and
	// e.Hash (see audit.Event.ComputeHash), serialising with other writers on
	// the chain head, and returns the stored event.
	AppendAudit(ctx context.Context, e audit.Event) (audit.Event, error)
	// ListAudit returns up to f.Limit events, newest first, with seq below
	// f.BeforeSeq when it is not 0.
	ListAudit(ctx context.Context, f AuditFilter) ([]audit.Event, error)
}

// ModelFilter selects models in ListModels.
type ModelFilter struct {
	// Query matches a substring of the name or description (case-insensitive).
	Query string
	// NamePatterns, when not empty, keeps only names matching one of these
	// globs (* and ?): the caller's model scope.
	NamePatterns []string
	// Tags must all be present with these values.
	Tags      map[string]string
	AfterName string
	Limit     int

	// Where, when not nil, is a filter expression the models must match.
	Where *search.Filter
	// Order, when not zero, replaces the order by name; After then is the
	// keyset position to continue after, and AfterName is unused.
	Order search.Order
	After *SortKey
}

// VersionFilter selects versions of one model in ListVersions.
type VersionFilter struct {
	Model        string
	Stage        Stage         // "" for any
	Status       VersionStatus // "" for any
	BeforeNumber int
	Limit        int

	// Where, when not nil, is a filter expression the versions must match.
	Where *search.Filter
	// Order, when not zero, replaces newest first; After then is the keyset
	// position to continue after, and BeforeNumber is unused.
	Order search.Order
	After *SortKey
}

// AuditFilter selects audit events in ListAudit.
type AuditFilter struct {
	Actor     string
	Action    string
	Resource  string // exact, or a prefix when it ends with '*'
	Since     time.Time
	Until     time.Time
	BeforeSeq int64
	Limit     int
}

// TokenFilter selects token records in ListTokens.
type TokenFilter struct {
	IncludeRevoked bool
	// Keyset: records created before BeforeCreatedAt, or at it with an id
	// below BeforeID.
	BeforeCreatedAt time.Time
	BeforeID        string
	Limit           int
}
