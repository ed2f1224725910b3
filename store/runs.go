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
	ID             int64      `gorm:"column:id;primaryKey"`
	RunID          string     `gorm:"column:run_id"`
	Kind           string     `gorm:"column:kind"`
	GitCommit      string     `gorm:"column:git_commit"`
	CodeURI        string     `gorm:"column:code_uri"`
	Parameters     string     `gorm:"column:parameters"`  // JSON object
	Environment    string     `gorm:"column:environment"` // JSON object of environmentJSON
	StartedAt      *time.Time `gorm:"column:started_at"`
	EndedAt        *time.Time `gorm:"column:ended_at"`
	TriggeredBy    string     `gorm:"column:triggered_by"`
	SubjectModel   string     `gorm:"column:subject_model"`
	SubjectVersion int        `gorm:"column:subject_version"`
	DeploymentID   string     `gorm:"column:deployment_id"`
	OutputSHA256   string     `gorm:"column:output_sha256"`
	Details        *string    `gorm:"column:details"` // JSON object of runDetailsJSON; NULL: none told
	CreatedBy      string     `gorm:"column:created_by"`
	CreatedAt      time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt      time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (runRow) TableName() string { return "runs" }

// environmentJSON is how a RunEnvironment is stored: the store's own format,
// like datasetJSON. An unknown environment is "{}".
type environmentJSON struct {
	Framework        string            `json:"framework,omitempty"`
	FrameworkVersion string            `json:"framework_version,omitempty"`
	Libraries        map[string]string `json:"libraries,omitempty"`
	Hardware         string            `json:"hardware,omitempty"`
	ImageDigest      string            `json:"image_digest,omitempty"`
}

// runDetailsJSON is the details column: what a run tells beyond its
// indexed columns. Each part is filled at most once (FillRun).
type runDetailsJSON struct {
	Inputs  []runInputJSON `json:"inputs,omitempty"`
	Compute *computeJSON   `json:"compute,omitempty"`
	TestLog string         `json:"test_log,omitempty"`
	Report  string         `json:"report,omitempty"`
}

type runInputJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Role    string `json:"role,omitempty"`
}

type computeJSON struct {
	DeviceHours  *float64 `json:"device_hours,omitempty"`
	FLOPs        *float64 `json:"flops,omitempty"`
	EnergyKWh    *float64 `json:"energy_kwh,omitempty"`
	EnergyMethod string   `json:"energy_method,omitempty"`
}

// emptyJSON is what an unknown parameters or environment column holds.
const emptyJSON = "{}"

func encodeEnvironment(e modelkeep.RunEnvironment) (string, error) {
	b, err := json.Marshal(environmentJSON{Framework: e.Framework, FrameworkVersion: e.FrameworkVersion,
		Libraries: e.Libraries, Hardware: e.Hardware, ImageDigest: e.ImageDigest})
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func encodeRunDetails(r modelkeep.Run) (*string, error) {
	var d runDetailsJSON
	for _, in := range r.Inputs {
		d.Inputs = append(d.Inputs, runInputJSON(in))
	}
	if !r.Compute.IsZero() {
		c := computeJSON(r.Compute)
		d.Compute = &c
	}
	d.TestLog, d.Report = r.TestLog, r.Report
	if d.Inputs == nil && d.Compute == nil && d.TestLog == "" && d.Report == "" {
		return nil, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
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
	out := modelkeep.Run{
		ID: r.RunID, Kind: r.Kind, GitCommit: r.GitCommit, CodeURI: r.CodeURI, Parameters: params,
		Environment: modelkeep.RunEnvironment{Framework: env.Framework, FrameworkVersion: env.FrameworkVersion,
			Libraries: env.Libraries, Hardware: env.Hardware, ImageDigest: env.ImageDigest},
		StartedAt: utcPtr(r.StartedAt), EndedAt: utcPtr(r.EndedAt), TriggeredBy: r.TriggeredBy,
		DeploymentID: r.DeploymentID, OutputSHA256: r.OutputSHA256,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.SubjectModel != "" {
		out.Subject = &modelkeep.VersionRef{Model: r.SubjectModel, Version: r.SubjectVersion}
	}
	if r.Details != nil {
		var d runDetailsJSON
		if err := json.Unmarshal([]byte(*r.Details), &d); err != nil {
			return modelkeep.Run{}, fmt.Errorf("decode details of run %q: %w", r.RunID, err)
		}
		for _, in := range d.Inputs {
			out.Inputs = append(out.Inputs, modelkeep.RunInput(in))
		}
		if d.Compute != nil {
			out.Compute = modelkeep.RunCompute(*d.Compute)
		}
		out.TestLog, out.Report = d.TestLog, d.Report
	}
	return out, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateRun inserts r; ErrConflict when its id exists. Zero times are the
// store's clock; an empty kind is a training run.
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
	details, err := encodeRunDetails(r)
	if err != nil {
		return fmt.Errorf("create run %q: encode details: %w", r.ID, err)
	}
	created := s.orNow(r.CreatedAt)
	updated := created
	if !r.UpdatedAt.IsZero() {
		updated = utc(r.UpdatedAt)
	}
	kind := r.Kind
	if kind == "" {
		kind = modelkeep.RunTraining
	}
	row := runRow{
		RunID: r.ID, Kind: kind, GitCommit: r.GitCommit, CodeURI: r.CodeURI, Parameters: params, Environment: env,
		StartedAt: utcTimePtr(r.StartedAt), EndedAt: utcTimePtr(r.EndedAt), TriggeredBy: r.TriggeredBy,
		DeploymentID: r.DeploymentID, OutputSHA256: r.OutputSHA256, Details: details,
		CreatedBy: r.CreatedBy, CreatedAt: created, UpdatedAt: updated,
	}
	if r.Subject != nil {
		row.SubjectModel, row.SubjectVersion = r.Subject.Model, r.Subject.Version
	}
	if err := db.Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return modelkeep.Errorf(modelkeep.ErrConflict, "run %q already exists", r.ID)
		}
		return dbErr(fmt.Sprintf("create run %q", r.ID), err)
	}
	return nil
}

// utcTimePtr is a time at the databases' precision, in UTC.
func utcTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utc(*t)
	return &u
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

// ListRuns returns up to f.Limit runs, newest first (then by id), of one
// kind and about one version when f says so.
func (s *Store) ListRuns(ctx context.Context, f modelkeep.RunFilter) ([]modelkeep.Run, error) {
	q := s.db.WithContext(ctx).Model(&runRow{})
	if f.Subject != nil {
		q = q.Where("subject_model = ? AND subject_version = ?", f.Subject.Model, f.Subject.Version)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	q = newestFirst(q, "created_at", "run_id", f.BeforeCreatedAt, f.BeforeID, f.Limit)
	return findAllDecoded(q, "list runs", toRun)
}

// FillRun sets each field of r that the stored run has empty, in one
// UPDATE that sets a column only where it is still empty (see
// FillDataset), and updated_at. The details (inputs, compute, documents)
// are one JSON object, filled part by part: the caller reconciled them
// with the stored ones. ErrNotFound if absent.
func (s *Store) FillRun(ctx context.Context, r modelkeep.Run) error {
	return s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		set := map[string]any{"updated_at": tx.orNow(r.UpdatedAt)}
		fill := func(col, empty string, v any) {
			set[col] = gorm.Expr("CASE WHEN "+col+" = '"+empty+"' THEN ? ELSE "+col+" END", v)
		}
		for col, v := range map[string]string{"git_commit": r.GitCommit, "code_uri": r.CodeURI, "triggered_by": r.TriggeredBy,
			"deployment_id": r.DeploymentID, "output_sha256": r.OutputSHA256} {
			if v != "" {
				fill(col, "", v)
			}
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
		for col, t := range map[string]*time.Time{"started_at": r.StartedAt, "ended_at": r.EndedAt} {
			if t != nil {
				set[col] = gorm.Expr("COALESCE("+col+", ?)", utc(*t))
			}
		}
		if r.Subject != nil {
			fill("subject_model", "", r.Subject.Model)
			set["subject_version"] = gorm.Expr("CASE WHEN subject_version = 0 THEN ? ELSE subject_version END", r.Subject.Version)
		}
		if len(r.Inputs) > 0 || !r.Compute.IsZero() || r.TestLog != "" || r.Report != "" {
			stored, err := tx.GetRun(ctx, r.ID)
			if err != nil {
				return err
			}
			merged := stored
			if len(merged.Inputs) == 0 {
				merged.Inputs = r.Inputs
			}
			if merged.Compute.IsZero() {
				merged.Compute = r.Compute
			}
			if merged.TestLog == "" {
				merged.TestLog = r.TestLog
			}
			if merged.Report == "" {
				merged.Report = r.Report
			}
			details, err := encodeRunDetails(merged)
			if err != nil {
				return fmt.Errorf("fill run %q: encode details: %w", r.ID, err)
			}
			set["details"] = details
		}
		res := db.Model(&runRow{}).Where("run_id = ?", r.ID).Updates(set)
		if res.Error != nil {
			return dbErr(fmt.Sprintf("fill run %q", r.ID), res.Error)
		}
		if res.RowsAffected == 0 {
			return modelkeep.Errorf(modelkeep.ErrNotFound, "run %q not found", r.ID)
		}
		return nil
	})
}
