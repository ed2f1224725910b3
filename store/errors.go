package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	gosqlite "github.com/glebarez/go-sqlite"
	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/modelkeep/modelkeep"
)

// dbErr wraps a database error with the operation and maps it to the domain's
// sentinels. Callers first turn the cases they expect (a missing row, a
// duplicate name) into precise messages; dbErr covers the rest.
//
// The user-facing part (the *modelkeep.Error) never carries driver text, which
// may name hosts or SQL; the full chain, with the driver's error, is there for
// the log.
func dbErr(op string, err error) error {
	var domain *modelkeep.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &domain):
		return err // translated already, by a method InTx ran
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, err)
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", op, modelkeep.Errorf(modelkeep.ErrNotFound, "not found"))
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", op, modelkeep.Errorf(modelkeep.ErrConflict, "already exists"))
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("%s: %w", op, modelkeep.Errorf(modelkeep.ErrConflict, "refers to a missing or still referenced record"))
	case isUnavailable(err):
		return fmt.Errorf("%s: %w: %w", op, modelkeep.Errorf(modelkeep.ErrUnavailable, "database unavailable"), err)
	case isInvalidValue(err):
		return fmt.Errorf("%s: %w: %w", op, modelkeep.Errorf(modelkeep.ErrInvalid, "a value is too long or not valid for the database"), err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// MySQL server errors that mean "the database cannot serve this now; try
// again" rather than "this request is wrong".
var mysqlUnavailable = map[uint16]bool{
	1040: true, // too many connections
	1045: true, // access denied (credentials rotated or revoked)
	1049: true, // unknown database
	1053: true, // server shutdown in progress
	1205: true, // lock wait timeout
	1213: true, // deadlock; the transaction was rolled back and may be retried
	1290: true, // running with --read-only (e.g. a replica after failover)
	1792: true, // read-only transaction
	1836: true, // read-only mode
}

// SQLite primary result codes that mean the same.
var sqliteUnavailable = map[int]bool{
	sqlite3.SQLITE_BUSY:     true, // another connection holds the lock past busy_timeout
	sqlite3.SQLITE_LOCKED:   true,
	sqlite3.SQLITE_CANTOPEN: true,
	sqlite3.SQLITE_IOERR:    true,
	sqlite3.SQLITE_FULL:     true, // the disk is full
	sqlite3.SQLITE_READONLY: true,
}

// isUnavailable reports whether err means the database is unreachable,
// overloaded or refusing service, as opposed to a bad request.
func isUnavailable(err error) bool {
	var (
		netErr     net.Error
		mysqlErr   *gomysql.MySQLError
		sqliteCode = sqlitePrimaryCode(err)
	)
	switch {
	case errors.Is(err, driver.ErrBadConn),
		errors.Is(err, gomysql.ErrInvalidConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.As(err, &netErr):
		return true
	case errors.As(err, &mysqlErr):
		return mysqlUnavailable[mysqlErr.Number]
	case sqliteCode >= 0:
		return sqliteUnavailable[sqliteCode]
	}
	// Last resort for errors a layer flattened to text, and for database/sql's
	// unexported "database is closed" (the store is shutting down).
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "sql: database is closed")
}

// sqlitePrimaryCode is the primary result code (SQLITE_BUSY, ...) of a
// SQLite error in err's chain, or -1 when there is none.
func sqlitePrimaryCode(err error) int {
	var sqliteErr *gosqlite.Error
	if !errors.As(err, &sqliteErr) {
		return -1
	}
	return sqliteErr.Code() & 0xff
}

// isInvalidValue reports whether the database refused a value (too long for
// its column, not valid in its character set): input the domain did not bound.
func isInvalidValue(err error) bool {
	var mysqlErr *gomysql.MySQLError
	if errors.As(err, &mysqlErr) {
		switch mysqlErr.Number {
		case 1264, // out of range value
			1366, // incorrect string value (e.g. invalid UTF-8)
			1406: // data too long for column
			return true
		}
	}
	return false
}

// notFound maps gorm.ErrRecordNotFound to a modelkeep.ErrNotFound with msg
// and anything else through dbErr.
func notFound(op string, err error, format string, args ...any) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return modelkeep.Errorf(modelkeep.ErrNotFound, format, args...)
	}
	return dbErr(op, err)
}
