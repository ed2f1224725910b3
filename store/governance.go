package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

// This file holds the stage half of modelkeep.GovernanceStore; transitions,
// policies, aliases, deployments and metrics have a file each.

// LockModel locks the model's row until the transaction ends, so that stage
// changes of one model (archive the current production version, promote the
// next) run one at a time. On MySQL it is SELECT ... FOR UPDATE; SQLite has
// no row locks and GORM drops the clause there, but the store's SQLite
// transactions begin IMMEDIATE (see sqliteDSN), so a write transaction holds
// the database's write lock from its start and they serialise anyway.
// Outside a transaction the lock ends with the statement: call it in InTx.
func (s *Store) LockModel(ctx context.Context, model string) error {
	_, err := s.lockModel(ctx, model)
	return err
}

// lockModel is LockModel returning the model's row id.
func (s *Store) lockModel(ctx context.Context, model string) (int64, error) {
	db := s.db.WithContext(ctx)
	var row modelRow
	err := db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Select("id").Where("name = ?", model).Take(&row).Error
	if err != nil {
		return 0, notFound(fmt.Sprintf("lock model %q", model), err, "model %q not found", model)
	}
	return row.ID, nil
}

// SetStage moves a version from stage from to stage to as a compare-and-swap
// on the stage: ErrConflict when the version is not in from, ErrNotFound when
// it does not exist. It records at (the store's clock when zero) as the
// version's stage_changed_at and updated_at; moving into production also sets
// ever_production, which never goes back.
//
// The database refuses a second production version of a model (a unique key
// on a generated column, see migration 0013): that is ErrConflict too. With
// LockModel held and the current production version archived first, as the
// service does, it never fires; it is there for the caller that forgets.
func (s *Store) SetStage(ctx context.Context, model string, number int, from, to modelkeep.Stage, at time.Time) error {
	db := s.db.WithContext(ctx)
	row, err := s.versionRowOf(ctx, model, number)
	if err != nil {
		return err
	}
	at = s.orNow(at)
	set := map[string]any{"stage": string(to), "stage_changed_at": at, "updated_at": at}
	if to == modelkeep.StageProduction {
		set["ever_production"] = true
	}
	res := db.Model(&versionRow{}).Where("id = ? AND stage = ?", row.ID, string(from)).Updates(set)
	s.versionsChanged(model)
	if res.Error != nil {
		if errors.Is(res.Error, gorm.ErrDuplicatedKey) {
			return modelkeep.Errorf(modelkeep.ErrConflict,
				"model %q has a production version already: archive it before version %d enters production", model, number)
		}
		return dbErr(fmt.Sprintf("set stage of version %s/%d", model, number), res.Error)
	}
	if res.RowsAffected == 0 {
		// Read again for the message: the version may have moved (or gone)
		// since versionRowOf read it.
		cur, err := s.versionRowOf(ctx, model, number)
		if err != nil {
			return err
		}
		return modelkeep.Errorf(modelkeep.ErrConflict, "version %d of model %q is in %s, not %s", number, model, cur.Stage, from)
	}
	return nil
}

// VersionsInStage returns the model's versions in stage, the one moved there
// last first: by stage_changed_at, newest first, then versions that never
// recorded a stage change (set before the column existed), by number,
// highest first; at most limit (all when limit <= 0). ErrNotFound when the
// model does not exist.
func (s *Store) VersionsInStage(ctx context.Context, model string, stage modelkeep.Stage, limit int) ([]modelkeep.Version, error) {
	db := s.db.WithContext(ctx)
	m, err := s.listedModel(ctx, model)
	if err != nil {
		return nil, err
	}
	// "x IS NULL" is 0 or 1 in both dialects: it puts NULLs last portably
	// (MySQL has no NULLS LAST).
	q := db.Table("versions").Select(stateColumns).
		Where("versions.model_id = ? AND versions.stage = ?", m.id, string(stage)).
		Order("versions.stage_changed_at IS NULL, versions.stage_changed_at DESC, versions.number DESC")
	if limit > 0 {
		q = q.Limit(limit)
	}
	return s.readVersions(ctx, q, model, m, fmt.Sprintf("list versions of model %q in %s", model, stage))
}
