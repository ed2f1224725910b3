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

type deploymentRow struct {
	ID              string     `gorm:"column:id;primaryKey"`
	ModelID         int64      `gorm:"column:model_id"`
	VersionID       int64      `gorm:"column:version_id"`
	Environment     string     `gorm:"column:environment"`
	Strategy        string     `gorm:"column:strategy"`
	TrafficPercent  int        `gorm:"column:traffic_percent"`
	ReplacesVersion *int       `gorm:"column:replaces_version"` // a version number, not a row id
	DeployedBy      string     `gorm:"column:deployed_by"`
	DeployedAt      time.Time  `gorm:"column:deployed_at"`
	EndedAt         *time.Time `gorm:"column:ended_at"`
}

func (deploymentRow) TableName() string { return "deployments" }

// deploymentView is a deployment row with its model's name and its version's
// number, read with a join.
type deploymentView struct {
	Row           deploymentRow `gorm:"embedded"` // exported: GORM skips unexported fields
	ModelName     string        `gorm:"column:model_name"`
	VersionNumber int           `gorm:"column:version_number"`
}

func toDeployment(v deploymentView) modelkeep.Deployment {
	r := v.Row
	d := modelkeep.Deployment{
		ID:             r.ID,
		Model:          v.ModelName,
		Version:        v.VersionNumber,
		Environment:    r.Environment,
		Strategy:       r.Strategy,
		TrafficPercent: r.TrafficPercent,
		Replaces:       r.ReplacesVersion,
		DeployedBy:     r.DeployedBy,
		DeployedAt:     r.DeployedAt.UTC(),
	}
	if r.EndedAt != nil {
		at := r.EndedAt.UTC()
		d.EndedAt = &at
	}
	return d
}

// CreateDeployment adds d to the ledger for version d.Version of d.Model. A
// zero DeployedAt is the store's clock. ErrNotFound when the version does not
// exist, ErrConflict when the id does.
func (s *Store) CreateDeployment(ctx context.Context, d modelkeep.Deployment) error {
	db := s.db.WithContext(ctx)
	v, err := s.versionRowOf(ctx, d.Model, d.Version)
	if err != nil {
		return err
	}
	row := deploymentRow{
		ID:              d.ID,
		ModelID:         v.ModelID,
		VersionID:       v.ID,
		Environment:     d.Environment,
		Strategy:        d.Strategy,
		TrafficPercent:  d.TrafficPercent,
		ReplacesVersion: d.Replaces,
		DeployedBy:      d.DeployedBy,
		DeployedAt:      s.orNow(d.DeployedAt),
	}
	if d.EndedAt != nil {
		at := utc(*d.EndedAt)
		row.EndedAt = &at
	}
	if err := db.Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return modelkeep.Errorf(modelkeep.ErrConflict, "deployment %q already exists", d.ID)
		}
		return dbErr(fmt.Sprintf("create deployment of version %s/%d", d.Model, d.Version), err)
	}
	return nil
}

// EndDeployments sets ended_at to at (the store's clock when zero) on every
// running deployment of model in environment and returns their ids, oldest
// first (empty, not nil, when none ran). ErrNotFound when the model does not
// exist. The rows are read with a locking read and ended by id, so a
// deployment ended by a concurrent call is neither ended twice nor reported.
func (s *Store) EndDeployments(ctx context.Context, model, environment string, at time.Time) ([]string, error) {
	ids := []string{}
	err := s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		modelID, err := tx.modelID(ctx, model)
		if err != nil {
			return err
		}
		op := fmt.Sprintf("end deployments of model %q in %q", model, environment)
		err = db.Model(&deploymentRow{}).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("model_id = ? AND environment = ? AND ended_at IS NULL", modelID, environment).
			Order("deployed_at, id").Pluck("id", &ids).Error
		if err != nil {
			return dbErr(op, err)
		}
		if len(ids) == 0 {
			return nil
		}
		err = db.Model(&deploymentRow{}).Where("id IN ? AND ended_at IS NULL", ids).Update("ended_at", tx.orNow(at)).Error
		if err != nil {
			return dbErr(op, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// ListDeployments returns up to f.Limit deployments (all when Limit <= 0),
// newest first (by deployed_at, then id), filtered by environment and model
// when set. With f.At, only those running then: deployed at or before At and
// not ended by At (an end at exactly At means not running at At). The keyset
// (f.BeforeDeployedAt, f.BeforeID) applies when BeforeDeployedAt is set.
// ErrNotFound when f.Model names no model.
func (s *Store) ListDeployments(ctx context.Context, f modelkeep.DeploymentFilter) ([]modelkeep.Deployment, error) {
	db := s.db.WithContext(ctx)
	q := db.Table("deployments").
		Select("deployments.*, models.name AS model_name, versions.number AS version_number").
		Joins("JOIN models ON models.id = deployments.model_id").
		Joins("JOIN versions ON versions.id = deployments.version_id")
	if f.Model != "" {
		modelID, err := s.modelID(ctx, f.Model)
		if err != nil {
			return nil, err
		}
		q = q.Where("deployments.model_id = ?", modelID)
		if f.Version != 0 {
			q = q.Where("versions.number = ?", f.Version)
		}
	}
	if f.ID != "" {
		q = q.Where("deployments.id = ?", f.ID)
	}
	if f.Environment != "" {
		q = q.Where("deployments.environment = ?", f.Environment)
	}
	if f.At != nil {
		at := utc(*f.At)
		q = q.Where("deployments.deployed_at <= ? AND (deployments.ended_at IS NULL OR deployments.ended_at > ?)", at, at)
	}
	q = newestFirst(q, "deployments.deployed_at", "deployments.id", f.BeforeDeployedAt, f.BeforeID, f.Limit)
	return findAll(q, "list deployments", toDeployment)
}
