package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

// CreateVersion stores v as the model's next version and returns its number.
// The number comes from models.latest_version, bumped in the same
// transaction: the UPDATE locks the model row (MySQL) or runs in a write
// transaction (SQLite), so concurrent creates get distinct, consecutive
// numbers, and a number is never handed out again even if its version is
// gone. v.Model and v.Number are ignored; an empty Status is pending, an
// empty Stage none; zero times are the store's clock.
//
// The model row stays locked to the commit (issue 18 asked whether it must):
// taking the number in a short transaction of its own would not free it,
// because inserting the version's row checks its foreign key and so holds a
// shared lock on the same model row to the commit anyway (InnoDB), and the
// posting cache relies on "latest_version N means versions 1..N are
// committed" (postings.go). Numbers stay gapless per model; versions of
// different models do not wait for each other.
//
// So creates on one model pass one at a time through the section from the
// number's UPDATE to the commit: the version's row, its tags, its params,
// the audit record and the commit, five round trips and a log flush. The
// API's creates go through CreateVersionThen instead, where creates that
// arrive together share that section and its commit (versions_batch.go).
func (s *Store) CreateVersion(ctx context.Context, v modelkeep.Version) (int, error) {
	c, err := s.newVersionCreate(v)
	if err != nil {
		return 0, err
	}
	return s.createVersionAlone(ctx, c)
}

// versionCreate is a version to create: its row (without model id and
// number), the model's name, its tags and params, and what to run after
// it in the same transaction (nil: nothing).
type versionCreate struct {
	model        string
	row          versionRow
	tags, params map[string]string
	then         func(ctx context.Context, tx modelkeep.MetaStore, number int) error
}

// newVersionCreate is v made ready to store (CreateVersion's defaults).
func (s *Store) newVersionCreate(v modelkeep.Version) (versionCreate, error) {
	row, err := fromVersion(v)
	if err != nil {
		return versionCreate{}, fmt.Errorf("create version of model %q: %w", v.Model, err)
	}
	if row.Status == "" {
		row.Status = string(modelkeep.StatusPending)
	}
	if row.Stage == "" {
		row.Stage = string(modelkeep.StageNone)
	}
	row.CreatedAt = s.orNow(v.CreatedAt)
	row.UpdatedAt = row.CreatedAt
	if !v.UpdatedAt.IsZero() {
		row.UpdatedAt = utc(v.UpdatedAt)
	}
	return versionCreate{model: v.Model, row: row, tags: v.Tags, params: v.Params}, nil
}

// insertVersion stores c in the caller's transaction under the model's next
// number and returns the number.
func (s *Store) insertVersion(ctx context.Context, c versionCreate) (int, error) {
	row := c.row
	var err error
	if row.ModelID, row.Number, err = s.takeVersionNumber(ctx, c.model); err != nil {
		return 0, err
	}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return 0, dbErr(fmt.Sprintf("create version %s/%d", c.model, row.Number), err)
	}
	if err := s.putVersionKV(ctx, row, c.tags, c.params); err != nil {
		return 0, err
	}
	return row.Number, nil
}

// takeVersionNumber bumps the model's latest_version in the caller's
// transaction and returns the model's id and the new number. The UPDATE
// locks the model row to the commit, so it is the transaction's first
// statement on that row: everything from it to the commit is a section
// that creates on one model pass through one at a time.
//
// On MySQL it is one statement: the model's id comes from memory (checked
// by the UPDATE's name condition, as ids are never reused; a miss reads it)
// and the new number from LAST_INSERT_ID(expr), which the UPDATE's answer
// carries. Reading them back took a round trip inside that section.
func (s *Store) takeVersionNumber(ctx context.Context, model string) (int64, int, error) {
	op := fmt.Sprintf("create version of model %q", model)
	db := s.db.WithContext(ctx)
	if s.dialect != dialectMySQL {
		res := db.Model(&modelRow{}).Where("name = ?", model).Update("latest_version", gorm.Expr("latest_version + 1"))
		if res.Error != nil {
			return 0, 0, dbErr(op, res.Error)
		}
		if res.RowsAffected == 0 {
			s.modelIDs.Delete(model) // gone: not to be trusted by the next create
			return 0, 0, modelkeep.Errorf(modelkeep.ErrNotFound, "model %q not found", model)
		}
		var m modelRow
		if err := db.Select("id", "latest_version").Where("name = ?", model).Take(&m).Error; err != nil {
			return 0, 0, dbErr(op, err)
		}
		return m.ID, m.LatestVersion, nil
	}
	id, known := s.modelIDs.Get(model)
	for range 2 {
		if !known {
			var err error
			if id, err = s.freshModelID(ctx, model); err != nil {
				return 0, 0, err
			}
		}
		res, err := db.Statement.ConnPool.ExecContext(ctx,
			"UPDATE models SET latest_version = LAST_INSERT_ID(latest_version + 1) WHERE id = ? AND name = ?", id, model)
		if err != nil {
			return 0, 0, dbErr(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, 0, dbErr(op, err)
		} else if n == 1 {
			number, err := res.LastInsertId()
			if err != nil {
				return 0, 0, dbErr(op, err)
			}
			return id, int(number), nil
		}
		// The remembered id is of a model deleted since (perhaps
		// created again under a new id): read it afresh.
		known = false
	}
	return 0, 0, modelkeep.Errorf(modelkeep.ErrNotFound, "model %q not found", model)
}

// versionRowOf reads the row of version number of model in one query;
// when there is none, a second one tells which of the two is missing
// (ErrNotFound names it).
func (s *Store) versionRowOf(ctx context.Context, model string, number int) (versionRow, error) {
	db := s.db.WithContext(ctx)
	var rows []versionRow
	err := db.Select("versions.*").Joins("JOIN models ON models.id = versions.model_id").
		Where("models.name = ? AND versions.number = ?", model, number).Limit(1).Find(&rows).Error
	if err != nil {
		return versionRow{}, dbErr("get version", err)
	}
	if len(rows) == 1 {
		return rows[0], nil
	}
	return versionRow{}, s.versionNotFound(ctx, model, number)
}

// versionNotFound is the error for a version read that found no row: the
// model's (ErrNotFound) when the model is missing too, else the version's.
func (s *Store) versionNotFound(ctx context.Context, model string, number int) error {
	if _, err := s.modelID(ctx, model); err != nil {
		return err
	}
	return modelkeep.Errorf(modelkeep.ErrNotFound, "version %d of model %q not found", number, model)
}

// GetVersion reads one version, with its aliases, in one query; a ready
// one may come from the ready-version cache (readycache.go).
func (s *Store) GetVersion(ctx context.Context, model string, number int) (modelkeep.Version, error) {
	return s.cachedVersion(ctx, model, number, s.readVersion)
}

// GetVersionFresh is GetVersion from the database, never the cache.
func (s *Store) GetVersionFresh(ctx context.Context, model string, number int) (modelkeep.Version, error) {
	return s.readVersion(ctx, model, number)
}

// readVersion is GetVersion from the database.
func (s *Store) readVersion(ctx context.Context, model string, number int) (modelkeep.Version, error) {
	rows, err := s.hotDB(ctx).Raw("SELECT "+versionColumns+" FROM versions JOIN models ON models.id = versions.model_id "+
		"WHERE models.name = ? AND versions.number = ?", model, number).Rows()
	if err != nil {
		return modelkeep.Version{}, dbErr("get version", err)
	}
	var row versionRow
	found := false
	for rows.Next() {
		if row, err = scanVersion(rows); err != nil {
			rows.Close()
			return modelkeep.Version{}, dbErr("get version", err)
		}
		found = true
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return modelkeep.Version{}, dbErr("get version", err)
	}
	if found {
		return toVersion(model, row)
	}
	return modelkeep.Version{}, s.versionNotFound(ctx, model, number)
}

// ListVersions returns up to f.Limit versions of f.Model (all when Limit <=
// 0), newest first with numbers below f.BeforeNumber when it is not 0, or in
// f.Order after f.After; filtered by stage and status when set and by
// f.Where. ErrNotFound when the model is missing.
func (s *Store) ListVersions(ctx context.Context, f modelkeep.VersionFilter) ([]modelkeep.Version, error) {
	// A plain page (no filter, newest first) needs nothing of the model but
	// its id, so a remembered one saves the model's read, a tenth of the
	// page's cost. A page with versions proves the model is there under
	// that id (versions go with their model, ids are never reused); an
	// empty one may be a model deleted since, or created again: the model
	// is read, as without the id.
	plain := f.Where == nil && f.Order.IsZero() && !s.inTx
	id, remembered := s.modelIDs.Get(f.Model)
	var empty []modelkeep.Version // the page of the remembered id, when empty
	if remembered && plain {
		vs, err := s.listVersionsOf(ctx, modelAt{id: id}, f)
		if err != nil || len(vs) > 0 {
			return vs, err
		}
		empty = vs
	}
	m, err := s.listedModel(ctx, f.Model)
	if err != nil {
		return nil, err
	}
	if plain {
		if remembered && m.id == id {
			return empty, nil // the model is there and has no such versions: the page stands
		}
		s.modelIDs.Put(f.Model, m.id)
	}
	return s.listVersionsOf(ctx, m, f)
}

// listVersionsOf is ListVersions of the model m.
func (s *Store) listVersionsOf(ctx context.Context, m modelAt, f modelkeep.VersionFilter) ([]modelkeep.Version, error) {
	modelID := m.id
	if vs, ok, err := s.listFromPostings(ctx, m, f); ok || err != nil {
		return vs, err
	}
	db := s.db.WithContext(ctx)
	query, args, driven, err := compileDrivenVersionList(s.dialect, modelID, f)
	if err != nil {
		return nil, err
	}
	if driven {
		return s.readVersions(ctx, db.Raw(query, args...), f.Model, m, describeList(f.Model))
	}
	// The list's own conditions; columns are qualified, as a sort by a
	// metric reads latest_metrics too.
	// The filter is compiled once: a sort by a metric applies it to both of
	// its phases.
	var filterSQL string
	var filterArgs []any
	if f.Where != nil {
		if filterSQL, filterArgs, err = compileFilter(s.dialect, modelkeep.FilterVersions, modelID, f.Where); err != nil {
			return nil, err
		}
	}
	where := func(q *gorm.DB) *gorm.DB {
		q = q.Where("versions.model_id = ?", modelID)
		if f.Stage != "" {
			q = q.Where("versions.stage = ?", string(f.Stage))
		}
		if f.Status != "" {
			q = q.Where("versions.status = ?", string(f.Status))
		}
		if filterSQL != "" {
			q = q.Where(filterSQL, filterArgs...)
		}
		return q
	}
	if f.Order.Field.Name == "metrics" {
		return s.listByMetric(ctx, m, f, where)
	}
	if f.Where == nil {
		// Without a filter the list's text is one of a few: prepare it.
		db = s.hotDB(ctx)
	}
	q := where(db.Model(&versionRow{}))
	if f.Order.IsZero() {
		if f.BeforeNumber != 0 {
			q = q.Where("versions.number < ?", f.BeforeNumber)
		}
		q = q.Order("versions.number DESC")
	} else {
		var err error
		if q, err = applyOrder(q, modelkeep.FilterVersions, f.Order, f.After); err != nil {
			return nil, err
		}
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	return s.readVersions(ctx, q.Select(stateColumns), f.Model, m, describeList(f.Model))
}

// FinalizeVersion moves a pending version to ready with its manifest digest,
// as a compare-and-swap on status = 'pending': ErrConflict when the version is
// not pending, ErrNotFound when it does not exist.
//
// It also checks digest against the files as they are now, under the lock
// the UPDATE took on the version row: the caller computed digest from a read
// that, on MySQL, may come from an older snapshot than a PutFile committed
// since. PutFile locks the same row first, so after the UPDATE no upload can
// add a file, and a mismatch means the digest missed one: ErrConflict, and
// the transaction should be rolled back and retried.
func (s *Store) FinalizeVersion(ctx context.Context, model string, number int, digest string, at time.Time) error {
	return s.inTxStore(ctx, func(tx *Store) error {
		row, err := tx.versionRowOf(ctx, model, number)
		if err != nil {
			return err
		}
		at := tx.orNow(at)
		db := tx.db.WithContext(ctx)
		res := db.Model(&versionRow{}).
			Where("id = ? AND status = ?", row.ID, string(modelkeep.StatusPending)).
			Updates(map[string]any{
				"status":          string(modelkeep.StatusReady),
				"manifest_digest": digest,
				"finalized_at":    at,
				"updated_at":      at,
			})
		if res.Error != nil {
			return dbErr(fmt.Sprintf("finalize version %s/%d", model, number), res.Error)
		}
		if res.RowsAffected == 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict, "version %d of model %q is not pending", number, model)
		}
		var files []fileRow
		// A locking read sees the latest committed rows, not the snapshot.
		err = db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("version_id = ?", row.ID).Find(&files).Error
		if err != nil {
			return dbErr(fmt.Sprintf("finalize version %s/%d: read files", model, number), err)
		}
		fs := make([]modelkeep.File, len(files))
		for i, f := range files {
			fs[i] = toFile(f)
		}
		if got := modelkeep.ManifestDigest(fs); got != digest {
			return modelkeep.Errorf(modelkeep.ErrConflict,
				"version %d of model %q: its files changed while it was being finalized; try again", number, model)
		}
		return nil
	})
}

// DeleteVersion removes a pending version. Its files, metrics, tags,
// params, aliases and upload sessions go with the row (ON DELETE CASCADE);
// its lineage edges, card revisions and exemptions, which name it without a
// foreign key, are deleted here. The numbers of deleted versions are never
// handed out again (models.latest_version keeps counting), and row ids are
// not reused, so the in-process caches of version lists, which may still
// hold the row's id, never match it again (postings.go).
//
// The status check is the compare-and-swap of PutFile and FinalizeVersion:
// the UPDATE locks the row until commit, so a concurrent upload or
// finalize either went first (and a finalized version is refused here) or
// waits and finds no version.
func (s *Store) DeleteVersion(ctx context.Context, model string, number int) (modelkeep.DeletedVersion, error) {
	var out modelkeep.DeletedVersion
	err := s.inTxStore(ctx, func(tx *Store) error {
		row, err := tx.versionRowOf(ctx, model, number)
		if err != nil {
			return err
		}
		op := fmt.Sprintf("delete version %s/%d", model, number)
		db := tx.db.WithContext(ctx)
		res := db.Model(&versionRow{}).
			Where("id = ? AND status = ?", row.ID, string(modelkeep.StatusPending)).
			Update("updated_at", tx.nowUTC())
		if res.Error != nil {
			return dbErr(op, res.Error)
		}
		if res.RowsAffected == 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict,
				"version %d of model %q is ready: only a pending version can be deleted (a finalized version's records are kept)", number, model)
		}
		var packs []packRow
		if err := db.Where("model_id = ? AND version_number = ?", row.ModelID, number).Limit(1).Find(&packs).Error; err != nil {
			return dbErr(op, err)
		}
		if len(packs) > 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict,
				"version %d of model %q cannot be deleted: its evidence pack %s was exported and archived", number, model, packs[0].ID)
		}
		out.BlobKeys = []string{}
		err = db.Model(&fileRow{}).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("version_id = ?", row.ID).Order("blob_key").Pluck("blob_key", &out.BlobKeys).Error
		if err != nil {
			return dbErr(op+": files", err)
		}
		var live []uploadRow
		err = db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("version_id = ? AND status IN ?", row.ID, []string{"open", "completing"}).
			Order("id").Find(&live).Error
		if err != nil {
			return dbErr(op+": uploads", err)
		}
		for _, u := range live {
			if u.StoreUploadID != "" {
				out.Multiparts = append(out.Multiparts, modelkeep.MultipartUpload{Key: u.BlobKey, UploadID: u.StoreUploadID})
			}
		}
		for _, end := range []string{"from", "to"} {
			err := db.Exec("DELETE FROM lineage_edges WHERE "+end+"_model_id = ? AND "+end+"_number = ?", row.ModelID, number).Error
			if err != nil {
				return dbErr(op+": lineage", err)
			}
		}
		if err := db.Where("model_id = ? AND version_number = ?", row.ModelID, number).Delete(&cardRevisionRow{}).Error; err != nil {
			return dbErr(op+": card", err)
		}
		if err := db.Where("model_id = ? AND version_number = ?", row.ModelID, number).Delete(&exemptionRow{}).Error; err != nil {
			return dbErr(op+": exemptions", err)
		}
		res = db.Where("id = ? AND status = ?", row.ID, string(modelkeep.StatusPending)).Delete(&versionRow{})
		if res.Error != nil {
			return dbErr(op, res.Error)
		}
		if res.RowsAffected == 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict, "version %d of model %q changed while it was being deleted; try again", number, model)
		}
		return nil
	})
	if err != nil {
		return modelkeep.DeletedVersion{}, err
	}
	return out, nil
}
