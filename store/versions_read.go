package store

import (
	"context"
	"database/sql"
	"fmt"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
)

// The hot version reads (get one, list a page) scan their rows by hand into
// versionRow: GORM's reflection-driven scan cost more CPU than the query at
// 100 versions a page (bench/README.md). versionColumns and scanVersion list
// the same columns in the same order; TestVersionColumnsMatchRow keeps them
// in step with versionRow.
const versionColumns = "versions.id, versions.model_id, versions.number, versions.description, versions.tags, versions.params, " +
	"versions.datasets, versions.source_run_id, versions.source_git_commit, versions.source_code_uri, versions.parent_model, " +
	"versions.parent_version, versions.status, versions.stage, versions.manifest_digest, versions.ever_production, " +
	"versions.created_by, versions.created_at, versions.updated_at, versions.finalized_at, versions.stage_changed_at"

// scanVersion reads one row of versionColumns.
func scanVersion(rows *sql.Rows) (versionRow, error) {
	var r versionRow
	err := rows.Scan(&r.ID, &r.ModelID, &r.Number, &r.Description, &r.Tags, &r.Params,
		&r.Datasets, &r.SourceRunID, &r.SourceGitCommit, &r.SourceCodeURI, &r.ParentModel,
		&r.ParentVersion, &r.Status, &r.Stage, &r.ManifestDigest, &r.EverProduction,
		&r.CreatedBy, &r.CreatedAt, &r.UpdatedAt, &r.FinalizedAt, &r.StageChangedAt)
	return r, err
}

// scanVersions runs a query built by GORM (q, selecting versionColumns) or
// given as SQL text (q.Raw) and reads its rows.
func scanVersions(q *gorm.DB, what string) ([]versionRow, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, dbErr(what, err)
	}
	defer rows.Close()
	var out []versionRow
	for rows.Next() {
		r, err := scanVersion(rows)
		if err != nil {
			return nil, dbErr(what, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(what, err)
	}
	return out, nil
}

// getVersionRow reads version number of the model named model in one query;
// when there is none, a second one tells which of the two is missing.
func (s *Store) getVersionRow(ctx context.Context, model string, number int) (versionRow, error) {
	db := s.db.WithContext(ctx)
	rows, err := scanVersions(db.Raw("SELECT "+versionColumns+" FROM versions JOIN models ON models.id = versions.model_id "+
		"WHERE models.name = ? AND versions.number = ?", model, number), "get version")
	if err != nil {
		return versionRow{}, err
	}
	if len(rows) == 1 {
		return rows[0], nil
	}
	if _, err := s.modelID(ctx, model); err != nil {
		return versionRow{}, err
	}
	return versionRow{}, modelkeep.Errorf(modelkeep.ErrNotFound, "version %d of model %q not found", number, model)
}

// describeList names a version list in errors.
func describeList(model string) string { return fmt.Sprintf("list versions of model %q", model) }
