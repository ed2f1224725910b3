package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

// CreateModel inserts m with its tags; ErrConflict when the name exists.
// Zero CreatedAt/UpdatedAt are set from the store's clock.
func (s *Store) CreateModel(ctx context.Context, m modelkeep.Model) error {
	tags, err := encodeMap(m.Tags)
	if err != nil {
		return fmt.Errorf("create model %q: encode tags: %w", m.Name, err)
	}
	created := s.orNow(m.CreatedAt)
	updated := created
	if !m.UpdatedAt.IsZero() {
		updated = utc(m.UpdatedAt)
	}
	row := modelRow{
		Name:          m.Name,
		Description:   m.Description,
		Tags:          tags,
		CreatedBy:     m.CreatedBy,
		CreatedAt:     created,
		UpdatedAt:     updated,
		LatestVersion: m.LatestVersion,
	}
	return s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		if err := db.Create(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return modelkeep.Errorf(modelkeep.ErrConflict, "model %q already exists", m.Name)
			}
			return dbErr(fmt.Sprintf("create model %q", m.Name), err)
		}
		return tx.putModelTags(ctx, row.ID, m.Tags)
	})
}

// putModelTags replaces the model_tags rows of a model.
func (s *Store) putModelTags(ctx context.Context, modelID int64, tags map[string]string) error {
	db := s.db.WithContext(ctx)
	if err := db.Where("model_id = ?", modelID).Delete(&modelTagRow{}).Error; err != nil {
		return dbErr("replace model tags", err)
	}
	if len(tags) == 0 {
		return nil
	}
	rows := make([]modelTagRow, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		rows = append(rows, modelTagRow{ModelID: modelID, TagKey: k, TagValue: tags[k]})
	}
	if err := db.Create(&rows).Error; err != nil {
		return dbErr("replace model tags", err)
	}
	return nil
}

// GetModel reads the model named name; ErrNotFound when there is none.
func (s *Store) GetModel(ctx context.Context, name string) (modelkeep.Model, error) {
	db := s.db.WithContext(ctx)
	var row modelRow
	if err := db.Where("name = ?", name).Take(&row).Error; err != nil {
		return modelkeep.Model{}, notFound("get model", err, "model %q not found", name)
	}
	m, err := toModel(row)
	if err != nil {
		return modelkeep.Model{}, err
	}
	prod, err := s.productionVersions(ctx, []int64{row.ID})
	m.ProductionVersion = prod[row.ID]
	return m, err
}

// productionVersions maps each of the models to the version it has in
// production (absent: none), in one query.
func (s *Store) productionVersions(ctx context.Context, modelIDs []int64) (map[int64]int, error) {
	out := make(map[int64]int, len(modelIDs))
	if len(modelIDs) == 0 {
		return out, nil
	}
	var rows []versionRow
	err := s.db.WithContext(ctx).Select("model_id", "number").
		Where("model_id IN ? AND stage = ?", modelIDs, string(modelkeep.StageProduction)).Find(&rows).Error
	if err != nil {
		return nil, dbErr("read production versions", err)
	}
	for _, r := range rows {
		out[r.ModelID] = max(out[r.ModelID], r.Number)
	}
	return out, nil
}

// rememberedModelID is the id of model name, from memory (modelIDs) when
// it is there, else read and remembered (freshModelID).
func (s *Store) rememberedModelID(ctx context.Context, name string) (int64, error) {
	if id, known := s.modelIDs.Get(name); known {
		return id, nil
	}
	return s.freshModelID(ctx, name)
}

// freshModelID reads the id of model name and remembers it; a model that
// is gone is forgotten, not to be trusted by the next create.
func (s *Store) freshModelID(ctx context.Context, name string) (int64, error) {
	id, err := s.modelID(ctx, name)
	if errors.Is(err, modelkeep.ErrNotFound) {
		s.modelIDs.Delete(name)
	}
	if err != nil {
		return 0, err
	}
	s.modelIDs.Put(name, id)
	return id, nil
}

// modelID returns the row id of the model named name; ErrNotFound when there
// is none.
func (s *Store) modelID(ctx context.Context, name string) (int64, error) {
	db := s.db.WithContext(ctx)
	var row modelRow
	if err := db.Select("id").Where("name = ?", name).Take(&row).Error; err != nil {
		return 0, notFound("get model", err, "model %q not found", name)
	}
	return row.ID, nil
}

// ListModels returns up to f.Limit models (all when Limit <= 0) ordered by
// name, after f.AfterName, or in f.Order after f.After. f.Query matches a
// case-insensitive substring of the name or description, taken literally (%
// and _ are not wildcards); every entry of f.Tags must be present with its
// value; f.Where must hold.
func (s *Store) ListModels(ctx context.Context, f modelkeep.ModelFilter) ([]modelkeep.Model, error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&modelRow{})
	if f.Query != "" {
		// LOWER on both sides: SQLite's LIKE ignores ASCII case, MySQL's
		// follows the column's collation, which is binary here.
		pat := "%" + escapeLike(strings.ToLower(f.Query)) + "%"
		q = q.Where("(LOWER(name) LIKE ? ESCAPE '!' OR LOWER(description) LIKE ? ESCAPE '!')", pat, pat)
	}
	if len(f.NamePatterns) > 0 {
		cond, args := namePatternsCondition("name", f.NamePatterns)
		q = q.Where(cond, args...)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Tags)) {
		q = q.Where("EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = models.id AND t.tag_key = ? AND t.tag_value = ?)", k, f.Tags[k])
	}
	if f.Where != nil {
		where, args, err := compileFilter(s.dialect, modelkeep.FilterModels, 0, f.Where)
		if err != nil {
			return nil, err
		}
		q = q.Where(where, args...)
	}
	if f.Order.IsZero() {
		if f.AfterName != "" {
			q = q.Where("name > ?", f.AfterName)
		}
		q = q.Order("name")
	} else {
		var err error
		if q, err = applyOrder(q, modelkeep.FilterModels, f.Order, f.After); err != nil {
			return nil, err
		}
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []modelRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, dbErr("list models", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	prod, err := s.productionVersions(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]modelkeep.Model, 0, len(rows))
	for _, r := range rows {
		m, err := toModel(r)
		if err != nil {
			return nil, err
		}
		m.ProductionVersion = prod[r.ID]
		out = append(out, m)
	}
	return out, nil
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '!'. The
// escape character is '!' rather than '\', whose spelling in a string literal
// differs between MySQL (an escape there too) and SQLite (a plain character).
func escapeLike(s string) string {
	return likeEscaper.Replace(s)
}

var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// namePatternsCondition is the condition that col (a model name) matches
// one of a token's scope patterns, and its arguments: a GORM Where.
func namePatternsCondition(col string, patterns []string) (string, []any) {
	conds := make([]string, len(patterns))
	args := make([]any, len(patterns))
	for i, p := range patterns {
		conds[i], args[i] = col+" LIKE ? ESCAPE '!'", globToLike(p)
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// globToLike turns a model scope glob (* and ?) into a LIKE pattern with
// ESCAPE '!'; everything else matches itself.
func globToLike(glob string) string {
	var b strings.Builder
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		default:
			b.WriteString(escapeLike(string(r)))
		}
	}
	return b.String()
}

// UpdateModel stores m's description, tags and UpdatedAt (the store's clock
// when zero); ErrNotFound when there is no model named m.Name.
func (s *Store) UpdateModel(ctx context.Context, m modelkeep.Model) error {
	tags, err := encodeMap(m.Tags)
	if err != nil {
		return fmt.Errorf("update model %q: encode tags: %w", m.Name, err)
	}
	return s.inTxStore(ctx, func(tx *Store) error {
		id, err := tx.modelID(ctx, m.Name)
		if err != nil {
			return err
		}
		db := tx.db.WithContext(ctx)
		err = db.Model(&modelRow{}).Where("id = ?", id).Updates(map[string]any{
			"description": m.Description,
			"tags":        tags,
			"updated_at":  s.orNow(m.UpdatedAt),
		}).Error
		if err != nil {
			return dbErr(fmt.Sprintf("update model %q", m.Name), err)
		}
		return tx.putModelTags(ctx, id, m.Tags)
	})
}

// DeleteModel removes the model; its tags, versions, files and aliases go
// with it (ON DELETE CASCADE). ErrNotFound when there is no such model;
// ErrConflict when one of its versions is or ever was in production, or had
// its evidence pack exported: their records must be kept (EU AI Act Art. 18). The check reads the versions with
// a locking read, so a promotion still in flight is waited for and seen.
func (s *Store) DeleteModel(ctx context.Context, name string) error {
	return s.inTxStore(ctx, func(tx *Store) error {
		id, err := tx.modelID(ctx, name)
		if err != nil {
			return err
		}
		tx.versionsChanged(name)
		db := tx.db.WithContext(ctx)
		var prod []int
		err = db.Model(&versionRow{}).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("model_id = ?", id).Where("ever_production = ?", true).
			Order("number").Pluck("number", &prod).Error
		if err != nil {
			return dbErr(fmt.Sprintf("delete model %q", name), err)
		}
		if len(prod) > 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict,
				"model %q cannot be deleted: version %d is or was in production, and its records must be kept", name, prod[0])
		}
		// An exported evidence pack is archived (locked for ten years on
		// S3) and names the model's records: they are kept with it.
		var packs []packRow
		if err := db.Where("model_id = ?", id).Order("generated_at").Limit(1).Find(&packs).Error; err != nil {
			return dbErr(fmt.Sprintf("delete model %q", name), err)
		}
		if len(packs) > 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict,
				"model %q cannot be deleted: the evidence pack %s of version %d was exported and archived, and the records it rests on must be kept",
				name, packs[0].ID, packs[0].VersionNumber)
		}
		// Lineage edges name versions by row id, without foreign keys
		// (0032): drop those of the model's versions with it, rather than
		// leave every later walk to skip them. Their version ends carry the
		// model's id (0047, indexed by 0050).
		for _, end := range []string{"from", "to"} {
			if err := db.Exec("DELETE FROM lineage_edges WHERE "+end+"_model_id = ?", id).Error; err != nil {
				return dbErr(fmt.Sprintf("delete model %q: lineage", name), err)
			}
		}
		if err := db.Where("id = ?", id).Delete(&modelRow{}).Error; err != nil {
			return dbErr(fmt.Sprintf("delete model %q", name), err)
		}
		return nil
	})
}
