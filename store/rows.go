package store

import (
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep/audit"

	"github.com/modelkeep/modelkeep"
)

// Row structs mirror the tables created by package migrations, one field per
// column (a test checks each against the migrated schema of both dialects).
// Column names are spelled out so that renaming a field cannot move it to
// another column. GORM's automatic CreatedAt/UpdatedAt handling is off: the
// store sets times from its injectable clock.

type modelRow struct {
	ID            int64     `gorm:"column:id;primaryKey"`
	Name          string    `gorm:"column:name"`
	Description   string    `gorm:"column:description"`
	Tags          string    `gorm:"column:tags"` // JSON object
	CreatedBy     string    `gorm:"column:created_by"`
	CreatedAt     time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt     time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
	LatestVersion int       `gorm:"column:latest_version"`
	// MetricsRev counts the AddMetrics calls on the model's versions
	// (metriccache.go); only AddMetrics writes it, with an UPDATE.
	MetricsRev int64 `gorm:"column:metrics_rev;->"`
}

func (modelRow) TableName() string { return "models" }

// modelTagRow is one entry of a model's tags, for tag filters.
type modelTagRow struct {
	ModelID  int64  `gorm:"column:model_id;primaryKey;autoIncrement:false"`
	TagKey   string `gorm:"column:tag_key;primaryKey"`
	TagValue string `gorm:"column:tag_value"`
}

func (modelTagRow) TableName() string { return "model_tags" }

type versionRow struct {
	ID              int64      `gorm:"column:id;primaryKey"`
	ModelID         int64      `gorm:"column:model_id"`
	Number          int        `gorm:"column:number"`
	Description     string     `gorm:"column:description"`
	Tags            string     `gorm:"column:tags"`     // JSON object
	Params          string     `gorm:"column:params"`   // JSON object
	Datasets        string     `gorm:"column:datasets"` // JSON array of datasetJSON
	SourceRunID     string     `gorm:"column:source_run_id"`
	SourceGitCommit string     `gorm:"column:source_git_commit"`
	SourceCodeURI   string     `gorm:"column:source_code_uri"`
	ParentModel     *string    `gorm:"column:parent_model"`
	ParentVersion   *int       `gorm:"column:parent_version"`
	Status          string     `gorm:"column:status"`
	Stage           string     `gorm:"column:stage"`
	ManifestDigest  string     `gorm:"column:manifest_digest"`
	EverProduction  bool       `gorm:"column:ever_production"`
	CreatedBy       string     `gorm:"column:created_by"`
	CreatedAt       time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt       time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
	FinalizedAt     *time.Time `gorm:"column:finalized_at"`
	StageChangedAt  *time.Time `gorm:"column:stage_changed_at"`
	// AliasNames is the version's aliases, space-separated, NULL when it
	// has none: a copy of the aliases table that SetAlias and DeleteAlias
	// keep (0045), so that a version read needs no join.
	AliasNames *string `gorm:"column:alias_names"`
	// ProductionMarker is a generated column (1 in production, else NULL)
	// under a unique key with model_id: the database's guard against two
	// production versions of a model. Read-only: GORM must never write it.
	ProductionMarker *int `gorm:"column:production_marker;->"`
}

func (versionRow) TableName() string { return "versions" }

// datasetJSON is how a DatasetRef is stored: a format of the store's own, so
// that renaming a domain field does not change the stored JSON.
type datasetJSON struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	URI     string `json:"uri,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Role    string `json:"role,omitempty"`
}

type fileRow struct {
	ID        int64     `gorm:"column:id;primaryKey"`
	VersionID int64     `gorm:"column:version_id"`
	Path      string    `gorm:"column:path"`
	Size      int64     `gorm:"column:size"`
	SHA256    string    `gorm:"column:sha256"`
	BlobKey   string    `gorm:"column:blob_key"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (fileRow) TableName() string { return "files" }

type aliasRow struct {
	ID        int64     `gorm:"column:id;primaryKey"`
	ModelID   int64     `gorm:"column:model_id"`
	Alias     string    `gorm:"column:alias"`
	VersionID int64     `gorm:"column:version_id"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
	UpdatedBy string    `gorm:"column:updated_by"`
}

func (aliasRow) TableName() string { return "aliases" }

type auditEventRow struct {
	Seq        int64     `gorm:"column:seq;primaryKey;autoIncrement:false"`
	Time       time.Time `gorm:"column:time"`
	Actor      string    `gorm:"column:actor"`
	Action     string    `gorm:"column:action"`
	Resource   string    `gorm:"column:resource"`
	Outcome    string    `gorm:"column:outcome"`
	RequestID  string    `gorm:"column:request_id"`
	RemoteAddr string    `gorm:"column:remote_addr"`
	Details    string    `gorm:"column:details"` // canonical JSON, verbatim
	PrevHash   string    `gorm:"column:prev_hash"`
	Hash       string    `gorm:"column:hash"`
	// The database computes it from Resource (migration 0068): read only.
	ResourceRoot string `gorm:"column:resource_root;->"`
}

func (auditEventRow) TableName() string { return "audit_events" }

// auditHeadRow is the single row (id 1) naming the end of the audit chain,
// and how far the chain's times stray from seq order (see
// migrations/mysql/0065_audit_head_time_order.sql).
type auditHeadRow struct {
	ID       int        `gorm:"column:id;primaryKey;autoIncrement:false"`
	Seq      int64      `gorm:"column:seq"`
	Hash     string     `gorm:"column:hash"`
	MaxTime  *time.Time `gorm:"column:max_time"`   // the latest event time; nil while the chain is empty
	MaxLagUS int64      `gorm:"column:max_lag_us"` // the most an event's time precedes an earlier event's, in µs
}

func (auditHeadRow) TableName() string { return "audit_head" }

// after returns the head once the event (seq, hash, t) is appended: seq
// and hash are the event's, max_time moves to t if that is later, and
// max_lag_us to how far t precedes max_time if that is more.
func (h auditHeadRow) after(seq int64, hash string, t time.Time) auditHeadRow {
	h.Seq, h.Hash = seq, hash
	switch {
	case h.MaxTime == nil || t.After(*h.MaxTime):
		h.MaxTime = &t
	default:
		h.MaxLagUS = max(h.MaxLagUS, h.MaxTime.Sub(t).Microseconds())
	}
	return h
}

// moveTo is the update that moves the head to h.
func (h auditHeadRow) moveTo() map[string]any {
	var maxTime any
	if h.MaxTime != nil {
		maxTime = h.MaxTime.UTC()
	}
	return map[string]any{"seq": h.Seq, "hash": h.Hash, "max_time": maxTime, "max_lag_us": h.MaxLagUS}
}

// Conversions.

func encodeMap(m map[string]string) (string, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(m) // keys sorted: equal maps store equal text
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func toModel(r modelRow) (modelkeep.Model, error) {
	tags, err := decodeMap(r.Tags)
	if err != nil {
		return modelkeep.Model{}, fmt.Errorf("decode tags of model %q: %w", r.Name, err)
	}
	return modelkeep.Model{
		Name:          r.Name,
		Description:   r.Description,
		Tags:          tags,
		CreatedBy:     r.CreatedBy,
		CreatedAt:     r.CreatedAt.UTC(),
		UpdatedAt:     r.UpdatedAt.UTC(),
		LatestVersion: r.LatestVersion,
	}, nil
}

// fromVersion converts v's content to a row; ModelID and Number are the
// caller's to set.
func fromVersion(v modelkeep.Version) (versionRow, error) {
	tags, err := encodeMap(v.Tags)
	if err != nil {
		return versionRow{}, fmt.Errorf("encode tags: %w", err)
	}
	params, err := encodeMap(v.Params)
	if err != nil {
		return versionRow{}, fmt.Errorf("encode params: %w", err)
	}
	ds := make([]datasetJSON, 0, len(v.Datasets))
	for _, d := range v.Datasets {
		ds = append(ds, datasetJSON(d))
	}
	datasets, err := json.Marshal(ds)
	if err != nil {
		return versionRow{}, fmt.Errorf("encode datasets: %w", err)
	}
	r := versionRow{
		Description:     v.Description,
		Tags:            tags,
		Params:          params,
		Datasets:        string(datasets),
		SourceRunID:     v.Source.RunID,
		SourceGitCommit: v.Source.GitCommit,
		SourceCodeURI:   v.Source.CodeURI,
		Status:          string(v.Status),
		Stage:           string(v.Stage),
		ManifestDigest:  v.ManifestDigest,
		EverProduction:  v.EverProduction,
		CreatedBy:       v.CreatedBy,
		CreatedAt:       utc(v.CreatedAt),
		UpdatedAt:       utc(v.UpdatedAt),
	}
	if v.Parent != nil {
		r.ParentModel, r.ParentVersion = &v.Parent.Model, &v.Parent.Version
	}
	if v.FinalizedAt != nil {
		t := utc(*v.FinalizedAt)
		r.FinalizedAt = &t
	}
	return r, nil
}

func toVersion(model string, r versionRow) (modelkeep.Version, error) {
	b, err := decodeBody(model, r)
	if err != nil {
		return modelkeep.Version{}, err
	}
	return assembleVersion(model, stateOf(r), b), nil
}

func toFile(r fileRow) modelkeep.File {
	return modelkeep.File{
		Path:      r.Path,
		Size:      r.Size,
		SHA256:    r.SHA256,
		BlobKey:   r.BlobKey,
		CreatedAt: r.CreatedAt.UTC(),
	}
}

func toAuditEvent(r auditEventRow) audit.Event {
	return audit.Event{
		Seq:        r.Seq,
		Time:       r.Time.UTC(),
		Actor:      r.Actor,
		Action:     r.Action,
		Resource:   r.Resource,
		Outcome:    r.Outcome,
		RequestID:  r.RequestID,
		RemoteAddr: r.RemoteAddr,
		Details:    json.RawMessage(r.Details),
		PrevHash:   r.PrevHash,
		Hash:       r.Hash,
	}
}

// Reading rows.

// newestFirst orders q newest first by the keyset (timeCol, idCol), both
// descending, and pages it: only the rows before (before, beforeID) when
// before is set, at most limit of them when limit > 0. The condition and
// the order name the same two columns, so that the last row of a page is
// the key of the next one, with no row skipped or repeated.
func newestFirst(q *gorm.DB, timeCol, idCol string, before time.Time, beforeID string, limit int) *gorm.DB {
	if !before.IsZero() {
		at := utc(before)
		q = q.Where("("+timeCol+" < ? OR ("+timeCol+" = ? AND "+idCol+" < ?))", at, at, beforeID)
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	return q.Order(timeCol + " DESC, " + idCol + " DESC")
}

// findAll runs q's Find into rows of R and converts each with to, keeping
// q's order; op names the query in a database error. The result is empty,
// not nil, when no row matches.
func findAll[R, T any](q *gorm.DB, op string, to func(R) T) ([]T, error) {
	return findAllDecoded(q, op, func(r R) (T, error) { return to(r), nil })
}

// findAllDecoded is findAll for rows whose conversion can fail (a JSON
// column that does not decode): the first such error is returned as is.
func findAllDecoded[R, T any](q *gorm.DB, op string, to func(R) (T, error)) ([]T, error) {
	var rows []R
	if err := q.Find(&rows).Error; err != nil {
		return nil, dbErr(op, err)
	}
	out := make([]T, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = to(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}
