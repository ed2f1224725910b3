package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// walSwitchTimeout bounds how long Open waits for other connections while
// it turns a database file to WAL mode, as busy_timeout does for writes.
const walSwitchTimeout = 10 * time.Second

// switchToWAL turns the SQLite file at path to WAL mode, retrying while
// another connection holds it. The switch needs an exclusive lock that
// SQLite takes without calling the busy handler, so busy_timeout does not
// cover it: replicas or tests opening a new file together saw "database is
// locked" when each connection switched. The mode persists in the file, so
// every connection the pool opens afterwards finds it in WAL mode.
func switchToWAL(ctx context.Context, path string) error {
	db, err := sql.Open(dialectSQLite, path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, walSwitchTimeout)
	defer cancel()
	backoff := 5 * time.Millisecond
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		switch {
		case err == nil && mode == "wal":
			return nil
		case err == nil:
			return fmt.Errorf("journal mode is %q after switching to WAL", mode)
		case !isBusy(err):
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED.
func isBusy(err error) bool {
	code := sqlitePrimaryCode(err)
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}
