package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Migrating a database takes 70-odd migrations: about 150 ms on SQLite and
// 250 ms on MariaDB here, for every one of the few hundred databases a run
// makes. A package whose TestMain calls Main migrates one template per
// dialect instead, and Backends hands out copies of it: the SQLite file
// copied, the MySQL tables created from SHOW CREATE TABLE of the template's
// and their rows copied. TestTemplateMatchesMigration (package store) holds
// a copy equal to a migrated database; the tests of migrating itself ask for
// empty databases (MySQLDatabase, a SQLite path of their own).

// Migrator migrates an empty database, a MODELKEEP_DATABASE value, to the
// current schema (store.Open and Close).
type Migrator func(ctx context.Context, database string) error

var (
	templateMigrate Migrator
	sqliteTemplate  = sync.OnceValues(makeSQLiteTemplate)
	mysqlTemplate   = sync.OnceValues(makeMySQLTemplate)
	templatesMu     sync.Mutex
	templateCleanup []func() error
)

// Main runs a package's tests with migrated templates (see above) and
// removes the templates after them; TestMain calls it:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m, migrate)) }
func Main(m *testing.M, migrate Migrator) int {
	templateMigrate = migrate
	code := m.Run()
	templatesMu.Lock()
	defer templatesMu.Unlock()
	for _, f := range templateCleanup {
		if err := f(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: remove template:", err)
			code = max(code, 1)
		}
	}
	return code
}

func onTemplateCleanup(f func() error) {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	templateCleanup = append(templateCleanup, f)
}

// SQLiteDatabase returns the MODELKEEP_DATABASE value of a SQLite database
// at path (its directory is created): a copy of the migrated template when
// the package runs with templates (Main), else none yet.
func SQLiteDatabase(t testing.TB, path string) string {
	t.Helper()
	if templateMigrate == nil {
		return "sqlite:" + path
	}
	tmpl, err := sqliteTemplate()
	if err != nil {
		t.Fatalf("sqlite template: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(tmpl, path); err != nil {
		t.Fatalf("copy the sqlite template: %v", err)
	}
	return "sqlite:" + path
}

func makeSQLiteTemplate() (string, error) {
	dir, err := os.MkdirTemp("", "modelkeep-template-")
	if err != nil {
		return "", err
	}
	onTemplateCleanup(func() error { return os.RemoveAll(dir) })
	path := filepath.Join(dir, "template.db")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := templateMigrate(ctx, "sqlite:"+path); err != nil {
		return "", err
	}
	// Closing the last connection checkpoints the write-ahead log into the
	// file: the one file is the whole database.
	for _, suffix := range []string{"-wal", "-journal"} {
		if fi, err := os.Stat(path + suffix); err == nil && fi.Size() > 0 {
			return "", fmt.Errorf("%s%s is not empty after the migration closed", path, suffix)
		}
	}
	return path, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// mysqlTable is one table of the MySQL template: how to create it and
// whether it has rows to copy.
type mysqlTable struct {
	name, create string
	rows         bool
}

type mysqlTemplateDB struct {
	name   string
	tables []mysqlTable
}

// MySQLMigrated returns the URL of a fresh database like MySQLDatabase: a
// copy of the migrated template when the package runs with templates
// (Main), else empty.
func MySQLMigrated(t testing.TB) string {
	t.Helper()
	u := MySQLDatabase(t)
	if templateMigrate == nil {
		return u
	}
	tmpl, err := mysqlTemplate()
	if err != nil {
		t.Fatalf("mysql template: %v", err)
	}
	if err := cloneMySQL(t, tmpl, databaseOf(u)); err != nil {
		t.Fatalf("copy the mysql template: %v", err)
	}
	return u
}

func makeMySQLTemplate() (*mysqlTemplateDB, error) {
	cfg, err := mysqlConfig()
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	name := "mk_t_template_" + randomSuffix()
	if _, err := db.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	onTemplateCleanup(func() error {
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Exec("DROP DATABASE IF EXISTS `" + name + "`")
		return err
	})
	u, err := mysqlServerURL()
	if err != nil {
		return nil, err
	}
	u.Path, u.RawPath = "/"+name, ""
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := templateMigrate(ctx, u.String()); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name", name)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	tmpl := &mysqlTemplateDB{name: name}
	for _, n := range names {
		var ignored, create string
		if err := db.QueryRowContext(ctx, "SHOW CREATE TABLE `"+name+"`.`"+n+"`").Scan(&ignored, &create); err != nil {
			return nil, err
		}
		var any int
		err := db.QueryRowContext(ctx, "SELECT 1 FROM `"+name+"`.`"+n+"` LIMIT 1").Scan(&any)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		tmpl.tables = append(tmpl.tables, mysqlTable{name: n, create: create, rows: err == nil})
	}
	return tmpl, nil
}

// cloneMySQL creates the template's tables in the empty database dst and
// copies their rows. SHOW CREATE TABLE names referenced tables without
// their database, so the foreign keys point into dst; foreign key checks
// are off while the tables appear in name order.
func cloneMySQL(t testing.TB, tmpl *mysqlTemplateDB, dst string) error {
	cfg := MySQLConfig(t)
	cfg.DBName = dst
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 0"); err != nil {
		return err
	}
	for _, tb := range tmpl.tables {
		if _, err := conn.ExecContext(ctx, tb.create); err != nil {
			return fmt.Errorf("create %s: %w", tb.name, err)
		}
	}
	for _, tb := range tmpl.tables {
		if !tb.rows {
			continue
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO `"+tb.name+"` SELECT * FROM `"+tmpl.name+"`.`"+tb.name+"`"); err != nil {
			return fmt.Errorf("copy the rows of %s: %w", tb.name, err)
		}
	}
	return nil
}
