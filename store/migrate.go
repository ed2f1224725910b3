package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/modelkeep/modelkeep/migrations"
)

// migrationRow records one applied file of package migrations.
type migrationRow struct {
	Version   int       `gorm:"column:version;primaryKey;autoIncrement:false"`
	AppliedAt time.Time `gorm:"column:applied_at"`
}

func (migrationRow) TableName() string { return "schema_migrations" }

// createMigrationsTable is the one table not created by a file in migrations/:
// the runner needs it to know which files have run.
var createMigrationsTable = map[string]string{
	dialectMySQL: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT      NOT NULL,
    applied_at DATETIME(6) NOT NULL,
    PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
	dialectSQLite: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER  NOT NULL PRIMARY KEY,
    applied_at DATETIME NOT NULL
)`,
}

// migrateLockWait bounds how long Open waits for another instance that is
// migrating the same MySQL database.
const migrateLockWait = 60 * time.Second

// migrate applies the pending migrations of s's dialect in order, each in a
// transaction together with its schema_migrations row. On SQLite that makes
// a file atomic; on MySQL, which commits DDL implicitly, a file holds one
// statement (see package migrations), so it is applied wholly or not at all
// except for a crash between the statement and its record, which leaves a
// table that a rerun reports as existing.
//
// It refuses a database that records a migration this binary does not know:
// a newer Modelkeep migrated it, and this one could misread its schema.
func (s *Store) migrate(ctx context.Context) error {
	all, err := migrations.Load(s.dialect)
	if err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	if err := db.Exec(createMigrationsTable[s.dialect]).Error; err != nil {
		return dbErr("create schema_migrations", err)
	}
	unlock, err := s.lockMigrations(ctx)
	if err != nil {
		return err
	}
	defer unlock()

	var applied []int
	if err := db.Model(&migrationRow{}).Order("version").Pluck("version", &applied).Error; err != nil {
		return dbErr("read schema_migrations", err)
	}
	latest := all[len(all)-1].Version
	for _, v := range applied {
		if !slices.ContainsFunc(all, func(m migrations.Migration) bool { return m.Version == v }) {
			return fmt.Errorf("database schema has migration %04d, which this modelkeep does not know (it knows 1 to %d): "+
				"the database was migrated by a newer version; run that version or restore a backup", v, latest)
		}
	}
	for _, m := range all {
		if slices.Contains(applied, m.Version) {
			continue
		}
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration and records it, unless another process recorded
// it first (it checks again inside the transaction, which on SQLite holds the
// write lock from BEGIN IMMEDIATE).
func (s *Store) apply(ctx context.Context, m migrations.Migration) error {
	start := time.Now()
	skipped := false
	err := s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		var n int64
		if err := db.Model(&migrationRow{}).Where("version = ?", m.Version).Count(&n).Error; err != nil {
			return dbErr("read schema_migrations", err)
		}
		if n > 0 {
			skipped = true
			return nil
		}
		for i, stmt := range m.Statements {
			if err := db.Exec(stmt).Error; err != nil {
				return dbErr(fmt.Sprintf("apply migration %s/%s, statement %d", s.dialect, m.Name, i+1), err)
			}
		}
		row := migrationRow{Version: m.Version, AppliedAt: s.nowUTC()}
		if err := db.Create(&row).Error; err != nil {
			return dbErr(fmt.Sprintf("record migration %s/%s", s.dialect, m.Name), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !skipped {
		s.logger.InfoContext(ctx, "applied migration", "dialect", s.dialect, "migration", m.Name,
			"elapsed_ms", time.Since(start).Milliseconds())
	}
	return nil
}

// lockMigrations keeps two instances starting at once against the same MySQL
// database from running the same DDL: a named lock (per database) held on a
// dedicated connection while migrate runs. SQLite needs none: its
// transactions begin IMMEDIATE and so run one at a time.
func (s *Store) lockMigrations(ctx context.Context) (unlock func(), err error) {
	if s.dialect != dialectMySQL {
		return func() {}, nil
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, dbErr("lock migrations", err)
	}
	// Lock names are server-wide and at most 64 characters.
	const name = "CONCAT('modelkeep_migrate:', LEFT(DATABASE(), 40))"
	var got sql.NullInt64
	err = conn.QueryRowContext(ctx, "SELECT GET_LOCK("+name+", ?)", int(migrateLockWait.Seconds())).Scan(&got)
	if err == nil && got.Int64 != 1 {
		err = errors.New("timed out waiting for another instance that is migrating the database")
	}
	if err != nil {
		conn.Close()
		return nil, dbErr("lock migrations", err)
	}
	return func() {
		// conn.Close hands the session back to the pool, lock and all: release
		// the lock first, and if that fails discard the session (a Raw
		// callback returning driver.ErrBadConn closes it), which releases it.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK("+name+")"); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}
