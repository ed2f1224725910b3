package modelkeep

import (
	"context"
	"time"

	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/search"
)

// MetaStore keeps the registry's metadata: every role interface below, and
// transactions across them. Implementations (store/) translate their errors
// to the sentinels: a missing row is ErrNotFound, a duplicate key
// ErrConflict, an unreachable database ErrUnavailable. Use cases that need
// one part only declare the smaller interface they consume.
type MetaStore interface {
	// InTx runs fn in one transaction, handing it a store bound to it: fn's
	// writes all commit, or none do.
	InTx(ctx context.Context, fn func(tx MetaStore) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	ModelStore
	VersionStore
	FileStore
	TokenStore
	StageStore
	TransitionStore
	PolicyStore
	AliasStore
	DeploymentStore
	MetricStore
	DatasetStore
	RunStore
	LineageStore
	AuditStore
}

// ModelStore keeps models.
type ModelStore interface {
	// CreateModel inserts m; ErrConflict when the name exists.
	CreateModel(ctx context.Context, m Model) error
	GetModel(ctx context.Context, name string) (Model, error)
	// ListModels returns up to f.Limit models ordered by name, after f.AfterName.
	ListModels(ctx context.Context, f ModelFilter) ([]Model, error)
	// UpdateModel stores m's description, tags and UpdatedAt.
	UpdateModel(ctx context.Context, m Model) error
	// DeleteModel removes the model with its versions, files and aliases.
	DeleteModel(ctx context.Context, name string) error
}

// VersionStore keeps versions.
type VersionStore interface {
	// CreateVersion gives v the model's next version number (never reused,
	// even after deletion), stores it and returns the number.
	CreateVersion(ctx context.Context, v Version) (int, error)
	// CreateVersionThen is CreateVersion followed by then in the same
	// transaction, handed the store bound to it and the new version's
	// number: both commit or neither does. Concurrent calls may share one
	// transaction and its commit (group commit); when a shared one fails
	// before its commit, each of its creates runs again alone, so then may
	// run more than once and must write only through tx.
	CreateVersionThen(ctx context.Context, v Version, then func(ctx context.Context, tx MetaStore, number int) error) (int, error)
	GetVersion(ctx context.Context, model string, number int) (Version, error)
	// GetVersionFresh is GetVersion from the database itself, never from a
	// cache that may lag another process's change by a moment: for
	// decisions such as who may download a version.
	GetVersionFresh(ctx context.Context, model string, number int) (Version, error)
	// ListVersions returns up to f.Limit versions of f.Model, newest first,
	// with numbers below f.BeforeNumber when it is not 0; ErrNotFound when
	// the model does not exist.
	ListVersions(ctx context.Context, f VersionFilter) ([]Version, error)
	// FinalizeVersion moves a pending version to ready with its manifest
	// digest; ErrConflict when the version is not pending (compare and swap).
	FinalizeVersion(ctx context.Context, model string, number int, digest string, at time.Time) error
	// DeleteVersion removes a pending version with its files, metrics,
	// tags, params, upload sessions, lineage edges, card and exemptions,
	// and returns what is left to remove from the blob store. ErrConflict
	// when the version is not pending (compare and swap) or an evidence
	// pack of it was archived.
	DeleteVersion(ctx context.Context, model string, number int) (DeletedVersion, error)
}

// DeletedVersion is what a deleted version leaves in the blob store: its
// files' blobs and the multipart uploads of its sessions that were still
// open or completing.
type DeletedVersion struct {
	BlobKeys   []string
	Multiparts []MultipartUpload
}

// FileStore keeps the file records of versions (their bytes are in the
// BlobStore).
type FileStore interface {
	// PutFile records f in a pending version, replacing a file at the same
	// path; it returns the replaced file, if any, so its blob can be removed.
	// ErrConflict when the version is not pending.
	PutFile(ctx context.Context, model string, number int, f File) (replaced *File, err error)
	GetFile(ctx context.Context, model string, number int, path string) (File, error)
	// ListFiles returns every file of the version ordered by path.
	ListFiles(ctx context.Context, model string, number int) ([]File, error)
	// BlobKeyInUse reports whether any file row references the blob key.
	BlobKeyInUse(ctx context.Context, key string) (bool, error)
	// DeleteFile removes the file at path from a pending version and
	// returns it, so its blob can be removed. ErrNotFound when there is no
	// such file, ErrConflict when the version is not pending.
	DeleteFile(ctx context.Context, model string, number int, path string) (File, error)
	// ModelBlobKeys lists the blob keys of all files of a model (to delete
	// them after the model is removed).
	ModelBlobKeys(ctx context.Context, model string) ([]string, error)
}

// TokenStore keeps the records of issued tokens.
type TokenStore interface {
	// CreateToken stores a token record; GetToken reads one by id (jti).
	CreateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns up to f.Limit records, newest first.
	ListTokens(ctx context.Context, f TokenFilter) ([]Token, error)
	// RevokeToken marks a token revoked (idempotent); ErrNotFound if absent.
	RevokeToken(ctx context.Context, id string, at time.Time) error
}

// StageStore moves versions between stages.
type StageStore interface {
	// LockModel serialises changes of one model's stages until the
	// transaction ends (SELECT ... FOR UPDATE on the model's row; SQLite's
	// write transactions serialise anyway). ErrNotFound if absent.
	LockModel(ctx context.Context, model string) error
	// SetStage moves a version from one stage to another (compare and swap:
	// ErrConflict when it is not in from), recording when; moving into
	// production also sets EverProduction. The store refuses (ErrConflict)
	// a second production version of a model.
	SetStage(ctx context.Context, model string, number int, from, to Stage, at time.Time) error
	// VersionsInStage lists a model's versions in a stage, the one moved
	// there last first: at most limit of them (all when limit <= 0).
	// ErrNotFound when the model does not exist.
	VersionsInStage(ctx context.Context, model string, stage Stage, limit int) ([]Version, error)
}

// TransitionStore keeps stage transition requests and their approvals.
type TransitionStore interface {
	CreateTransition(ctx context.Context, t Transition) error
	// GetTransition reads a transition with its approvals (oldest first).
	GetTransition(ctx context.Context, id string) (Transition, error)
	// ListTransitions returns up to f.Limit transitions, newest first.
	ListTransitions(ctx context.Context, f TransitionFilter) ([]Transition, error)
	// AddApproval records an approval; ErrConflict when this approver
	// already approved this transition.
	AddApproval(ctx context.Context, transitionID string, a Approval) error
	// DecideTransition moves a pending transition to approved or rejected
	// (compare and swap on pending: ErrConflict otherwise).
	DecideTransition(ctx context.Context, id string, status TransitionStatus, by, comment string, at time.Time) error
}

// PolicyStore keeps each model's promotion policy.
type PolicyStore interface {
	// GetPolicy returns the model's policy (RequiredApprovals 1 and nothing
	// else when none was set); PutPolicy replaces it.
	GetPolicy(ctx context.Context, model string) (Policy, error)
	PutPolicy(ctx context.Context, model string, p Policy) error
}

// AliasStore keeps aliases.
type AliasStore interface {
	// SetAlias points alias at a version, creating or moving it; it returns
	// the version it pointed at before (nil when new).
	SetAlias(ctx context.Context, a Alias) (previous *int, err error)
	GetAlias(ctx context.Context, model, alias string) (Alias, error)
	DeleteAlias(ctx context.Context, model, alias string) error
}

// DeploymentStore keeps the deployments ledger.
type DeploymentStore interface {
	CreateDeployment(ctx context.Context, d Deployment) error
	// EndDeployments ends every running deployment of model in environment
	// (a full rollout replaces them), returning their ids.
	EndDeployments(ctx context.Context, model, environment string, at time.Time) ([]string, error)
	// ListDeployments returns up to f.Limit deployments, newest first.
	ListDeployments(ctx context.Context, f DeploymentFilter) ([]Deployment, error)
}

// MetricStore keeps metric points and compares them across a model's
// versions.
type MetricStore interface {
	// AddMetrics records points of a version; ErrNotFound when the model or
	// the version does not exist.
	AddMetrics(ctx context.Context, model string, number int, metrics []Metric) error
	// ListMetricsPage returns up to f.Limit of the version's points (all
	// when Limit <= 0; one key when f.Key is set), ordered by key, then
	// step, then timestamp, then Seq, after f.After; ErrNotFound when the
	// model or the version does not exist.
	ListMetricsPage(ctx context.Context, f MetricFilter) ([]Metric, error)

	// CompareMetrics returns one value per series (version, dataset, split,
	// environment) of metric f.Key, aggregated as f.Aggregate, for up to
	// f.Limit versions of f.Model that have the metric, newest first.
	// ErrNotFound when the model does not exist.
	CompareMetrics(ctx context.Context, f MetricComparisonFilter) ([]VersionMetric, error)
}

// DatasetStore keeps datasets and answers which versions used one.
type DatasetStore interface {
	// CreateDataset inserts d; ErrConflict when its name and version exist.
	CreateDataset(ctx context.Context, d Dataset) error
	GetDataset(ctx context.Context, name, version string) (Dataset, error)
	// FillDataset sets each non-empty optional field of d (URI, SHA256,
	// Size, License, Description) that the stored record has empty, leaving
	// the others as they are, and sets UpdatedAt. ErrNotFound if absent.
	FillDataset(ctx context.Context, d Dataset) error
	// ListDatasets returns up to f.Limit datasets ordered by name, then
	// version, after (f.AfterName, f.AfterVersion).
	ListDatasets(ctx context.Context, f DatasetFilter) ([]Dataset, error)
	// DatasetUsers lists the versions with a lineage edge from dataset
	// f.Name@f.Version, one per edge (a version that used it in two roles
	// is listed twice), newest first (see DatasetUseFilter), up to f.Limit
	// after f.After, leaving out models outside f.Patterns (when not
	// empty). ErrNotFound when the dataset does not exist.
	DatasetUsers(ctx context.Context, f DatasetUseFilter) ([]DatasetUse, error)
}

// RunStore keeps the runs that made versions.
type RunStore interface {
	// CreateRun inserts r; ErrConflict when its id exists.
	CreateRun(ctx context.Context, r Run) error
	GetRun(ctx context.Context, id string) (Run, error)
	// ListRuns returns up to f.Limit runs, newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)
	// FillRun sets each field r tells (every one but ID, Kind, CreatedBy
	// and CreatedAt) that the stored record has empty, and UpdatedAt.
	// ErrNotFound if absent.
	FillRun(ctx context.Context, r Run) error
}

// LineageStore keeps the lineage graph that links datasets, runs, versions
// and deployments.
type LineageStore interface {
	// AddLineage records links, each once: a link that exists already is
	// left alone. ErrNotFound when a node does not exist.
	AddLineage(ctx context.Context, links []LineageLink) error
	// Lineage walks the graph from a version breadth-first, one query per
	// level and direction, within q's depth and node cap (see LineageQuery).
	// ErrNotFound when the version does not exist.
	Lineage(ctx context.Context, q LineageQuery) (LineageGraph, error)
}

// AuditStore keeps the hash-chained audit log and its signed checkpoints:
// appending an event, reading the chain in order, its head, and the
// checkpoints. The audit log's use cases (AuditLog) need nothing else.
//
// Apart from PruneAudit, nothing here changes or removes an event: the
// application's database user needs only INSERT and SELECT on the audit
// tables (see docs/audit.md).
type AuditStore interface {
	// AppendAudit appends e to the hash chain, in the caller's transaction
	// or in one of its own: it sets e.Seq, e.PrevHash and
	// e.Hash (see audit.Event.ComputeHash), serialising with other writers on
	// the chain head, and returns the stored event.
	AppendAudit(ctx context.Context, e audit.Event) (audit.Event, error)

	// AuditHead returns the seq and hash of the last event of the chain (0
	// and audit.GenesisHash when nothing was ever appended). It never goes back,
	// even when events are pruned.
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
	// AuditSeqRange returns the smallest stored seq (0 when no event is
	// stored) and the smallest seq of an event with a time at or after t
	// (0 when there is none).
	AuditSeqRange(ctx context.Context, t time.Time) (first, firstAtOrAfter int64, err error)
	// GetAuditEvent reads one event; ErrNotFound when it is not stored.
	GetAuditEvent(ctx context.Context, seq int64) (audit.Event, error)
	// QueryAudit returns up to q.Limit events matching q, ordered by seq.
	QueryAudit(ctx context.Context, q AuditQuery) ([]audit.Event, error)
	// ScanAudit calls fn for every stored event with from <= seq <= to, in
	// seq order, reading in batches so that memory stays constant however
	// long the chain. fn runs with no database connection held; its error
	// stops the scan and is returned as is.
	ScanAudit(ctx context.Context, from, to int64, fn func(audit.Event) error) error

	// AddAuditCheckpoint stores c unless a checkpoint of the same seq
	// exists; it returns the stored one and whether it is c.
	AddAuditCheckpoint(ctx context.Context, c audit.Checkpoint) (audit.Checkpoint, bool, error)
	// LastAuditCheckpoint returns the checkpoint with the greatest seq at or
	// below maxSeq (math.MaxInt64 for any), optionally only of one kind (""
	// for any); ErrNotFound when there is none.
	LastAuditCheckpoint(ctx context.Context, maxSeq int64, kind string) (audit.Checkpoint, error)
	// ListAuditCheckpoints returns up to limit checkpoints, newest first,
	// with seq below beforeSeq when it is not 0.
	ListAuditCheckpoints(ctx context.Context, beforeSeq int64, limit int) ([]audit.Checkpoint, error)
	// AuditCheckpointsBetween returns up to limit checkpoints with from <=
	// seq <= to, oldest first.
	AuditCheckpointsBetween(ctx context.Context, from, to int64, limit int) ([]audit.Checkpoint, error)

	// PruneAudit deletes the events with seq <= throughSeq and the
	// checkpoints below it, returning how many events it deleted. It is the
	// one method that removes audit rows and needs the DELETE privilege;
	// only Service.PruneAudit calls it, after anchoring the chain.
	PruneAudit(ctx context.Context, throughSeq int64) (int64, error)

	// InAuditTx runs fn in one transaction with a store bound to it, for
	// the audit log's own multi-step changes (a checkpoint with the event
	// that records it, a prune with its anchor).
	InAuditTx(ctx context.Context, fn func(tx AuditStore) error) error
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

// TokenFilter selects token records in ListTokens.
type TokenFilter struct {
	IncludeRevoked bool
	// Keyset: records created before BeforeCreatedAt, or at it with an id
	// below BeforeID.
	BeforeCreatedAt time.Time
	BeforeID        string
	Limit           int
}

// MetricFilter selects and pages a version's metric points.
type MetricFilter struct {
	Model  string
	Number int
	Key    string // "" for every key
	// After, when not nil, is the keyset position: the points after it in
	// (Key, Step, Timestamp, Seq) order.
	After *Metric
	Limit int // every point when <= 0
}

// TransitionFilter selects transitions.
type TransitionFilter struct {
	Model   string
	Version int // with Model: the transitions of one version
	Status  TransitionStatus
	// Keyset: requested before BeforeRequestedAt, or at it with an id below
	// BeforeID.
	BeforeRequestedAt time.Time
	BeforeID          string
	Limit             int
}

// DeploymentFilter selects deployments.
type DeploymentFilter struct {
	ID          string // one deployment
	Version     int    // with Model: the deployments of one version
	Environment string
	Model       string
	// At, when set, keeps the deployments running at that time
	// (DeployedAt <= At and not ended by then).
	At *time.Time
	// Keyset: deployed before BeforeDeployedAt, or at it with an id below
	// BeforeID.
	BeforeDeployedAt time.Time
	BeforeID         string
	Limit            int
}

// AuditQuery selects audit events in QueryAudit.
type AuditQuery struct {
	Actor    string
	Action   string
	Resource string // exact, or a prefix when it ends with '*'
	Outcome  string
	Since    time.Time // inclusive
	Until    time.Time // exclusive
	// Keyset: seq above AfterSeq / below BeforeSeq when not 0.
	AfterSeq  int64
	BeforeSeq int64
	// Ascending orders by seq from the oldest; the default is newest first.
	Ascending bool
	Limit     int // all when <= 0
}
