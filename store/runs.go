package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
)

type runRow struct {
	ID          int64     `gorm:"column:id;primaryKey"`
	RunID       string    `gorm:"column:run_id"`
	GitCommit   string    `gorm:"column:git_commit"`
	CodeURI     string    `gorm:"column:code_uri"`
	Parameters  string    `gorm:"column:parameters"`  // JSON object
	Environment string    `gorm:"column:environment"` // JSON object of environmentJSON
	CreatedBy   string    `gorm:"column:created_by"`
	CreatedAt   time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt   time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (runRow) TableName() string { return "runs" }

// environmentJSON is how a RunEnvironment is stored: the store's own format,
// like datasetJSON. An unknown environment is "{}".
type environmentJSON struct {
	Framework        string            `json:"framework,omitempty"`
	FrameworkVersion string            `json:"framework_version,omitempty"`
	Libraries        map[string]string `json:"libraries,omitempty"`
	Hardware         string            `json:"hardware,omitempty"`
}

// emptyJSON is what an unknown parameters or environment column holds.
const emptyJSON = "{}"

func encodeEnvironment(e modelkeep.RunEnvironment) (string, error) {
	b, err := json.Marshal(environmentJSON(e))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func toRun(r runRow) (modelkeep.Run, error) {
	params, err := decodeMap(r.Parameters)
	if err != nil {
		return modelkeep.Run{}, fmt.Errorf("decode parameters of run %q: %w", r.RunID, err)
	}
	var env environmentJSON
	if err := json.Unmarshal([]byte(r.Environment), &env); err != nil {
		return modelkeep.Run{}, fmt.Errorf("decode environment of run %q: %w", r.RunID, err)
	}
	return modelkeep.Run{
		ID: r.RunID, GitCommit: r.GitCommit, CodeURI: r.CodeURI, Parameters: params,
		Environment: modelkeep.RunEnvironment(env),
		CreatedBy:   r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}, nil
}

// CreateRun inserts r; ErrConflict when its id exists. Zero times are the
// store's clock.
func (s *Store) CreateRun(ctx context.Context, r modelkeep.Run) error {
	db := s.db.WithContext(ctx)
	params, err := encodeMap(r.Parameters)
	if err != nil {
		return fmt.Errorf("create run %q: encode parameters: %w", r.ID, err)
	}
	env, err := encodeEnvironment(r.Environment)
	if err != nil {
		return fmt.Errorf("create run %q: encode environment: %w", r.ID, err)
	}
	created := s.orNow(r.CreatedAt)
	updated := created
	if !r.UpdatedAt.IsZero() {
		updated = utc(r.UpdatedAt)
	}
	row := runRow{
		RunID: r.ID, GitCommit: r.GitCommit, CodeURI: r.CodeURI, Parameters: params, Environment: env,
		CreatedBy: r.CreatedBy, CreatedAt: created, UpdatedAt: updated,
	}
	if err := db.Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return modelkeep.Errorf(modelkeep.ErrConflict, "run %q already exists", r.ID)
		}
		return dbErr(fmt.Sprintf("create run %q", r.ID), err)
	}
	return nil
}

// GetRun reads one run; ErrNotFound when there is none.
func (s *Store) GetRun(ctx context.Context, id string) (modelkeep.Run, error) {
	db := s.db.WithContext(ctx)
	var row runRow
	if err := db.Where("run_id = ?", id).Take(&row).Error; err != nil {
		return modelkeep.Run{}, notFound("get run", err, "run %q not found", id)
	}
	return toRun(row)
}

// FillRun sets each non-empty field of r that the stored run has empty, in
// one UPDATE that sets a column only where it is still empty (see
// FillDataset), and updated_at. ErrNotFound if absent.
func (s *Store) FillRun(ctx context.Context, r modelkeep.Run) error {
	db := s.db.WithContext(ctx)
	set := map[string]any{"updated_at": s.orNow(r.UpdatedAt)}
	fill := func(col, empty, v string) {
		set[col] = gorm.Expr("CASE WHEN "+col+" = '"+empty+"' THEN ? ELSE "+col+" END", v)
	}
	if r.GitCommit != "" {
		fill("git_commit", "", r.GitCommit)
	}
	if r.CodeURI != "" {
		fill("code_uri", "", r.CodeURI)
	}
	if len(r.Parameters) > 0 {
		params, err := encodeMap(r.Parameters)
		if err != nil {
			return fmt.Errorf("fill run %q: encode parameters: %w", r.ID, err)
		}
		fill("parameters", emptyJSON, params)
	}
	if !r.Environment.IsZero() {
		env, err := encodeEnvironment(r.Environment)
		if err != nil {
			return fmt.Errorf("fill run %q: encode environment: %w", r.ID, err)
		}
		fill("environment", emptyJSON, env)
	}
	res := db.Model(&runRow{}).Where("run_id = ?", r.ID).Updates(set)
	if res.Error != nil {
		return dbErr(fmt.Sprintf("fill run %q", r.ID), res.Error)
	}
	if res.RowsAffected == 0 {
		return modelkeep.Errorf(modelkeep.ErrNotFound, "run %q not found", r.ID)
	}
	return nil
}
