package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
)

// The hot version reads (get one, list a page) are one query each, aliases
// included, and scan their rows by hand: GORM's reflection-driven scan and
// a second query for the aliases cost more than the read itself at 100
// versions a page (bench/README.md). versionColumns and scanVersion list
// the same columns in the same order; TestVersionColumnsMatchRow keeps them
// in step with versionRow.
const versionColumns = "versions.id, versions.model_id, versions.number, versions.description, versions.tags, versions.params, " +
	"versions.datasets, versions.source_run_id, versions.source_git_commit, versions.source_code_uri, versions.parent_model, " +
	"versions.parent_version, versions.status, versions.stage, versions.manifest_digest, versions.ever_production, " +
	"versions.created_by, versions.created_at, versions.updated_at, versions.finalized_at, versions.stage_changed_at"

// aliasListColumn is the version's aliases joined by commas (alias names
// have none), NULL when it has none. MySQL cuts GROUP_CONCAT at
// group_concat_max_len, which the DSN raises to maxAliasList (dsn.go); a
// list that long is read again in full (readVersions).
var aliasListColumn = map[string]string{
	dialectMySQL:  "(SELECT GROUP_CONCAT(a.alias SEPARATOR ',') FROM aliases a WHERE a.version_id = versions.id)",
	dialectSQLite: "(SELECT group_concat(a.alias, ',') FROM aliases a WHERE a.version_id = versions.id)",
}

// maxAliasList is MySQL's group_concat_max_len for this store's sessions;
// maxNameLen is the longest alias name.
const (
	maxAliasList = 1 << 20
	maxNameLen   = 128
)

// versionSelect is the column list of a version read on dialect; without
// aliases, when the model has none, the alias list is NULL (saving a
// subquery per row: a third of a page's database time).
func versionSelect(dialect string, withAliases bool) string {
	if !withAliases {
		return versionColumns + ", NULL"
	}
	return versionColumns + ", " + aliasListColumn[dialect]
}

// listedModel reads what a version list needs of the model named name: its
// row id, latest version number and metrics revision (postings.go,
// metriccache.go), and whether it has any alias; ErrNotFound when there is
// no such model.
func (s *Store) listedModel(ctx context.Context, name string) (modelAt, error) {
	db := s.db.WithContext(ctx)
	var rows []struct {
		ID            int64 `gorm:"column:id"`
		LatestVersion int   `gorm:"column:latest_version"`
		MetricsRev    int64 `gorm:"column:metrics_rev"`
		HasAliases    bool  `gorm:"column:has_aliases"`
	}
	err := db.Raw("SELECT m.id AS id, m.latest_version AS latest_version, m.metrics_rev AS metrics_rev, "+
		"EXISTS (SELECT 1 FROM aliases a WHERE a.model_id = m.id) AS has_aliases FROM models m WHERE m.name = ?", name).Scan(&rows).Error
	if err != nil {
		return modelAt{}, dbErr("get model", err)
	}
	if len(rows) == 0 {
		return modelAt{}, modelkeep.Errorf(modelkeep.ErrNotFound, "model %q not found", name)
	}
	r := rows[0]
	return modelAt{id: r.ID, latest: r.LatestVersion, metricsRev: r.MetricsRev, hasAliases: r.HasAliases}, nil
}

// readVersion is a version row and its aliases, as one query reads them.
type readVersion struct {
	row     versionRow
	aliases []string // sorted
	// cut is true when the alias list may have been cut short.
	cut bool
}

// scanVersion reads one row of versionSelect.
func scanVersion(rows *sql.Rows) (readVersion, error) {
	var r versionRow
	var aliases sql.NullString
	err := rows.Scan(&r.ID, &r.ModelID, &r.Number, &r.Description, &r.Tags, &r.Params,
		&r.Datasets, &r.SourceRunID, &r.SourceGitCommit, &r.SourceCodeURI, &r.ParentModel,
		&r.ParentVersion, &r.Status, &r.Stage, &r.ManifestDigest, &r.EverProduction,
		&r.CreatedBy, &r.CreatedAt, &r.UpdatedAt, &r.FinalizedAt, &r.StageChangedAt, &aliases)
	if err != nil {
		return readVersion{}, err
	}
	rv := readVersion{row: r, aliases: []string{}}
	if aliases.Valid && aliases.String != "" {
		rv.aliases = strings.Split(aliases.String, ",")
		slices.Sort(rv.aliases)
		rv.cut = len(aliases.String) >= maxAliasList-maxNameLen
	}
	return rv, nil
}

// readVersions runs q, a query built by GORM (selecting versionSelect) or
// given as SQL text (db.Raw), and converts its rows to versions of model.
func (s *Store) readVersions(ctx context.Context, q *gorm.DB, model, what string) ([]modelkeep.Version, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, dbErr(what, err)
	}
	var read []readVersion
	for rows.Next() {
		rv, err := scanVersion(rows)
		if err != nil {
			rows.Close()
			return nil, dbErr(what, err)
		}
		read = append(read, rv)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, dbErr(what, err)
	}
	out := make([]modelkeep.Version, 0, len(read))
	for _, rv := range read {
		if rv.cut {
			all, err := s.aliasesOf(ctx, rv.row.ID)
			if err != nil {
				return nil, err
			}
			rv.aliases = all[rv.row.ID]
		}
		v, err := toVersion(model, rv.row, rv.aliases)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// describeList names a version list in errors.
func describeList(model string) string { return fmt.Sprintf("list versions of model %q", model) }
