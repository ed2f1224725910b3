package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

// aliasView is an alias row with the number of the version it points at.
type aliasView struct {
	Row           aliasRow `gorm:"embedded"` // exported: GORM skips unexported fields
	VersionNumber int      `gorm:"column:version_number"`
}

// aliasOf reads alias of the model with row id modelID.
func (s *Store) aliasOf(ctx context.Context, modelID int64, model, alias string) (aliasView, error) {
	db := s.db.WithContext(ctx)
	var v aliasView
	err := db.Table("aliases").Select("aliases.*, versions.number AS version_number").
		Joins("JOIN versions ON versions.id = aliases.version_id").
		Where("aliases.model_id = ? AND aliases.alias = ?", modelID, alias).Take(&v).Error
	if err != nil {
		return aliasView{}, notFound("get alias", err, "alias %q of model %q not found", alias, model)
	}
	return v, nil
}

// SetAlias points a.Name of a.Model at version a.Version, creating the alias
// or moving it (an upsert on (model, alias)), and returns the number of the
// version it pointed at before, nil when it is new. A zero UpdatedAt is the
// store's clock. ErrNotFound when the model or version does not exist.
//
// It locks the model's row (see LockModel) so that the previous version it
// reports is the one it replaced, even when two calls create or move the
// same alias at once: without the lock, under READ COMMITTED, both could
// read "no alias" and the second upsert would move the first's alias while
// reporting it new.
func (s *Store) SetAlias(ctx context.Context, a modelkeep.Alias) (*int, error) {
	var previous *int
	err := s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		modelID, err := tx.lockModel(ctx, a.Model)
		if err != nil {
			return err
		}
		tx.versionsChanged(a.Model)
		v, err := tx.versionRowOf(ctx, a.Model, a.Version)
		if err != nil {
			return err
		}
		old, err := tx.aliasOf(ctx, modelID, a.Model, a.Name)
		switch {
		case err == nil:
			previous = &old.VersionNumber
		case !errors.Is(err, modelkeep.ErrNotFound):
			return err
		}
		at := tx.orNow(a.UpdatedAt)
		row := aliasRow{ModelID: modelID, Alias: a.Name, VersionID: v.ID, CreatedAt: at, UpdatedAt: at, UpdatedBy: a.UpdatedBy}
		err = db.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "model_id"}, {Name: "alias"}},
			DoUpdates: clause.AssignmentColumns([]string{"version_id", "updated_at", "updated_by"}),
		}).Create(&row).Error
		if err != nil {
			return dbErr(fmt.Sprintf("set alias %q of model %q", a.Name, a.Model), err)
		}
		switch {
		case previous == nil: // new: only its version gains a name
			return tx.refreshAliasNames(ctx, v.ID)
		case old.Row.VersionID != v.ID: // moved
			return tx.refreshAliasNames(ctx, v.ID, old.Row.VersionID)
		}
		return nil // set again on the version it named: no list changes
	})
	if err != nil {
		return nil, err
	}
	return previous, nil
}

// GetAlias reads an alias; ErrNotFound names the missing model or alias.
func (s *Store) GetAlias(ctx context.Context, model, alias string) (modelkeep.Alias, error) {
	modelID, err := s.modelID(ctx, model)
	if err != nil {
		return modelkeep.Alias{}, err
	}
	v, err := s.aliasOf(ctx, modelID, model, alias)
	if err != nil {
		return modelkeep.Alias{}, err
	}
	return modelkeep.Alias{
		Model: model, Name: v.Row.Alias, Version: v.VersionNumber, UpdatedBy: v.Row.UpdatedBy, UpdatedAt: v.Row.UpdatedAt.UTC(),
	}, nil
}

// DeleteAlias removes an alias; ErrNotFound when the model or the alias does
// not exist. It takes the model's lock as SetAlias does, so that a move and a
// delete of one alias are seen in one order.
func (s *Store) DeleteAlias(ctx context.Context, model, alias string) error {
	return s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		modelID, err := tx.lockModel(ctx, model)
		if err != nil {
			return err
		}
		tx.versionsChanged(model)
		old, err := tx.aliasOf(ctx, modelID, model, alias)
		if err != nil {
			return err
		}
		if err := db.Where("id = ?", old.Row.ID).Delete(&aliasRow{}).Error; err != nil {
			return dbErr(fmt.Sprintf("delete alias %q of model %q", alias, model), err)
		}
		return tx.refreshAliasNames(ctx, old.Row.VersionID)
	})
}

// refreshAliasNames rewrites versions.alias_names of the given versions from
// the aliases table, in the caller's transaction (which holds the model's
// lock, so no other alias change of the model interleaves).
func (s *Store) refreshAliasNames(ctx context.Context, versionIDs ...int64) error {
	db := s.db.WithContext(ctx)
	for _, id := range versionIDs {
		var names []string
		if err := db.Model(&aliasRow{}).Where("version_id = ?", id).Order("alias").Pluck("alias", &names).Error; err != nil {
			return dbErr("read aliases", err)
		}
		if err := db.Model(&versionRow{}).Where("id = ?", id).Update("alias_names", joinAliasNames(names)).Error; err != nil {
			return dbErr("record aliases", err)
		}
	}
	return nil
}
