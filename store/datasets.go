package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
)

type datasetRow struct {
	ID          int64     `gorm:"column:id;primaryKey"`
	Name        string    `gorm:"column:name"`
	Version     string    `gorm:"column:version"`
	URI         string    `gorm:"column:uri"`
	SHA256      string    `gorm:"column:sha256"`
	Size        int64     `gorm:"column:size"`
	License     string    `gorm:"column:license"`
	Description string    `gorm:"column:description"`
	CreatedBy   string    `gorm:"column:created_by"`
	CreatedAt   time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt   time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (datasetRow) TableName() string { return "datasets" }

func toDataset(r datasetRow) modelkeep.Dataset {
	return modelkeep.Dataset{
		Name: r.Name, Version: r.Version, URI: r.URI, SHA256: r.SHA256, Size: r.Size, License: r.License,
		Description: r.Description, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// CreateDataset inserts d; ErrConflict when its name and version exist. Zero
// times are the store's clock.
func (s *Store) CreateDataset(ctx context.Context, d modelkeep.Dataset) error {
	db := s.db.WithContext(ctx)
	created := s.orNow(d.CreatedAt)
	updated := created
	if !d.UpdatedAt.IsZero() {
		updated = utc(d.UpdatedAt)
	}
	row := datasetRow{
		Name: d.Name, Version: d.Version, URI: d.URI, SHA256: d.SHA256, Size: d.Size, License: d.License,
		Description: d.Description, CreatedBy: d.CreatedBy, CreatedAt: created, UpdatedAt: updated,
	}
	if err := db.Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return modelkeep.Errorf(modelkeep.ErrConflict, "dataset %s@%s already exists", d.Name, d.Version)
		}
		return dbErr(fmt.Sprintf("create dataset %s@%s", d.Name, d.Version), err)
	}
	return nil
}

// GetDataset reads one dataset version; ErrNotFound when there is none.
func (s *Store) GetDataset(ctx context.Context, name, version string) (modelkeep.Dataset, error) {
	row, err := s.datasetRowOf(ctx, name, version)
	if err != nil {
		return modelkeep.Dataset{}, err
	}
	return toDataset(row), nil
}

func (s *Store) datasetRowOf(ctx context.Context, name, version string) (datasetRow, error) {
	db := s.db.WithContext(ctx)
	var row datasetRow
	if err := db.Where("name = ? AND version = ?", name, version).Take(&row).Error; err != nil {
		return datasetRow{}, notFound("get dataset", err, "dataset %s@%s not found", name, version)
	}
	return row, nil
}

// FillDataset sets each non-empty optional field of d that the stored
// record has empty, in one UPDATE: each column is set only where it is still
// empty, so two transactions filling different fields do not undo each
// other, and a field set meanwhile keeps its first value. It sets updated_at
// (the store's clock when d.UpdatedAt is zero). ErrNotFound if absent.
func (s *Store) FillDataset(ctx context.Context, d modelkeep.Dataset) error {
	db := s.db.WithContext(ctx)
	set := map[string]any{"updated_at": s.orNow(d.UpdatedAt)}
	for col, v := range map[string]string{"uri": d.URI, "sha256": d.SHA256, "license": d.License, "description": d.Description} {
		if v != "" {
			set[col] = gorm.Expr("CASE WHEN "+col+" = '' THEN ? ELSE "+col+" END", v)
		}
	}
	if d.Size != 0 {
		set["size"] = gorm.Expr("CASE WHEN size = 0 THEN ? ELSE size END", d.Size)
	}
	res := db.Model(&datasetRow{}).Where("name = ? AND version = ?", d.Name, d.Version).Updates(set)
	if res.Error != nil {
		return dbErr(fmt.Sprintf("fill dataset %s@%s", d.Name, d.Version), res.Error)
	}
	if res.RowsAffected == 0 {
		return modelkeep.Errorf(modelkeep.ErrNotFound, "dataset %s@%s not found", d.Name, d.Version)
	}
	return nil
}

// ListDatasets returns up to f.Limit datasets (all when Limit <= 0) ordered
// by name, then version (bytewise in both dialects), after (f.AfterName,
// f.AfterVersion) when AfterName is set, of one name when f.Name is set.
func (s *Store) ListDatasets(ctx context.Context, f modelkeep.DatasetFilter) ([]modelkeep.Dataset, error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&datasetRow{})
	if f.Name != "" {
		q = q.Where("name = ?", f.Name)
	}
	if f.AfterName != "" {
		q = q.Where("(name > ? OR (name = ? AND version > ?))", f.AfterName, f.AfterName, f.AfterVersion)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []datasetRow
	if err := q.Order("name, version").Find(&rows).Error; err != nil {
		return nil, dbErr("list datasets", err)
	}
	out := make([]modelkeep.Dataset, len(rows))
	for i, r := range rows {
		out[i] = toDataset(r)
	}
	return out, nil
}

// DatasetUsers lists the versions that have a lineage edge from dataset
// f.Name@f.Version (each with the relation, so a version that used it in two
// roles is listed twice), newest first: by the version's creation time
// descending, then model name, version number descending and relation, a
// total order (a version is one model and number) that page positions
// (f.After) are taken in. Up to f.Limit (all when Limit <= 0), of models one
// of f.Patterns matches when there are patterns. Versions gone with their
// model are left out. ErrNotFound when the dataset does not exist.
//
// The scope and the position are conditions of the query, so a page holds
// f.Limit uses whatever the scope leaves out. The edges of the dataset are
// an index range (uq_lineage_edges); the order is sorted, since it is the
// versions' and to_id is text.
func (s *Store) DatasetUsers(ctx context.Context, f modelkeep.DatasetUseFilter) ([]modelkeep.DatasetUse, error) {
	ds, err := s.datasetRowOf(ctx, f.Name, f.Version)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	q := db.Table("lineage_edges").
		Select("models.name AS model_name, versions.number AS number, versions.created_at AS created_at, lineage_edges.relation AS relation").
		// to_id is the version's row id as text; the comparison converts it
		// to a number, so versions is read by its primary key.
		Joins("JOIN versions ON versions.id = lineage_edges.to_id").
		Joins("JOIN models ON models.id = versions.model_id").
		Where("lineage_edges.from_type = ? AND lineage_edges.from_id = ? AND lineage_edges.to_type = ?",
			string(modelkeep.NodeDataset), strconv.FormatInt(ds.ID, 10), string(modelkeep.NodeModelVersion))
	if len(f.Patterns) > 0 {
		cond, args := namePatternsCondition("models.name", f.Patterns)
		q = q.Where(cond, args...)
	}
	if a := f.After; a != nil {
		at := utc(a.VersionCreatedAt)
		q = q.Where("(versions.created_at < ? OR (versions.created_at = ? AND (models.name > ? OR (models.name = ? AND "+
			"(versions.number < ? OR (versions.number = ? AND lineage_edges.relation > ?))))))",
			at, at, a.Model, a.Model, a.Version, a.Version, a.Role)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []struct {
		ModelName string    `gorm:"column:model_name"`
		Number    int       `gorm:"column:number"`
		CreatedAt time.Time `gorm:"column:created_at"`
		Relation  string    `gorm:"column:relation"`
	}
	if err := q.Order("versions.created_at DESC, models.name, versions.number DESC, lineage_edges.relation").Scan(&rows).Error; err != nil {
		return nil, dbErr(fmt.Sprintf("list users of dataset %s@%s", f.Name, f.Version), err)
	}
	out := make([]modelkeep.DatasetUse, len(rows))
	for i, r := range rows {
		out[i] = modelkeep.DatasetUse{Model: r.ModelName, Version: r.Number, Role: r.Relation, VersionCreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}
