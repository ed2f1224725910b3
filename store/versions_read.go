package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
)

// The hot version reads scan their rows by hand: GORM's reflection-driven
// scan cost more than the read itself at 100 versions a page
// (bench/README.md at commit 8f700e0).
//
// A version has two parts. Its state (status, stage, digest, dates) changes
// over its life. Its body (description, tags, params, datasets, source,
// parent, creator) is written when it is created and never changed, so the
// store keeps recently read bodies in memory (bodyCache) and a version
// list reads only the state of its page from the database, plus the bodies
// it does not hold. A single version (GetVersion) is read whole in one
// query. Any future call that changes a body column must also drop the
// version from the cache (and from the posting lists, postings.go).
//
// versionColumns is a whole row, in versionRow's order
// (TestVersionColumnsMatchRow); stateColumns and bodyColumns split it.
const versionColumns = "versions.id, versions.model_id, versions.number, versions.description, versions.tags, versions.params, " +
	"versions.datasets, versions.source_run_id, versions.source_git_commit, versions.source_code_uri, versions.parent_model, " +
	"versions.parent_version, versions.status, versions.stage, versions.manifest_digest, versions.ever_production, " +
	"versions.created_by, versions.created_at, versions.updated_at, versions.finalized_at, versions.stage_changed_at, " +
	"versions.alias_names"

// stateColumns is what a version list selects (scanState reads them); the
// model id is the list's own.
const stateColumns = "versions.id, versions.number, versions.status, versions.stage, " +
	"versions.manifest_digest, versions.ever_production, versions.created_at, versions.updated_at, versions.finalized_at, " +
	"versions.alias_names"

// stateColumnCount is how many columns stateColumns names.
var stateColumnCount = strings.Count(stateColumns, ",") + 1

// versionState is a row of stateColumns: what a list reads of each version.
type versionState struct {
	id, modelID    int64
	number         int
	status, stage  string
	manifestDigest string
	everProduction bool
	createdAt      time.Time
	updatedAt      time.Time
	finalizedAt    sql.NullTime
	aliasNames     sql.NullString // versions.alias_names
	sortValue      sql.NullFloat64
}

// stateOf is the state part of a whole row.
func stateOf(r versionRow) versionState {
	st := versionState{id: r.ID, modelID: r.ModelID, number: r.Number, status: r.Status, stage: r.Stage,
		manifestDigest: r.ManifestDigest, everProduction: r.EverProduction, createdAt: r.CreatedAt, updatedAt: r.UpdatedAt}
	if r.FinalizedAt != nil {
		st.finalizedAt = sql.NullTime{Time: *r.FinalizedAt, Valid: true}
	}
	if r.AliasNames != nil {
		st.aliasNames = sql.NullString{String: *r.AliasNames, Valid: true}
	}
	return st
}

// bodyColumns is the body of a version, after the columns that name its row
// (scanBody reads them).
const bodyColumns = "versions.id, versions.model_id, versions.number, versions.created_at, versions.description, " +
	"versions.tags, versions.params, versions.datasets, versions.source_run_id, versions.source_git_commit, " +
	"versions.source_code_uri, versions.parent_model, versions.parent_version, versions.created_by"

// listedModel reads what a version list needs of the model named name: its
// row id, latest version number and metrics revision (postings.go,
// metriccache.go); ErrNotFound when there is no such model.
func (s *Store) listedModel(ctx context.Context, name string) (modelAt, error) {
	var m modelAt
	err := s.hotDB(ctx).Raw("SELECT m.id, m.latest_version, m.metrics_rev FROM models m WHERE m.name = ?", name).
		Row().Scan(&m.id, &m.latest, &m.metricsRev)
	if errors.Is(err, sql.ErrNoRows) {
		return modelAt{}, modelkeep.Errorf(modelkeep.ErrNotFound, "model %q not found", name)
	}
	if err != nil {
		return modelAt{}, dbErr("get model", err)
	}
	return m, nil
}

// scanVersion reads one row of versionColumns.
func scanVersion(rows *sql.Rows) (versionRow, error) {
	var r versionRow
	err := rows.Scan(&r.ID, &r.ModelID, &r.Number, &r.Description, &r.Tags, &r.Params,
		&r.Datasets, &r.SourceRunID, &r.SourceGitCommit, &r.SourceCodeURI, &r.ParentModel,
		&r.ParentVersion, &r.Status, &r.Stage, &r.ManifestDigest, &r.EverProduction,
		&r.CreatedBy, &r.CreatedAt, &r.UpdatedAt, &r.FinalizedAt, &r.StageChangedAt, &r.AliasNames)
	return r, err
}

// scanState reads one row of stateColumns of the model modelID. Status and
// stage come from small fixed sets: their strings are shared rather than
// allocated per row.
// raw holds the two columns between rows (one allocation per list, not
// two per row).
func scanState(rows *sql.Rows, modelID int64, raw *[2]sql.RawBytes, sorted bool, st *versionState) error {
	dest := []any{&st.id, &st.number, &raw[0], &raw[1],
		&st.manifestDigest, &st.everProduction, &st.createdAt, &st.updatedAt, &st.finalizedAt, &st.aliasNames}
	if sorted {
		dest = append(dest, &st.sortValue)
	}
	err := rows.Scan(dest...)
	st.modelID, st.status, st.stage = modelID, internState(raw[0]), internState(raw[1])
	return err
}

// knownStates are the values of versions.status and versions.stage.
var knownStates = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		string(modelkeep.StatusPending), string(modelkeep.StatusReady),
		string(modelkeep.StageNone), string(modelkeep.StageStaging), string(modelkeep.StageProduction), string(modelkeep.StageArchived),
	} {
		m[s] = s
	}
	return m
}()

// internState returns b as a string, shared when it is a known status or
// stage (the lookup with string(b) does not allocate).
func internState(b []byte) string {
	if s, ok := knownStates[string(b)]; ok {
		return s
	}
	return string(b)
}

// scanBody reads one row of bodyColumns into r.
func scanBody(rows *sql.Rows, r *versionRow) error {
	return rows.Scan(&r.ID, &r.ModelID, &r.Number, &r.CreatedAt, &r.Description, &r.Tags, &r.Params, &r.Datasets,
		&r.SourceRunID, &r.SourceGitCommit, &r.SourceCodeURI, &r.ParentModel, &r.ParentVersion, &r.CreatedBy)
}

// readVersions runs q, a list of versions of the model m (named model)
// built by GORM or given as SQL text (db.Raw) that selects stateColumns, and
// returns them in the query's order: the bodies come from the cache or from
// one more query for those it lacks.
func (s *Store) readVersions(ctx context.Context, q *gorm.DB, model string, m modelAt, what string) ([]modelkeep.Version, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, dbErr(what, err)
	}
	// A list sorted by a metric selects its value after the state
	// (metricorder.go).
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, dbErr(what, err)
	}
	sorted := len(cols) == stateColumnCount+1
	states := make([]versionState, 0, 128)
	var raw [2]sql.RawBytes
	for rows.Next() {
		states = append(states, versionState{})
		if err := scanState(rows, m.id, &raw, sorted, &states[len(states)-1]); err != nil {
			rows.Close()
			return nil, dbErr(what, err)
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, dbErr(what, err)
	}
	bodies := make([]*versionBody, len(states))
	var missing []int64
	for i, st := range states {
		if bodies[i] = s.bodyCache.get(st); bodies[i] == nil {
			missing = append(missing, st.id)
		}
	}
	if len(missing) > 0 {
		read, err := s.readBodies(ctx, model, missing)
		if err != nil {
			return nil, dbErr(what, err)
		}
		for i, st := range states {
			if bodies[i] != nil {
				continue
			}
			b := read[st.id]
			if b == nil {
				// Versions are deleted only with their model, and the
				// body was read after the state: the model is gone.
				return nil, modelkeep.Errorf(modelkeep.ErrNotFound, "model %q not found", model)
			}
			bodies[i] = b
			if !s.inTx {
				// Never from a transaction, which may roll the version back.
				s.bodyCache.put(st.id, b)
			}
		}
	}
	out := make([]modelkeep.Version, len(states))
	for i, st := range states {
		out[i] = assembleVersion(model, st, bodies[i])
	}
	return out, nil
}

// readBodies reads the bodies of the given versions, by id, in batches.
func (s *Store) readBodies(ctx context.Context, model string, ids []int64) (map[int64]*versionBody, error) {
	db := s.db.WithContext(ctx)
	out := make(map[int64]*versionBody, len(ids))
	for batch := range slices.Chunk(ids, maxCandidateBatch[s.dialect]) {
		rows, err := db.Raw("SELECT "+bodyColumns+" FROM versions WHERE versions.id IN ?", batch).Rows()
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var r versionRow
			if err := scanBody(rows, &r); err != nil {
				rows.Close()
				return nil, err
			}
			b, err := decodeBody(model, r)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[r.ID] = b
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// describeList names a version list in errors.
func describeList(model string) string { return fmt.Sprintf("list versions of model %q", model) }
