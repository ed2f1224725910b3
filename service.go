package modelkeep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep/audit"
)

// Service holds the registry's use cases. Each runs in one MetaStore
// transaction together with the audit event that records it, so the state
// and the audit log always agree.
type Service struct {
	// AuditLog is the audit log's use cases and the one way the others
	// write to it (record, RecordDenied).
	*AuditLog
	meta   MetaStore
	blobs  BlobStore
	signer TokenSigner
	pager  *Pager
	tokens *tokenRecordCache
	now    func() time.Time
	logger *slog.Logger
	// evidence holds production approvals of policies that require it.
	evidence EvidenceGate
}

// ServiceOptions tune a Service; the zero value is usable.
type ServiceOptions struct {
	// Now is the clock (UTC is applied); time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Signer signs the tokens CreateToken issues; without one, tokens
	// cannot be issued.
	Signer TokenSigner
	// TokenCacheTTL is how long LookupToken may answer from memory; 0 looks
	// every token up in the database on every request.
	TokenCacheTTL time.Duration
	// AuditSigner signs audit checkpoints and exports; without one, neither
	// can be made.
	AuditSigner *audit.Signer
	// EvidenceGate answers for policies that require evidence; it may also
	// be set later, with SetEvidenceGate (it is built over the Service).
	EvidenceGate EvidenceGate
	// Pager signs and checks page tokens: the server's, with the key kept
	// in the database (LoadPager), so that every replica accepts the
	// tokens of the others. Without one, a random key: tokens are good
	// only in this process.
	Pager *Pager
}

// NewService wires the use cases to their stores.
func NewService(meta MetaStore, blobs BlobStore, opts ServiceOptions) *Service {
	s := &Service{meta: meta, blobs: blobs, signer: opts.Signer, pager: opts.Pager, now: opts.Now, logger: opts.Logger,
		tokens: &tokenRecordCache{ttl: opts.TokenCacheTTL, entries: map[string]cachedToken{}}}
	if s.pager == nil {
		s.pager = newLocalPager()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.AuditLog = NewAuditLog(meta, AuditLogOptions{Signer: opts.AuditSigner, Now: s.now, Logger: s.logger, Pager: s.pager})
	s.evidence = opts.EvidenceGate
	return s
}

// SetEvidenceGate sets the gate of policies that require evidence. Call it
// while wiring, before serving.
func (s *Service) SetEvidenceGate(g EvidenceGate) { s.evidence = g }

// Now is the service's clock, in UTC truncated to microseconds (the
// precision the databases keep).
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Ready checks that both stores answer.
func (s *Service) Ready(ctx context.Context) map[string]error {
	return map[string]error{
		"database":   s.meta.Ping(ctx),
		"blob_store": s.blobs.Ping(ctx),
	}
}

// ModelResource and VersionResource name a model and a version as audit
// events do.
func ModelResource(name string) string { return "models/" + name }
func VersionResource(model string, n int) string {
	return fmt.Sprintf("models/%s/versions/%d", model, n)
}

// deleteBlob removes a blob that no row references (any more). It runs after
// the transaction decided, on a context of its own so that a client that went
// away does not stop the clean-up; failures are logged and left to the sweep.
func (s *Service) deleteBlob(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.blobs.Delete(ctx, key); err != nil {
		s.logger.Warn("delete unreferenced blob; the orphan sweep will retry", "key", key, "err", err)
	}
}

// randomID returns a fresh random 128-bit identifier in hex: the ids of
// transitions, deployments and tokens, and the unique part of blob keys.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Models.

// CreateModelInput is what a new model is made of.
type CreateModelInput struct {
	Name        string
	Description string
	Tags        map[string]string
}

func validateModelFields(description string, tags map[string]string) error {
	if err := ValidateDescription(description); err != nil {
		return err
	}
	return ValidateTags("tags", tags, MaxTags, MaxTagValueLen)
}

// CreateModel registers a new, empty model.
func (s *Service) CreateModel(ctx context.Context, in CreateModelInput) (Model, error) {
	if err := ValidateName("model", in.Name); err != nil {
		return Model{}, err
	}
	if err := validateModelFields(in.Description, in.Tags); err != nil {
		return Model{}, err
	}
	if a, ok := ActorFrom(ctx); ok && !a.CanAccessModel(in.Name) {
		s.RecordDenied(ctx, "createModel", ModelResource(in.Name), "the token is not valid for this model name")
		return Model{}, Errorf(ErrForbidden, "the token is not valid for model %q", in.Name)
	}
	now := s.Now()
	m := Model{Name: in.Name, Description: in.Description, Tags: nonNil(in.Tags),
		CreatedBy: ActorName(ctx), CreatedAt: now, UpdatedAt: now}
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		if err := tx.CreateModel(ctx, m); err != nil {
			return err
		}
		return s.record(ctx, tx, "model.create", ModelResource(m.Name), map[string]any{
			"description": m.Description, "tags": m.Tags})
	})
	if err != nil {
		return Model{}, err
	}
	return m, nil
}

// GetModel reads one model.
func (s *Service) GetModel(ctx context.Context, name string) (Model, error) {
	if err := ValidateName("model", name); err != nil {
		return Model{}, err
	}
	return s.meta.GetModel(ctx, name)
}

// ListModelsInput selects and pages models.
type ListModelsInput struct {
	Query     string
	Tag       string // "key:value"
	PageSize  int
	PageToken string
	// Filter is a filter expression and OrderBy a sort key (docs/search.md).
	Filter  string
	OrderBy string
}

// ListModels lists models, by name unless in.OrderBy says otherwise; the
// second result is the next page token ("" on the last page).
func (s *Service) ListModels(ctx context.Context, in ListModelsInput) ([]Model, string, error) {
	q, pg, cur, after, err := s.pager.startList("listModels", []string{in.Query, in.Tag},
		FilterModels, in.Filter, in.OrderBy, in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	f := ModelFilter{Query: in.Query, Where: q.where, Order: q.order, After: after, Limit: pg.limit + 1}
	if q.order.IsZero() {
		f.AfterName = cur.Name
	}
	if a, ok := ActorFrom(ctx); ok {
		f.NamePatterns = a.Models // out-of-scope models are not even listed
	}
	if in.Tag != "" {
		k, v, ok := strings.Cut(in.Tag, ":")
		if !ok || k == "" {
			return nil, "", Errorf(ErrInvalid, "tag filter %q: want key:value", in.Tag)
		}
		f.Tags = map[string]string{k: v}
	}
	models, err := s.meta.ListModels(ctx, f)
	if err != nil {
		return nil, "", err
	}
	models, next := endPage(pg, models, q.modelCursor)
	return models, next, nil
}

// ModelPatch changes a model; nil fields are left alone. Tags, when given,
// replace the whole map.
type ModelPatch struct {
	Description *string
	Tags        map[string]string
	SetTags     bool
}

// UpdateModel applies a patch.
func (s *Service) UpdateModel(ctx context.Context, name string, p ModelPatch) (Model, error) {
	if err := ValidateName("model", name); err != nil {
		return Model{}, err
	}
	var out Model
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		m, err := tx.GetModel(ctx, name)
		if err != nil {
			return err
		}
		before := map[string]any{"description": m.Description, "tags": m.Tags}
		if p.Description != nil {
			m.Description = *p.Description
		}
		if p.SetTags {
			m.Tags = nonNil(p.Tags)
		}
		if err := validateModelFields(m.Description, m.Tags); err != nil {
			return err
		}
		m.UpdatedAt = s.Now()
		if err := tx.UpdateModel(ctx, m); err != nil {
			return err
		}
		out = m
		return s.record(ctx, tx, "model.update", ModelResource(name), map[string]any{
			"before": before, "after": map[string]any{"description": m.Description, "tags": m.Tags}})
	})
	return out, err
}

// DeleteModel removes a model, its versions and their files.
func (s *Service) DeleteModel(ctx context.Context, name string) error {
	if err := ValidateName("model", name); err != nil {
		return err
	}
	var keys []string
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		m, err := tx.GetModel(ctx, name)
		if err != nil {
			return err
		}
		if keys, err = tx.ModelBlobKeys(ctx, name); err != nil {
			return err
		}
		if err := tx.DeleteModel(ctx, name); err != nil {
			return err
		}
		return s.record(ctx, tx, "model.delete", ModelResource(name), map[string]any{
			"latest_version": m.LatestVersion, "files": len(keys)})
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		s.deleteBlob(k)
	}
	return nil
}

// Versions.

// CreateVersionInput describes a new version.
type CreateVersionInput struct {
	Description string
	Tags        map[string]string
	Params      map[string]string
	Source      Source
	Datasets    []DatasetRef
	Parent      *VersionRef
	// ParentRelation says how the version came from Parent (see
	// ParentRelations; "" is derived_from); Run tells more about the run of
	// Source.RunID. Both only feed the lineage graph (lineage.go).
	ParentRelation string
	Run            *RunDetails
}

func (in CreateVersionInput) validate() error {
	if err := validateModelFields(in.Description, in.Tags); err != nil {
		return err
	}
	if err := ValidateTags("params", in.Params, MaxParams, MaxParamValueLen); err != nil {
		return err
	}
	if len(in.Datasets) > MaxDatasets {
		return Errorf(ErrInvalid, "datasets: at most %d entries", MaxDatasets)
	}
	for i, d := range in.Datasets {
		if err := ValidateName("dataset", d.Name); err != nil {
			return Errorf(ErrInvalid, "datasets[%d]: %w", i, err)
		}
		if d.SHA256 != "" {
			if _, err := ParseSHA256(d.SHA256); err != nil {
				return Errorf(ErrInvalid, "datasets[%d]: %w", i, err)
			}
		}
		if d.Role != "" && !slices.Contains(DatasetRoles, d.Role) {
			return Errorf(ErrInvalid, "datasets[%d]: role %q: want one of %s", i, d.Role, strings.Join(DatasetRoles, ", "))
		}
	}
	if p := in.Parent; p != nil {
		if err := ValidateName("model", p.Model); err != nil {
			return Errorf(ErrInvalid, "parent: %w", err)
		}
		if p.Version < 1 {
			return Errorf(ErrInvalid, "parent: version must be at least 1")
		}
	}
	return in.validateLineage()
}

// CreateVersion opens a new pending version with the model's next number.
func (s *Service) CreateVersion(ctx context.Context, model string, in CreateVersionInput) (Version, error) {
	if err := ValidateName("model", model); err != nil {
		return Version{}, err
	}
	if err := in.validate(); err != nil {
		return Version{}, err
	}
	if err := s.checkParentScope(ctx, model, in); err != nil {
		return Version{}, err
	}
	now := s.Now()
	v := Version{
		Model: model, Description: in.Description, Tags: nonNil(in.Tags), Params: nonNil(in.Params),
		Source: in.Source, Datasets: in.Datasets, Parent: in.Parent,
		Status: StatusPending, Stage: StageNone, CreatedBy: ActorName(ctx), CreatedAt: now, UpdatedAt: now,
	}
	// Creates arriving together may share a transaction (group commit), so
	// everything after the version's row goes in then, which may run twice
	// (MetaStore.CreateVersionThen): it writes only through tx. No read of
	// the model first: CreateVersionThen says when it is missing
	// (ErrNotFound, the answer before a missing parent), and a read cost
	// two round trips.
	// The parent is checked before the create joins a shared transaction
	// (which a missing one would fail for all), and only then: it existed
	// before this version's number was taken, so it is not the version
	// itself nor one created with it.
	if err := s.checkParentExists(ctx, s.meta, model, in.Parent); err != nil {
		return Version{}, err
	}
	n, err := s.meta.CreateVersionThen(ctx, v, func(ctx context.Context, tx MetaStore, n int) error {
		created := v
		created.Number = n
		if err := s.recordVersionLineage(ctx, tx, created, in); err != nil {
			return err
		}
		return s.record(ctx, tx, "version.create", VersionResource(model, n), lineageAuditDetails(map[string]any{
			"description": v.Description, "tags": v.Tags, "params": v.Params, "source": sourceDetails(v.Source),
			"datasets": datasetDetails(v.Datasets), "parent": parentDetails(v.Parent)}, in))
	})
	if err != nil {
		return Version{}, err
	}
	v.Number = n
	return v, nil
}

// checkParentExists fails with ErrInvalid when parent (if any) is not a
// version in meta; with ErrNotFound when model is missing too, the answer
// before a missing parent.
func (s *Service) checkParentExists(ctx context.Context, meta MetaStore, model string, parent *VersionRef) error {
	if parent == nil {
		return nil
	}
	if _, err := meta.GetVersion(ctx, parent.Model, parent.Version); errors.Is(err, ErrNotFound) {
		if _, err := meta.GetModel(ctx, model); err != nil {
			return err
		}
		return Errorf(ErrInvalid, "parent version %s/%d does not exist", parent.Model, parent.Version)
	} else if err != nil {
		return err
	}
	return nil
}

// GetVersion reads one version.
func (s *Service) GetVersion(ctx context.Context, model string, number int) (Version, error) {
	if err := validateVersionRef(model, number); err != nil {
		return Version{}, err
	}
	return s.meta.GetVersion(ctx, model, number)
}

func validateVersionRef(model string, number int) error {
	if err := ValidateName("model", model); err != nil {
		return err
	}
	if number < 1 || number > MaxVersionNumber {
		return Errorf(ErrInvalid, "version must be a number from 1 to %d", MaxVersionNumber)
	}
	return nil
}

// MaxVersionNumber is the highest version number a model can have (the
// contract's and the database's 32-bit integer).
const MaxVersionNumber = 1<<31 - 1

// ListVersionsInput selects and pages versions of one model.
type ListVersionsInput struct {
	Model     string
	Stage     string
	Status    string
	PageSize  int
	PageToken string
	// Filter is a filter expression and OrderBy a sort key (docs/search.md).
	Filter  string
	OrderBy string
}

// ListVersions lists a model's versions, newest first unless in.OrderBy
// says otherwise.
func (s *Service) ListVersions(ctx context.Context, in ListVersionsInput) ([]Version, string, error) {
	if err := ValidateName("model", in.Model); err != nil {
		return nil, "", err
	}
	q, pg, cur, after, err := s.pager.startList("listVersions", []string{in.Model, in.Stage, in.Status},
		FilterVersions, in.Filter, in.OrderBy, in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	f := VersionFilter{Model: in.Model, Where: q.where, Order: q.order, After: after, Limit: pg.limit + 1}
	if q.order.IsZero() {
		f.BeforeNumber = int(cur.Num)
	}
	if in.Stage != "" {
		if f.Stage, err = ParseStage(in.Stage); err != nil {
			return nil, "", err
		}
	}
	if in.Status != "" {
		if f.Status, err = ParseStatus(in.Status); err != nil {
			return nil, "", err
		}
	}
	// A missing model is a 404, not an empty list: ListVersions says so.
	versions, err := s.meta.ListVersions(ctx, f)
	if err != nil {
		return nil, "", err
	}
	// The token of a page sorted by a metric carries the last version's
	// value of it, as the list read it (SortValue).
	var metric *float64
	if len(versions) > pg.limit {
		metric = versions[pg.limit-1].SortValue
	}
	versions, next := endPage(pg, versions, func(v Version) pageCursor { return q.versionCursor(v, metric) })
	return versions, next, nil
}

// Finalize freezes a pending version: its manifest digest is computed from
// its files and it becomes ready (immutable).
func (s *Service) Finalize(ctx context.Context, model string, number int) (Version, error) {
	if err := validateVersionRef(model, number); err != nil {
		return Version{}, err
	}
	var out Version
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		v, err := tx.GetVersion(ctx, model, number)
		if err != nil {
			return err
		}
		if v.Status != StatusPending {
			return Errorf(ErrConflict, "version %s/%d is already %s", model, number, v.Status)
		}
		files, err := tx.ListFiles(ctx, model, number)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return Errorf(ErrPrecondition, "version %s/%d has no files to finalize", model, number)
		}
		digest := ManifestDigest(files)
		now := s.Now()
		if err := tx.FinalizeVersion(ctx, model, number, digest, now); err != nil {
			return err
		}
		v.Status, v.ManifestDigest, v.FinalizedAt, v.UpdatedAt = StatusReady, digest, &now, now
		out = v
		return s.record(ctx, tx, "version.finalize", VersionResource(model, number), map[string]any{
			"manifest_digest": digest, "files": len(files)})
	})
	return out, err
}

// DeleteVersion removes a pending version that will never be finalized,
// with its files and upload sessions; their blobs and the sessions'
// multipart uploads are removed once the deletion committed (what fails is
// logged and left to the orphan sweep). A ready version is kept (409), as
// are its records: it may be in a stage, deployed, or in an evidence pack.
// The version's number is not handed out again.
func (s *Service) DeleteVersion(ctx context.Context, model string, number int) error {
	if err := validateVersionRef(model, number); err != nil {
		return err
	}
	var gone DeletedVersion
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		var err error
		if gone, err = tx.DeleteVersion(ctx, model, number); err != nil {
			return err
		}
		return s.record(ctx, tx, "version.delete", VersionResource(model, number), map[string]any{
			"files": len(gone.BlobKeys), "open_uploads": len(gone.Multiparts)})
	})
	if err != nil {
		return err
	}
	for _, k := range gone.BlobKeys {
		s.deleteBlob(k)
	}
	if mp, ok := s.blobs.(Multipart); ok {
		for _, u := range gone.Multiparts {
			s.abortMultipart(mp, u)
		}
	}
	return nil
}

// abortMultipart ends the multipart upload of a session that went with its
// version, as deleteBlob does for a blob.
func (s *Service) abortMultipart(mp Multipart, u MultipartUpload) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := mp.AbortMultipart(ctx, u.Key, u.UploadID); err != nil {
		s.logger.Warn("abort the multipart upload of a deleted version; the orphan sweep will retry", "key", u.Key, "err", err)
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// The audit details of a version spell fields as the API does (snake_case):
// the domain types carry no JSON tags.

func sourceDetails(s Source) map[string]any {
	return map[string]any{"run_id": s.RunID, "git_commit": s.GitCommit, "code_uri": s.CodeURI}
}

func datasetDetails(ds []DatasetRef) []map[string]any {
	out := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		out = append(out, map[string]any{"name": d.Name, "version": d.Version, "uri": d.URI, "sha256": d.SHA256, "role": d.Role})
	}
	return out
}

func parentDetails(p *VersionRef) any {
	if p == nil {
		return nil
	}
	return map[string]any{"model": p.Model, "version": p.Version}
}
