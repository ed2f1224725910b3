package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/uploads"
)

// This file implements uploads.Store's own parts: upload sessions and the
// parts they received.

var _ uploads.Store = (*Store)(nil)

// InUploadTx is InTx for the upload use cases.
func (s *Store) InUploadTx(ctx context.Context, fn func(tx uploads.Store) error) error {
	return s.inTxStore(ctx, func(tx *Store) error { return fn(tx) })
}

type uploadRow struct {
	ID            string    `gorm:"column:id;primaryKey"`
	VersionID     int64     `gorm:"column:version_id"`
	Path          string    `gorm:"column:path"`
	OpenPath      *string   `gorm:"column:open_path"`
	Size          int64     `gorm:"column:size"`
	SHA256        string    `gorm:"column:sha256"`
	PartSize      int64     `gorm:"column:part_size"`
	BlobKey       string    `gorm:"column:blob_key"`
	StoreUploadID string    `gorm:"column:store_upload_id"`
	PartChecksum  string    `gorm:"column:part_checksum"`
	Presigned     bool      `gorm:"column:presigned"`
	Status        string    `gorm:"column:status"`
	CreatedBy     string    `gorm:"column:created_by"`
	CreatedAt     time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt     time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
	ExpiresAt     time.Time `gorm:"column:expires_at"`
}

func (uploadRow) TableName() string { return "uploads" }

// uploadView is an upload row with its model's name and version number,
// read with a join (uploadsJoined).
type uploadView struct {
	Row           uploadRow `gorm:"embedded"` // exported: GORM skips unexported fields
	ModelName     string    `gorm:"column:model_name"`
	VersionNumber int       `gorm:"column:version_number"`
}

func toUpload(v uploadView) uploads.Upload {
	r := v.Row
	return uploads.Upload{
		ID: r.ID, Model: v.ModelName, Version: v.VersionNumber, Path: r.Path, Size: r.Size, SHA256: r.SHA256,
		PartSize: r.PartSize, BlobKey: r.BlobKey, StoreUploadID: r.StoreUploadID, PartChecksum: r.PartChecksum, Presigned: r.Presigned, Status: uploads.Status(r.Status),
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
}

type uploadPartRow struct {
	UploadID   string    `gorm:"column:upload_id;primaryKey"`
	Number     int       `gorm:"column:number;primaryKey"`
	Size       int64     `gorm:"column:size"`
	SHA256     string    `gorm:"column:sha256"`
	ETag       string    `gorm:"column:etag"`
	HashState  []byte    `gorm:"column:hash_state"`
	PrevSHA256 *string   `gorm:"column:prev_sha256"`
	CreatedAt  time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (uploadPartRow) TableName() string { return "upload_parts" }

func toUploadPart(r uploadPartRow) uploads.Part {
	p := uploads.Part{Number: r.Number, Size: r.Size, SHA256: r.SHA256, ETag: r.ETag, HashState: r.HashState, CreatedAt: r.CreatedAt.UTC()}
	if r.PrevSHA256 != nil {
		p.PrevSHA256 = *r.PrevSHA256
	}
	if len(p.HashState) == 0 {
		p.HashState = nil
	}
	return p
}

// uploadsJoined selects upload rows with their model's name and version
// number.
func (s *Store) uploadsJoined(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Table("uploads").
		Select("uploads.*, models.name AS model_name, versions.number AS version_number").
		Joins("JOIN versions ON versions.id = uploads.version_id").
		Joins("JOIN models ON models.id = versions.model_id")
}

// CreateUpload stores a new session; ErrConflict when a live session for
// the path exists.
func (s *Store) CreateUpload(ctx context.Context, u uploads.Upload) error {
	v, err := s.versionRowOf(ctx, u.Model, u.Version)
	if err != nil {
		return err
	}
	row := uploadRow{
		ID: u.ID, VersionID: v.ID, Path: u.Path, Size: u.Size, SHA256: u.SHA256, PartSize: u.PartSize,
		BlobKey: u.BlobKey, StoreUploadID: u.StoreUploadID, PartChecksum: u.PartChecksum, Status: string(u.Status), CreatedBy: u.CreatedBy,
		CreatedAt: s.orNow(u.CreatedAt), UpdatedAt: s.orNow(u.UpdatedAt), ExpiresAt: utc(u.ExpiresAt),
	}
	if u.Status.Live() {
		row.OpenPath = &row.Path
	}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return modelkeep.Errorf(modelkeep.ErrConflict, "an upload of %q into version %s/%d is open already: complete, abort or resume it (GET .../uploads?status=open)", u.Path, u.Model, u.Version)
		}
		return dbErr("create upload", err)
	}
	return nil
}

// GetUpload reads a session of a version.
func (s *Store) GetUpload(ctx context.Context, model string, version int, id string) (uploads.Upload, error) {
	var rows []uploadView
	err := s.uploadsJoined(ctx).Where("uploads.id = ? AND models.name = ? AND versions.number = ?", id, model, version).
		Limit(1).Find(&rows).Error
	if err != nil {
		return uploads.Upload{}, dbErr("get upload", err)
	}
	if len(rows) == 0 {
		return uploads.Upload{}, modelkeep.Errorf(modelkeep.ErrNotFound, "upload %s of version %s/%d not found", id, model, version)
	}
	return toUpload(rows[0]), nil
}

// ListUploads returns sessions of a version, newest first, then by id.
func (s *Store) ListUploads(ctx context.Context, f uploads.UploadFilter) ([]uploads.Upload, error) {
	q := s.uploadsJoined(ctx).Where("models.name = ? AND versions.number = ?", f.Model, f.Version)
	if f.Status != "" {
		q = q.Where("uploads.status = ?", string(f.Status))
	}
	q = newestFirst(q, "uploads.created_at", "uploads.id", f.BeforeCreatedAt, f.BeforeID, f.Limit)
	return findAll(q, "list uploads", toUpload)
}

func statusStrings(ss []uploads.Status) []string {
	out := make([]string, len(ss))
	for i, st := range ss {
		out[i] = string(st)
	}
	return out
}

// SetUploadStatus is a compare-and-swap on the session's status (and, with
// updatedBefore, its last update).
func (s *Store) SetUploadStatus(ctx context.Context, id string, from []uploads.Status, updatedBefore time.Time, to uploads.Status, sha256 string, at, expiresAt time.Time) error {
	updates := map[string]any{"status": string(to), "updated_at": utc(at), "expires_at": utc(expiresAt), "open_path": nil}
	if to.Live() {
		updates["open_path"] = gorm.Expr("path")
	}
	if sha256 != "" {
		updates["sha256"] = sha256
	}
	q := s.db.WithContext(ctx).Model(&uploadRow{}).Where("id = ? AND status IN ?", id, statusStrings(from))
	if !updatedBefore.IsZero() {
		q = q.Where("updated_at < ?", utc(updatedBefore))
	}
	res := q.Updates(updates)
	if res.Error != nil {
		return dbErr("set upload status", res.Error)
	}
	if res.RowsAffected == 0 {
		return modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is not %v", id, from)
	}
	return nil
}

// TouchUpload moves an open session's expiry.
func (s *Store) TouchUpload(ctx context.Context, id string, at, expiresAt time.Time) error {
	return s.touchUpload(ctx, id, map[string]any{"updated_at": utc(at), "expires_at": utc(expiresAt)})
}

// MarkUploadPresigned is TouchUpload for a session that hands out
// presigned part URLs: it also marks the session so (for good).
func (s *Store) MarkUploadPresigned(ctx context.Context, id string, at, expiresAt time.Time) error {
	return s.touchUpload(ctx, id, map[string]any{"updated_at": utc(at), "expires_at": utc(expiresAt), "presigned": true})
}

func (s *Store) touchUpload(ctx context.Context, id string, updates map[string]any) error {
	// Lock the row, check it, then update it, in a transaction (the
	// caller's, or one of its own). The compare-and-swap UPDATE ... WHERE
	// status = 'open' this replaced was seen to match no row now and then
	// while parts of one session arrived at once on MariaDB, ending a part
	// of a live session with 409; a locking read waits for the other part's
	// transaction and reads what it committed.
	return s.inTxStore(ctx, func(tx *Store) error {
		var locked []uploadRow
		if err := tx.db.WithContext(ctx).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Select("id", "status").Where("id = ?", id).Limit(1).Find(&locked).Error; err != nil {
			return dbErr("touch upload", err)
		}
		if len(locked) == 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is gone", id)
		}
		if locked[0].Status != string(uploads.StatusOpen) {
			return modelkeep.Errorf(modelkeep.ErrConflict, "upload %s is %s, not open", id, locked[0].Status)
		}
		err := tx.db.WithContext(ctx).Model(&uploadRow{}).Where("id = ?", id).Updates(updates).Error
		return dbErr("touch upload", err)
	})
}

// DueUploads returns sessions of the given statuses whose expiry is before
// t, oldest expiry first.
func (s *Store) DueUploads(ctx context.Context, statuses []uploads.Status, t time.Time, limit int) ([]uploads.Upload, error) {
	q := s.uploadsJoined(ctx).Where("uploads.status IN ? AND uploads.expires_at < ?", statusStrings(statuses), utc(t)).
		Order("uploads.expires_at, uploads.id").Limit(limit)
	return findAll(q, "list due uploads", toUpload)
}

// DeleteUpload removes a session; its parts go with it (ON DELETE CASCADE).
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Where("id = ?", id).Delete(&uploadRow{}).Error; err != nil {
		return dbErr("delete upload", err)
	}
	return nil
}

// LiveUploadOwns reports whether an open or completing session owns the
// multipart upload storeUploadID of key.
func (s *Store) LiveUploadOwns(ctx context.Context, key, storeUploadID string) (bool, error) {
	var ids []string
	err := s.db.WithContext(ctx).Model(&uploadRow{}).
		Where("blob_key = ? AND store_upload_id = ? AND status IN ?", key, storeUploadID,
			[]string{string(uploads.StatusOpen), string(uploads.StatusCompleting)}).
		Limit(1).Pluck("id", &ids).Error
	if err != nil {
		return false, dbErr("look up the owner of a multipart upload", err)
	}
	return len(ids) > 0, nil
}

// PutUploadPart records a part, replacing one of the same number.
func (s *Store) PutUploadPart(ctx context.Context, uploadID string, p uploads.Part) error {
	row := uploadPartRow{UploadID: uploadID, Number: p.Number, Size: p.Size, SHA256: p.SHA256, ETag: p.ETag,
		HashState: p.HashState, CreatedAt: s.orNow(p.CreatedAt)}
	if p.HashState != nil {
		prev := p.PrevSHA256
		row.PrevSHA256 = &prev
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "upload_id"}, {Name: "number"}},
		DoUpdates: clause.AssignmentColumns([]string{"size", "sha256", "etag", "hash_state", "prev_sha256", "created_at"}),
	}).Create(&row).Error
	if err != nil {
		return dbErr(fmt.Sprintf("record part %d of upload %s", p.Number, uploadID), err)
	}
	return nil
}

// GetUploadPart reads one part.
func (s *Store) GetUploadPart(ctx context.Context, uploadID string, n int) (uploads.Part, error) {
	var rows []uploadPartRow
	if err := s.db.WithContext(ctx).Where("upload_id = ? AND number = ?", uploadID, n).Limit(1).Find(&rows).Error; err != nil {
		return uploads.Part{}, dbErr("get upload part", err)
	}
	if len(rows) == 0 {
		return uploads.Part{}, modelkeep.Errorf(modelkeep.ErrNotFound, "part %d of upload %s not received", n, uploadID)
	}
	return toUploadPart(rows[0]), nil
}

// DeleteUploadPart forgets a part.
func (s *Store) DeleteUploadPart(ctx context.Context, uploadID string, n int) error {
	if err := s.db.WithContext(ctx).Where("upload_id = ? AND number = ?", uploadID, n).Delete(&uploadPartRow{}).Error; err != nil {
		return dbErr("delete upload part", err)
	}
	return nil
}

// ListUploadParts returns a session's parts by number.
func (s *Store) ListUploadParts(ctx context.Context, uploadID string) ([]uploads.Part, error) {
	q := s.db.WithContext(ctx).Where("upload_id = ?", uploadID).Order("number")
	return findAll(q, "list upload parts", toUploadPart)
}
