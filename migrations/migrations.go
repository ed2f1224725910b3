// Package migrations holds the database schema as forward-only, numbered SQL
// files, one directory per dialect (mysql/, sqlite/), with the same numbers in
// both. store.Open applies the pending ones in order.
//
// Rules for a new file NNNN_short_name.sql:
//   - Never edit a file once it is merged; add the next number instead.
//   - Add it to both dialects with the same number.
//   - End each statement with ';' at the end of a line (that is how Load
//     splits a file); lines starting with "--" are comments.
//   - mysql/ files hold exactly one statement each. MySQL commits DDL
//     implicitly, so a file with two DDL statements could stop half applied
//     and could not be run again; with one statement a file is applied
//     wholly or not at all (a DML-only file runs in a transaction together
//     with its schema_migrations row). sqlite/ files may hold several
//     statements: SQLite runs DDL in the file's transaction.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// FS holds the SQL files: mysql/NNNN_name.sql and sqlite/NNNN_name.sql.
//
//go:embed mysql/*.sql sqlite/*.sql
var FS embed.FS

// Dialects are the directories of FS, one per supported database.
func Dialects() []string { return []string{"mysql", "sqlite"} }

// Migration is one forward-only schema change of one dialect.
type Migration struct {
	Version    int
	Name       string // file name, e.g. "0001_models.sql"
	Statements []string
}

var fileRE = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// Load returns the migrations of dialect ordered by version. It fails on a
// badly named file, a duplicate version or a statement without its ';'.
func Load(dialect string) ([]Migration, error) {
	entries, err := fs.ReadDir(FS, dialect)
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", dialect, err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			return nil, fmt.Errorf("migration %s/%s: name must look like NNNN_short_name.sql", dialect, e.Name())
		}
		v, _ := strconv.Atoi(m[1]) // four digits always parse
		if prev, ok := seen[v]; ok {
			return nil, fmt.Errorf("migrations %s/%s and %s/%s have the same version", dialect, prev, dialect, e.Name())
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(FS, path.Join(dialect, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s/%s: %w", dialect, e.Name(), err)
		}
		stmts, err := Split(string(b))
		if err != nil {
			return nil, fmt.Errorf("migration %s/%s: %w", dialect, e.Name(), err)
		}
		if len(stmts) == 0 {
			return nil, fmt.Errorf("migration %s/%s has no statement", dialect, e.Name())
		}
		out = append(out, Migration{Version: v, Name: e.Name(), Statements: stmts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Split cuts a SQL file into statements: a statement ends at a line whose
// last character is ';' (the ';' is dropped). Lines starting with "--" are
// comments and left out. This simple rule is enough for schema files and
// avoids parsing SQL string literals.
func Split(sql string) ([]string, error) {
	var (
		stmts []string
		cur   []string
	)
	for _, line := range strings.Split(sql, "\n") {
		line = strings.TrimRight(line, " \t\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		last, end := strings.CutSuffix(line, ";")
		cur = append(cur, last)
		if !end {
			continue
		}
		stmt := strings.TrimSpace(strings.Join(cur, "\n"))
		cur = cur[:0]
		if stmt == "" {
			return nil, fmt.Errorf("empty statement")
		}
		stmts = append(stmts, stmt)
	}
	if len(cur) > 0 {
		return nil, fmt.Errorf("statement without a ';' at the end of its last line: %.60q", strings.Join(cur, " "))
	}
	return stmts, nil
}
