// Package compliance holds the use cases compliance officers and the teams
// who answer them need beyond the registry's core: evidence documents and
// their signed sign-offs, structured model cards with their revisions, the
// justifications of requirements that do not apply, and the EU AI Act
// evidence pack of a version (built, signed, archived and checked by the
// production gate). It consumes the registry's types and store interfaces
// (package modelkeep), the card format (modelcard) and the pack format
// (evidence); the store implements its Store.
package compliance

import (
	"context"
	"log/slog"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/evidence"
	"github.com/modelkeep/modelkeep/modelcard"
)

// Records are the records the compliance use cases read and write, all but
// the packs: the registry's, and their own documents, cards and
// exemptions. Gathering a version's evidence takes Records, so that it
// reads through the store or through the store inside an approval's
// transaction (the production gate) alike.
type Records interface {
	modelkeep.ModelStore
	modelkeep.VersionStore
	modelkeep.FileStore
	modelkeep.MetricStore
	modelkeep.TransitionStore
	modelkeep.DeploymentStore
	modelkeep.DatasetStore
	modelkeep.RunStore
	modelkeep.PolicyStore
	modelkeep.AuditStore
	DocumentStore
	CardStore
	ExemptionStore
}

// Store is what the compliance use cases need from the metadata store: the
// records they read, and the records of archived packs.
type Store interface {
	Records
	PackStore

	// InComplianceTx runs fn in one transaction with a store bound to it.
	InComplianceTx(ctx context.Context, fn func(tx Store) error) error
}

// DocumentStore keeps evidence documents and their sign-offs.
type DocumentStore interface {
	// CreateDocument inserts d; ErrConflict when a document with its id or
	// SHA-256 exists.
	CreateDocument(ctx context.Context, d Document) error
	// GetDocument reads one document (without sign-offs); ErrNotFound.
	GetDocument(ctx context.Context, id string) (Document, error)
	// GetDocumentBySHA256 reads the document of that content; ErrNotFound.
	GetDocumentBySHA256(ctx context.Context, sha256 string) (Document, error)
	// ListDocuments returns up to f.Limit documents, newest first.
	ListDocuments(ctx context.Context, f DocumentFilter) ([]Document, error)
	// AddSignoff records a sign-off; ErrConflict when the signer signed the
	// document already.
	AddSignoff(ctx context.Context, s Signoff) error
	// Signoffs returns the sign-offs of the given documents, oldest first,
	// by document id.
	Signoffs(ctx context.Context, documentIDs ...string) (map[string][]Signoff, error)
}

// CardStore keeps every revision of every model card.
type CardStore interface {
	// AddCardRevision stores r as the next revision of its card (r.Revision
	// is ignored) and returns its number, 1 for the first.
	AddCardRevision(ctx context.Context, r CardRevision) (int, error)
	// GetCardRevision reads revision n of a card (the latest when n is 0);
	// ErrNotFound when there is none. Version 0 is the model's card.
	GetCardRevision(ctx context.Context, model string, version, n int) (CardRevision, error)
	// CardRevisionAt reads the latest revision created at or before t;
	// ErrNotFound when there is none.
	CardRevisionAt(ctx context.Context, model string, version int, t time.Time) (CardRevision, error)
	// ListCardRevisions returns a card's revisions, newest first, without
	// their bodies.
	ListCardRevisions(ctx context.Context, model string, version int) ([]CardRevision, error)
	// SetCardRevisionAuditSeq records the audit event of revision n.
	SetCardRevisionAuditSeq(ctx context.Context, model string, version, n int, seq int64) error
}

// ExemptionStore keeps the requirement rows justified as not applicable.
type ExemptionStore interface {
	// PutExemption records e, replacing one of the same row at the same
	// level. ErrNotFound when the model does not exist.
	PutExemption(ctx context.Context, e Exemption) error
	// DeleteExemption removes one; ErrNotFound when there is none.
	DeleteExemption(ctx context.Context, model string, version int, rowID string) error
	// ListExemptions returns the exemptions of a version: its own and its
	// model's (Version 0), ordered by row id, then level.
	ListExemptions(ctx context.Context, model string, version int) ([]Exemption, error)
}

// PackStore keeps the record of every archived evidence pack.
type PackStore interface {
	AddEvidencePack(ctx context.Context, p PackRecord) error
	// GetEvidencePack returns an archived pack's record; ErrNotFound if
	// there is none.
	GetEvidencePack(ctx context.Context, id string) (PackRecord, error)
	// ListEvidencePacks returns a version's packs, newest first.
	ListEvidencePacks(ctx context.Context, model string, version int) ([]PackRecord, error)
}

// Document is an immutable evidence file: its bytes are in the blob store,
// its SHA-256 identifies it (one document per content).
type Document struct {
	ID        string
	SHA256    string
	Kind      string
	Title     string
	Version   string // the document's own version, e.g. "2.1"
	MediaType string
	Size      int64
	BlobKey   string // never shown to clients
	CreatedBy string
	CreatedAt time.Time
	Signoffs  []Signoff
}

// Document kinds: what a document is evidence of.
var DocumentKinds = []string{
	"risk_management", "instructions_for_use", "declaration_of_conformity", "qms_procedure", "test_log",
	"test_report", "datasheet", "post_market_monitoring_plan", "technical_documentation", "architecture",
	"human_oversight_assessment", "acceptable_use_policy", "copyright_policy", "training_content_summary",
	"certificate", "other",
}

// Signoff is a person's signed approval of a document: the server signed
// evidence.SignoffMessage(SHA256, Signer, SignedAt) with its Ed25519 key KeyID, so
// that it verifies offline with the registry's public key.
type Signoff struct {
	DocumentID string
	SHA256     string
	Signer     string
	SignedAt   time.Time
	Meaning    string // what the signer means: reviewed, approved, authored
	Comment    string
	KeyID      string
	Signature  []byte
}

// Sign-off meanings.
var SignoffMeanings = []string{"approved", "reviewed", "authored"}

// SignoffMessage is what a sign-off's signature covers (the format is
// package evidence's, whose verifier checks it offline).
func SignoffMessage(sha256, signer string, signedAt time.Time) []byte {
	return evidence.SignoffMessage(sha256, signer, signedAt)
}

// DocumentFilter selects documents.
type DocumentFilter struct {
	Kind string
	// Keyset: created before BeforeCreatedAt, or at it with an id below
	// BeforeID.
	BeforeCreatedAt time.Time
	BeforeID        string
	Limit           int
}

// CardRevision is one revision of a model's card (Version 0) or of a
// version's card.
type CardRevision struct {
	Model     string
	Version   int
	Revision  int
	Card      modelcard.Card
	CreatedBy string
	CreatedAt time.Time
	AuditSeq  int64 // the event that recorded it
}

// Exemption is a requirement row justified as not applicable to a model
// (Version 0: all its versions) or to one version.
type Exemption struct {
	Model         string
	Version       int
	RowID         string
	Justification string
	EnteredBy     string
	EnteredAt     time.Time
	AuditSeq      int64 // the event that recorded it
}

// PackRecord is an archived evidence pack.
type PackRecord struct {
	ID          string
	Model       string
	Version     int
	SHA256      string
	Size        int64
	BlobKey     string
	LockMode    string // COMPLIANCE, GOVERNANCE or none
	RetainUntil *time.Time
	GeneratedBy string
	GeneratedAt time.Time
}

// Service holds the compliance use cases.
type Service struct {
	store  Store
	blobs  modelkeep.BlobStore
	log    *modelkeep.AuditLog
	signer *audit.Signer
	pager  *modelkeep.Pager
	now    func() time.Time
	logger *slog.Logger
	opts   Options
}

// Options tune a Service.
type Options struct {
	// Signer signs sign-offs, evidence packs and CycloneDX BOMs: the
	// registry's audit key, so that one public key verifies everything.
	Signer *audit.Signer
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// AuditRetention is how long audit events are kept (the pack states
	// it): at least modelkeep.MinAuditRetention.
	AuditRetention time.Duration
	// Generator names the software in packs and BOMs, e.g. "modelkeep
	// v1.2.0".
	GeneratorVersion string
	// Pager signs and checks page tokens: the registry's (see
	// modelkeep.ServiceOptions.Pager); without one, a random key, good only
	// in this process.
	Pager *modelkeep.Pager
}

// New wires the compliance use cases to the store, the blob store and the
// registry's audit log.
func New(store Store, blobs modelkeep.BlobStore, log *modelkeep.AuditLog, opts Options) *Service {
	s := &Service{store: store, blobs: blobs, log: log, signer: opts.Signer, pager: opts.Pager, now: opts.Now, logger: opts.Logger, opts: opts}
	if s.pager == nil {
		s.pager, _ = modelkeep.NewPager(modelkeep.NewPageKey()) // a new key has the size
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.opts.AuditRetention < modelkeep.MinAuditRetention {
		s.opts.AuditRetention = modelkeep.MinAuditRetention
	}
	return s
}

// clock is the service's time at the databases' precision.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }
