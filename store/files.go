package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

// PutFile records f in a pending version, replacing the file at the same path,
// and returns the replaced file (nil if none) so its blob can be removed.
// ErrNotFound when the version does not exist, ErrConflict when it is not
// pending.
//
// The status check is a compare-and-swap that also bumps the version's
// updated_at: the UPDATE locks the version row until commit, so a concurrent
// FinalizeVersion (which updates the same row) waits, and then either sees
// this file or made this call fail.
func (s *Store) PutFile(ctx context.Context, model string, number int, f modelkeep.File) (*modelkeep.File, error) {
	var replaced *modelkeep.File
	err := s.inTxStore(ctx, func(tx *Store) error {
		v, err := tx.versionRowOf(ctx, model, number)
		if err != nil {
			return err
		}
		op := fmt.Sprintf("put file %q in version %s/%d", f.Path, model, number)
		now := tx.orNow(f.CreatedAt)
		db := tx.db.WithContext(ctx)
		res := db.Model(&versionRow{}).
			Where("id = ? AND status = ?", v.ID, string(modelkeep.StatusPending)).
			Update("updated_at", now)
		if res.Error != nil {
			return dbErr(op, res.Error)
		}
		if res.RowsAffected == 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict,
				"version %d of model %q is not pending: its files can no longer change", number, model)
		}
		// A locking read, so MySQL returns the row as committed now rather
		// than as of the transaction's snapshot.
		var old fileRow
		err = db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("version_id = ? AND path = ?", v.ID, f.Path).Take(&old).Error
		switch {
		case err == nil:
			o := toFile(old)
			replaced = &o
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return dbErr(op, err)
		}
		row := fileRow{VersionID: v.ID, Path: f.Path, Size: f.Size, SHA256: f.SHA256, BlobKey: f.BlobKey, CreatedAt: now}
		err = db.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "version_id"}, {Name: "path"}},
			DoUpdates: clause.AssignmentColumns([]string{"size", "sha256", "blob_key", "created_at"}),
		}).Create(&row).Error
		if err != nil {
			return dbErr(op, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return replaced, nil
}

// GetFile reads the file at path in a version.
//
// A file found takes one query (every download starts here); only a miss
// asks again which of model, version and file is missing.
func (s *Store) GetFile(ctx context.Context, model string, number int, path string) (modelkeep.File, error) {
	var rows []fileRow
	err := s.hotDB(ctx).Select("files.*").
		Joins("JOIN versions ON versions.id = files.version_id JOIN models ON models.id = versions.model_id").
		Where("models.name = ? AND versions.number = ? AND files.path = ?", model, number, path).
		Limit(1).Find(&rows).Error
	if err != nil {
		return modelkeep.File{}, dbErr("get file", err)
	}
	if len(rows) == 1 {
		return toFile(rows[0]), nil
	}
	if _, err := s.versionRowOf(ctx, model, number); err != nil {
		return modelkeep.File{}, err
	}
	return modelkeep.File{}, modelkeep.Errorf(modelkeep.ErrNotFound, "file %q not found in version %d of model %q", path, number, model)
}

// ListFiles returns every file of the version ordered by path (bytewise, as
// the manifest digest sorts them).
func (s *Store) ListFiles(ctx context.Context, model string, number int) ([]modelkeep.File, error) {
	v, err := s.versionRowOf(ctx, model, number)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	var rows []fileRow
	if err := db.Where("version_id = ?", v.ID).Order("path").Find(&rows).Error; err != nil {
		return nil, dbErr(fmt.Sprintf("list files of version %s/%d", model, number), err)
	}
	out := make([]modelkeep.File, len(rows))
	for i, r := range rows {
		out[i] = toFile(r)
	}
	return out, nil
}

// BlobKeyInUse reports whether any file row references key.
func (s *Store) BlobKeyInUse(ctx context.Context, key string) (bool, error) {
	db := s.db.WithContext(ctx)
	var ids []int64
	if err := db.Model(&fileRow{}).Where("blob_key = ?", key).Limit(1).Pluck("id", &ids).Error; err != nil {
		return false, dbErr("look up blob key", err)
	}
	return len(ids) > 0, nil
}

// ModelBlobKeys lists the distinct blob keys of all files of a model;
// ErrNotFound when the model does not exist.
func (s *Store) ModelBlobKeys(ctx context.Context, model string) ([]string, error) {
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	keys := []string{}
	err = db.Model(&fileRow{}).Distinct().
		Joins("JOIN versions ON versions.id = files.version_id").
		Where("versions.model_id = ?", modelID).
		Order("files.blob_key").Pluck("files.blob_key", &keys).Error
	if err != nil {
		return nil, dbErr(fmt.Sprintf("list blob keys of model %q", model), err)
	}
	return keys, nil
}

// DeleteFile removes the file at path from a pending version and returns
// it. The status check is PutFile's compare-and-swap, so a concurrent
// finalize either sees the file gone or made this call fail.
func (s *Store) DeleteFile(ctx context.Context, model string, number int, path string) (modelkeep.File, error) {
	var deleted modelkeep.File
	err := s.inTxStore(ctx, func(tx *Store) error {
		v, err := tx.versionRowOf(ctx, model, number)
		if err != nil {
			return err
		}
		op := fmt.Sprintf("delete file %q of version %s/%d", path, model, number)
		db := tx.db.WithContext(ctx)
		res := db.Model(&versionRow{}).
			Where("id = ? AND status = ?", v.ID, string(modelkeep.StatusPending)).
			Update("updated_at", tx.nowUTC())
		if res.Error != nil {
			return dbErr(op, res.Error)
		}
		if res.RowsAffected == 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict,
				"version %d of model %q is not pending: its files can no longer change", number, model)
		}
		var row fileRow
		err = db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("version_id = ? AND path = ?", v.ID, path).Take(&row).Error
		if err != nil {
			return notFound(op, err, "file %q not found in version %d of model %q", path, number, model)
		}
		if err := db.Where("id = ?", row.ID).Delete(&fileRow{}).Error; err != nil {
			return dbErr(op, err)
		}
		deleted = toFile(row)
		return nil
	})
	return deleted, err
}
