package store

import (
	"database/sql"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep/internal/testenv"
)

// A copy of testenv's template is the database a migration makes: the same
// tables with the same definitions (columns, indexes, foreign keys) and the
// same rows, on both dialects. Every other test of the package runs on such
// copies, so this is what keeps them honest.
func TestTemplateMatchesMigration(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		copied := openStore(t, newURL(t))
		empty := "sqlite:" + t.TempDir() + "/migrated.db"
		if copied.dialect == dialectMySQL {
			empty = testenv.MySQLDatabase(t)
		}
		migrated := openStore(t, empty)
		want, got := schemaOf(t, migrated), schemaOf(t, copied)
		if len(want) < 20 {
			t.Fatalf("the migrated database has %d tables; is the query right?", len(want))
		}
		for _, name := range slices.Sorted(maps.Keys(want)) {
			if got[name] != want[name] {
				t.Errorf("table %s of the copy:\n%s\nmigrated:\n%s", name, got[name], want[name])
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("the copy has table %s, which migrating does not make", name)
			}
		}
	})
}

// autoIncrement is the next-value clause of SHOW CREATE TABLE, which a
// table's rows decide rather than its definition.
var autoIncrement = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// schemaOf maps each table of s to its definition and its rows, as text.
func schemaOf(t *testing.T, s *Store) map[string]string {
	t.Helper()
	db, err := s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	q := "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
	if s.dialect == dialectMySQL {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name"
	}
	names = queryStrings(t, db, q)
	out := map[string]string{}
	for _, n := range names {
		var def string
		if s.dialect == dialectMySQL {
			var ignored string
			if err := db.QueryRow("SHOW CREATE TABLE `"+n+"`").Scan(&ignored, &def); err != nil {
				t.Fatal(err)
			}
			def = autoIncrement.ReplaceAllString(def, "")
		} else {
			def = strings.Join(queryStrings(t, db, "SELECT coalesce(sql, '') FROM sqlite_master WHERE tbl_name = ? ORDER BY type, name", n), ";\n")
		}
		out[n] = def + "\nrows:\n" + rowsText(t, db, n)
	}
	return out
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rowsText is every row of table as text, in order, without the times of
// schema_migrations (when each migration ran).
func rowsText(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	q := "SELECT * FROM " + table
	if table == "schema_migrations" {
		q = "SELECT version FROM schema_migrations"
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(&b, "%s=%v ", cols[i], v)
		}
		lines = append(lines, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
