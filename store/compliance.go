package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/compliance"
)

// This file implements compliance.Store's own parts: documents and their
// sign-offs, card revisions, not-applicable exemptions and the records of
// archived evidence packs.

var _ compliance.Store = (*Store)(nil)

// InComplianceTx is InTx for the compliance use cases.
func (s *Store) InComplianceTx(ctx context.Context, fn func(tx compliance.Store) error) error {
	return s.inTxStore(ctx, func(tx *Store) error { return fn(tx) })
}

type documentRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	SHA256     string    `gorm:"column:sha256"`
	Kind       string    `gorm:"column:kind"`
	Title      string    `gorm:"column:title"`
	DocVersion string    `gorm:"column:doc_version"`
	MediaType  string    `gorm:"column:media_type"`
	Size       int64     `gorm:"column:size"`
	BlobKey    string    `gorm:"column:blob_key"`
	CreatedBy  string    `gorm:"column:created_by"`
	CreatedAt  time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (documentRow) TableName() string { return "documents" }

func toDocument(r documentRow) compliance.Document {
	return compliance.Document{ID: r.ID, SHA256: r.SHA256, Kind: r.Kind, Title: r.Title, Version: r.DocVersion,
		MediaType: r.MediaType, Size: r.Size, BlobKey: r.BlobKey, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC()}
}

// CreateDocument inserts d; ErrConflict when its id or SHA-256 exists. A
// zero CreatedAt is the store's clock.
func (s *Store) CreateDocument(ctx context.Context, d compliance.Document) error {
	row := documentRow{ID: d.ID, SHA256: d.SHA256, Kind: d.Kind, Title: d.Title, DocVersion: d.Version,
		MediaType: d.MediaType, Size: d.Size, BlobKey: d.BlobKey, CreatedBy: d.CreatedBy, CreatedAt: s.orNow(d.CreatedAt)}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return modelkeep.Errorf(modelkeep.ErrConflict, "a document with this content or id exists already")
		}
		return dbErr("create document", err)
	}
	return nil
}

// GetDocument reads one document; ErrNotFound when there is none.
func (s *Store) GetDocument(ctx context.Context, id string) (compliance.Document, error) {
	var row documentRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return compliance.Document{}, notFound("get document", err, "document %q not found", id)
	}
	return toDocument(row), nil
}

// GetDocumentBySHA256 reads the document of that content; ErrNotFound.
func (s *Store) GetDocumentBySHA256(ctx context.Context, sha256 string) (compliance.Document, error) {
	var row documentRow
	if err := s.db.WithContext(ctx).Where("sha256 = ?", sha256).Take(&row).Error; err != nil {
		return compliance.Document{}, notFound("get document", err, "no document has SHA-256 %s", sha256)
	}
	return toDocument(row), nil
}

// ListDocuments returns up to f.Limit documents, newest first, then by id.
func (s *Store) ListDocuments(ctx context.Context, f compliance.DocumentFilter) ([]compliance.Document, error) {
	q := s.db.WithContext(ctx).Model(&documentRow{})
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	q = newestFirst(q, "created_at", "id", f.BeforeCreatedAt, f.BeforeID, f.Limit)
	return findAll(q, "list documents", toDocument)
}

type signoffRow struct {
	ID         int64     `gorm:"column:id;primaryKey"`
	DocumentID string    `gorm:"column:document_id"`
	Signer     string    `gorm:"column:signer"`
	SignedAt   time.Time `gorm:"column:signed_at"`
	Meaning    string    `gorm:"column:meaning"`
	Comment    string    `gorm:"column:comment"`
	KeyID      string    `gorm:"column:key_id"`
	Signature  string    `gorm:"column:signature"` // base64
}

func (signoffRow) TableName() string { return "document_signoffs" }

// AddSignoff records a sign-off; ErrConflict when the signer signed the
// document already, ErrNotFound when the document does not exist.
func (s *Store) AddSignoff(ctx context.Context, so compliance.Signoff) error {
	return s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		var doc documentRow
		err := db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Select("id").Where("id = ?", so.DocumentID).Take(&doc).Error
		if err != nil {
			return notFound("sign off document", err, "document %q not found", so.DocumentID)
		}
		var n int64
		if err := db.Model(&signoffRow{}).Where("document_id = ? AND signer = ?", so.DocumentID, so.Signer).Count(&n).Error; err != nil {
			return dbErr("sign off document", err)
		}
		if n > 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict, "%s signed document %s off already", so.Signer, so.DocumentID)
		}
		row := signoffRow{DocumentID: so.DocumentID, Signer: so.Signer, SignedAt: utc(so.SignedAt), Meaning: so.Meaning,
			Comment: so.Comment, KeyID: so.KeyID, Signature: base64.StdEncoding.EncodeToString(so.Signature)}
		if err := db.Create(&row).Error; err != nil {
			return dbErr("sign off document", err)
		}
		return nil
	})
}

// Signoffs returns the sign-offs of the given documents, oldest first, by
// document id, each with its document's SHA-256.
func (s *Store) Signoffs(ctx context.Context, documentIDs ...string) (map[string][]compliance.Signoff, error) {
	out := map[string][]compliance.Signoff{}
	if len(documentIDs) == 0 {
		return out, nil
	}
	type view struct {
		Row    signoffRow `gorm:"embedded"`
		SHA256 string     `gorm:"column:doc_sha256"`
	}
	var rows []view
	err := s.db.WithContext(ctx).Table("document_signoffs").
		Select("document_signoffs.*, documents.sha256 AS doc_sha256").
		Joins("JOIN documents ON documents.id = document_signoffs.document_id").
		Where("document_signoffs.document_id IN ?", documentIDs).
		Order("document_signoffs.signed_at, document_signoffs.id").Find(&rows).Error
	if err != nil {
		return nil, dbErr("list sign-offs", err)
	}
	for _, v := range rows {
		sig, err := base64.StdEncoding.DecodeString(v.Row.Signature)
		if err != nil {
			return nil, fmt.Errorf("decode the signature of a sign-off of document %s: %w", v.Row.DocumentID, err)
		}
		out[v.Row.DocumentID] = append(out[v.Row.DocumentID], compliance.Signoff{
			DocumentID: v.Row.DocumentID, SHA256: v.SHA256, Signer: v.Row.Signer, SignedAt: v.Row.SignedAt.UTC(),
			Meaning: v.Row.Meaning, Comment: v.Row.Comment, KeyID: v.Row.KeyID, Signature: sig,
		})
	}
	return out, nil
}

type cardRevisionRow struct {
	ID            int64     `gorm:"column:id;primaryKey"`
	ModelID       int64     `gorm:"column:model_id"`
	VersionNumber int       `gorm:"column:version_number"`
	Revision      int       `gorm:"column:revision"`
	Body          string    `gorm:"column:body"`
	CreatedBy     string    `gorm:"column:created_by"`
	CreatedAt     time.Time `gorm:"column:created_at;autoCreateTime:false"`
	AuditSeq      int64     `gorm:"column:audit_seq"`
}

func (cardRevisionRow) TableName() string { return "card_revisions" }

func toCardRevision(model string, r cardRevisionRow, withBody bool) (compliance.CardRevision, error) {
	out := compliance.CardRevision{Model: model, Version: r.VersionNumber, Revision: r.Revision, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), AuditSeq: r.AuditSeq}
	if withBody {
		if err := json.Unmarshal([]byte(r.Body), &out.Card); err != nil {
			return compliance.CardRevision{}, fmt.Errorf("decode card revision %d of %s/%d: %w", r.Revision, model, r.VersionNumber, err)
		}
	}
	return out, nil
}

// AddCardRevision stores r as the next revision of its card, under the
// model's row lock so that two writers get distinct numbers, and returns
// the number. ErrNotFound when the model does not exist.
func (s *Store) AddCardRevision(ctx context.Context, r compliance.CardRevision) (int, error) {
	body, err := json.Marshal(r.Card)
	if err != nil {
		return 0, fmt.Errorf("encode card: %w", err)
	}
	var n int
	err = s.inTxStore(ctx, func(tx *Store) error {
		modelID, err := tx.lockModel(ctx, r.Model)
		if err != nil {
			return err
		}
		db := tx.db.WithContext(ctx)
		var last struct{ N *int }
		if err := db.Model(&cardRevisionRow{}).Select("MAX(revision) AS n").
			Where("model_id = ? AND version_number = ?", modelID, r.Version).Scan(&last).Error; err != nil {
			return dbErr("add card revision", err)
		}
		n = 1
		if last.N != nil {
			n = *last.N + 1
		}
		row := cardRevisionRow{ModelID: modelID, VersionNumber: r.Version, Revision: n, Body: string(body),
			CreatedBy: r.CreatedBy, CreatedAt: tx.orNow(r.CreatedAt)}
		if err := db.Create(&row).Error; err != nil {
			return dbErr("add card revision", err)
		}
		return nil
	})
	return n, err
}

// SetCardRevisionAuditSeq records the audit event of a revision, once.
func (s *Store) SetCardRevisionAuditSeq(ctx context.Context, model string, version, n int, seq int64) error {
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return err
	}
	res := s.db.WithContext(ctx).Model(&cardRevisionRow{}).
		Where("model_id = ? AND version_number = ? AND revision = ? AND audit_seq = 0", modelID, version, n).Update("audit_seq", seq)
	if res.Error != nil {
		return dbErr("record the audit event of a card revision", res.Error)
	}
	if res.RowsAffected == 0 {
		return modelkeep.Errorf(modelkeep.ErrConflict, "card revision %d of %s/%d has its audit event already", n, model, version)
	}
	return nil
}

// GetCardRevision reads revision n of a card, the latest when n is 0;
// ErrNotFound when there is none (or no such model).
func (s *Store) GetCardRevision(ctx context.Context, model string, version, n int) (compliance.CardRevision, error) {
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return compliance.CardRevision{}, err
	}
	q := s.db.WithContext(ctx).Where("model_id = ? AND version_number = ?", modelID, version)
	if n > 0 {
		q = q.Where("revision = ?", n)
	}
	var row cardRevisionRow
	if err := q.Order("revision DESC").Take(&row).Error; err != nil {
		return compliance.CardRevision{}, notFound("get card revision", err, "no card revision %d of %s/%d", n, model, version)
	}
	return toCardRevision(model, row, true)
}

// CardRevisionAt reads the latest revision of a card created at or before
// t; ErrNotFound when there is none.
func (s *Store) CardRevisionAt(ctx context.Context, model string, version int, t time.Time) (compliance.CardRevision, error) {
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return compliance.CardRevision{}, err
	}
	var row cardRevisionRow
	err = s.db.WithContext(ctx).Where("model_id = ? AND version_number = ? AND created_at <= ?", modelID, version, utc(t)).
		Order("revision DESC").Take(&row).Error
	if err != nil {
		return compliance.CardRevision{}, notFound("get card revision", err, "no card of %s/%d at %s", model, version, t.UTC().Format(time.RFC3339))
	}
	return toCardRevision(model, row, true)
}

// ListCardRevisions returns a card's revisions, newest first, without their
// bodies. ErrNotFound when the model does not exist.
func (s *Store) ListCardRevisions(ctx context.Context, model string, version int) ([]compliance.CardRevision, error) {
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).Select("id, model_id, version_number, revision, created_by, created_at, audit_seq").
		Where("model_id = ? AND version_number = ?", modelID, version).Order("revision DESC")
	return findAllDecoded(q, "list card revisions", func(r cardRevisionRow) (compliance.CardRevision, error) {
		return toCardRevision(model, r, false)
	})
}

type exemptionRow struct {
	ModelID       int64     `gorm:"column:model_id;primaryKey;autoIncrement:false"`
	VersionNumber int       `gorm:"column:version_number;primaryKey;autoIncrement:false"`
	RowID         string    `gorm:"column:row_id;primaryKey"`
	Justification string    `gorm:"column:justification"`
	EnteredBy     string    `gorm:"column:entered_by"`
	EnteredAt     time.Time `gorm:"column:entered_at"`
	AuditSeq      int64     `gorm:"column:audit_seq"`
}

func (exemptionRow) TableName() string { return "evidence_exemptions" }

// PutExemption records e, replacing one of the same row at the same level.
func (s *Store) PutExemption(ctx context.Context, e compliance.Exemption) error {
	modelID, err := s.modelID(ctx, e.Model)
	if err != nil {
		return err
	}
	row := exemptionRow{ModelID: modelID, VersionNumber: e.Version, RowID: e.RowID, Justification: e.Justification,
		EnteredBy: e.EnteredBy, EnteredAt: s.orNow(e.EnteredAt), AuditSeq: e.AuditSeq}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "model_id"}, {Name: "version_number"}, {Name: "row_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"justification", "entered_by", "entered_at", "audit_seq"}),
	}).Create(&row).Error
	if err != nil {
		return dbErr("put exemption", err)
	}
	return nil
}

// DeleteExemption removes one; ErrNotFound when there is none.
func (s *Store) DeleteExemption(ctx context.Context, model string, version int, rowID string) error {
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return err
	}
	res := s.db.WithContext(ctx).Where("model_id = ? AND version_number = ? AND row_id = ?", modelID, version, rowID).Delete(&exemptionRow{})
	if res.Error != nil {
		return dbErr("delete exemption", res.Error)
	}
	if res.RowsAffected == 0 {
		return modelkeep.Errorf(modelkeep.ErrNotFound, "row %s is not justified as not applicable here", rowID)
	}
	return nil
}

// ListExemptions returns a version's exemptions and its model's (version
// 0), by row id, the model's first.
func (s *Store) ListExemptions(ctx context.Context, model string, version int) ([]compliance.Exemption, error) {
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return nil, err
	}
	var rows []exemptionRow
	err = s.db.WithContext(ctx).Where("model_id = ? AND version_number IN ?", modelID, []int{0, version}).
		Order("row_id, version_number").Find(&rows).Error
	if err != nil {
		return nil, dbErr("list exemptions", err)
	}
	out := make([]compliance.Exemption, len(rows))
	for i, r := range rows {
		out[i] = compliance.Exemption{Model: model, Version: r.VersionNumber, RowID: r.RowID, Justification: r.Justification,
			EnteredBy: r.EnteredBy, EnteredAt: r.EnteredAt.UTC(), AuditSeq: r.AuditSeq}
	}
	return out, nil
}

type packRow struct {
	ID            string     `gorm:"column:id;primaryKey"`
	ModelID       int64      `gorm:"column:model_id"`
	VersionNumber int        `gorm:"column:version_number"`
	SHA256        string     `gorm:"column:sha256"`
	Size          int64      `gorm:"column:size"`
	BlobKey       string     `gorm:"column:blob_key"`
	LockMode      string     `gorm:"column:lock_mode"`
	RetainUntil   *time.Time `gorm:"column:retain_until"`
	GeneratedBy   string     `gorm:"column:generated_by"`
	GeneratedAt   time.Time  `gorm:"column:generated_at"`
}

func (packRow) TableName() string { return "evidence_packs" }

// AddEvidencePack records an archived pack.
func (s *Store) AddEvidencePack(ctx context.Context, p compliance.PackRecord) error {
	modelID, err := s.modelID(ctx, p.Model)
	if err != nil {
		return err
	}
	row := packRow{ID: p.ID, ModelID: modelID, VersionNumber: p.Version, SHA256: p.SHA256, Size: p.Size, BlobKey: p.BlobKey,
		LockMode: p.LockMode, RetainUntil: utcTimePtr(p.RetainUntil), GeneratedBy: p.GeneratedBy, GeneratedAt: s.orNow(p.GeneratedAt)}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return dbErr("add evidence pack", err)
	}
	return nil
}

// GetEvidencePack returns an archived pack's record.
func (s *Store) GetEvidencePack(ctx context.Context, id string) (compliance.PackRecord, error) {
	var row packRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return compliance.PackRecord{}, dbErr("get evidence pack "+id, err)
	}
	var model string
	if err := s.db.WithContext(ctx).Table("models").Select("name").Where("id = ?", row.ModelID).Take(&model).Error; err != nil {
		return compliance.PackRecord{}, dbErr("get evidence pack "+id, err)
	}
	return packRecordOf(row, model), nil
}

func packRecordOf(r packRow, model string) compliance.PackRecord {
	return compliance.PackRecord{ID: r.ID, Model: model, Version: r.VersionNumber, SHA256: r.SHA256, Size: r.Size,
		BlobKey: r.BlobKey, LockMode: r.LockMode, RetainUntil: utcPtr(r.RetainUntil), GeneratedBy: r.GeneratedBy,
		GeneratedAt: r.GeneratedAt.UTC()}
}

// ListEvidencePacks returns a version's packs, newest first.
func (s *Store) ListEvidencePacks(ctx context.Context, model string, version int) ([]compliance.PackRecord, error) {
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).Where("model_id = ? AND version_number = ?", modelID, version).
		Order("generated_at DESC, id DESC")
	return findAll(q, "list evidence packs", func(r packRow) compliance.PackRecord { return packRecordOf(r, model) })
}
