// Package store implements modelkeep.MetaStore with GORM on MySQL (8.4, and
// MariaDB 10.11 in tests) and SQLite (pure Go, no cgo).
//
// The schema comes only from the SQL files in package migrations, which Open
// applies; GORM's AutoMigrate is never used. Rows are unexported structs
// converted to and from the domain types, so nothing outside this package
// sees GORM or row ids.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	gomysql "github.com/go-sql-driver/mysql"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/boundedmap"
)

// Connection pool limits for MySQL. Connections are recycled well before the
// usual server and load balancer idle cut-offs (wait_timeout is 8h by
// default, proxies often drop idle TCP after minutes), so the pool never
// hands out a connection the network has silently closed.
const (
	mysqlMaxOpenConns = 20
	// As many idle as open: with fewer, a server under steady concurrency
	// closes connections on release and opens new ones for the next
	// requests (300 handshakes in 10,000 requests of bench/search with 10).
	// Idle ones are closed after mysqlConnMaxIdleTime anyway.
	mysqlMaxIdleConns    = mysqlMaxOpenConns
	mysqlConnMaxLifetime = 5 * time.Minute
	mysqlConnMaxIdleTime = time.Minute
	mysqlDialTimeout     = 10 * time.Second
	// preparedStatements bounds hotDB's statements: each is prepared on
	// every pooled connection that runs it, so the server holds at most
	// mysqlMaxOpenConns times as many (MariaDB's max_prepared_stmt_count
	// defaults to 16,382 for the whole server).
	preparedStatements = 64
)

// Options configure Open.
type Options struct {
	// URL is MODELKEEP_DATABASE: "sqlite:<path>" or
	// "mysql://user:pass@host:port/dbname[?tls=true|skip-verify|preferred]".
	// Empty means "sqlite:<DataDir>/modelkeep.db".
	URL string
	// DataDir is where the default SQLite database lives.
	DataDir string
	// Logger receives slow queries (Warn), applied migrations (Info) and
	// driver diagnostics. Nil discards.
	Logger *slog.Logger
	// Now is the clock for timestamps the store fills in itself (a zero
	// CreatedAt, audit times, schema_migrations). Nil means time.Now.
	Now func() time.Time
}

// Store is the GORM implementation of modelkeep.MetaStore. A Store returned by
// Open owns the connection pool; the one InTx hands to its callback is bound
// to the transaction.
type Store struct {
	db      *gorm.DB
	dialect string // "mysql" or "sqlite", as the directories in migrations/
	now     func() time.Time
	logger  *slog.Logger
	inTx    bool
	// prepared runs the hot reads (hotDB) as prepared statements on MySQL;
	// nil on SQLite.
	prepared *gorm.DB
	// postingCache and metricCache serve tag and param equalities and
	// metric thresholds of version lists (postings.go, metriccache.go);
	// shared by the store and its transactions' copies.
	postingCache *postingCache
	metricCache  *metricCache
	// bodyCache holds the bodies of recently listed versions
	// (versions_read.go, versionbody.go).
	bodyCache *bodyCache
	// nodeLabels and modelNames hold the names of datasets, runs and
	// models that lineage walks met (lineage.go).
	nodeLabels *nodeLabels
	modelNames *modelNamesByID
	// sequenceHook, when set (by tests only), runs in each SequenceAudit
	// pass after the records are chained and before the head moves and
	// the pass commits: an error there is a sequencer dying mid-batch.
	sequenceHook func(ctx context.Context, n int) error
	// auditQueued signals the sequencer that events were queued and
	// committed (AuditQueued); txAudit, in a transaction's copy, holds
	// the events the transaction queued, to write before its commit and
	// signal after it.
	auditQueued chan struct{}
	txAudit     *txAuditRows
	// auditBatch writes the events queued outside transactions together
	// (audit_batch.go); shared with the transactions' copies.
	auditBatch *auditBatcher
	// versionBatch lets concurrent creates of versions share a
	// transaction (versions_batch.go); shared with the transactions'
	// copies.
	versionBatch *versionBatcher
	// versionReruns counts the creates run again alone (VersionCreateStats).
	versionReruns *atomic.Uint64
	// ready serves GetVersion for ready versions (readycache.go); shared.
	// txChanges, in a transaction's copy, collects the models whose cached
	// versions its commit makes stale.
	ready     *readyCache
	txChanges *txChanges
	// modelIDs remembers model ids by name, for takeVersionNumber and
	// ListVersions's plain pages. Ids are never reused, so a remembered id
	// is either the model's or a deleted one's; each user proves it before
	// relying on it (an affected row, a page with versions).
	modelIDs *boundedmap.Map[string, int64]
}

var _ modelkeep.MetaStore = (*Store)(nil)

// Open connects to the database named by opts.URL, applies the pending
// migrations (so `modelkeep migrate` is Open followed by Close) and returns
// the store. It fails when the database holds a migration this binary does
// not know, that is, when it was migrated by a newer Modelkeep. A bad URL is
// modelkeep.ErrInvalid, an unreachable database modelkeep.ErrUnavailable.
func Open(ctx context.Context, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	t, err := parseURL(opts.URL, opts.DataDir)
	if err != nil {
		return nil, err
	}

	var dialector gorm.Dialector
	var sqlDB *sql.DB
	switch t.dialect {
	case dialectSQLite:
		if err := os.MkdirAll(filepath.Dir(t.sqlitePath), 0o750); err != nil {
			return nil, fmt.Errorf("open database: create directory: %w", err)
		}
		if err := switchToWAL(ctx, t.sqlitePath); err != nil {
			return nil, dbErr("open database: switch to WAL mode", err)
		}
		dialector = sqlite.Open(sqliteDSN(t.sqlitePath))
	case dialectMySQL:
		t.mysql.Logger = mysqlLogger{logger}
		connector, err := gomysql.NewConnector(t.mysql)
		if err != nil {
			return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid database URL: %v", err)
		}
		sqlDB = sql.OpenDB(readCommittedConnector{connector})
		sqlDB.SetMaxOpenConns(mysqlMaxOpenConns)
		sqlDB.SetMaxIdleConns(mysqlMaxIdleConns)
		sqlDB.SetConnMaxLifetime(mysqlConnMaxLifetime)
		sqlDB.SetConnMaxIdleTime(mysqlConnMaxIdleTime)
		// Ping before gorm.Open, which asks the server's version without a
		// context: this way an unreachable server fails within ctx.
		if err := sqlDB.PingContext(ctx); err != nil {
			sqlDB.Close()
			return nil, dbErr("connect to database", err)
		}
		dialector = gormmysql.New(gormmysql.Config{Conn: sqlDB})
	}

	db, err := gorm.Open(dialector, &gorm.Config{
		// Duplicate keys and foreign key violations become gorm.ErrDuplicatedKey
		// and gorm.ErrForeignKeyViolated in both dialects.
		TranslateError: true,
		// Single statements need no transaction of their own; multi-statement
		// methods open one explicitly (see inTxStore).
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true,
		// For hotDB's prepared statements; the LRU closes the least used.
		PrepareStmtMaxSize: preparedStatements,
		NowFunc:            func() time.Time { return utc(now()) },
		Logger:             gormLogger{logger: logger, slow: slowQuery},
	})
	if err != nil {
		if sqlDB != nil {
			sqlDB.Close()
		}
		return nil, dbErr("open database", err)
	}
	var prepared *gorm.DB
	if t.dialect == dialectMySQL {
		prepared = db.Session(&gorm.Session{PrepareStmt: true})
	}
	s := &Store{db: db, dialect: t.dialect, now: now, logger: logger, prepared: prepared, postingCache: newPostingCache(postingCacheEntries),
		metricCache: newMetricCache(metricCacheEntries), bodyCache: newBodyCache(bodyCacheEntries),
		nodeLabels: boundedmap.New[nodeKey, modelkeep.LineageRef](nodeLabelEntries),
		modelNames: boundedmap.New[int64, string](modelNameEntries), auditQueued: make(chan struct{}, 1), auditBatch: &auditBatcher{Max: maxAuditBatch},
		versionBatch: &versionBatcher{Max: maxVersionBatch}, versionReruns: new(atomic.Uint64),
		ready: newReadyCache(), modelIDs: boundedmap.New[string, int64](modelNameEntries)}
	err = s.Ping(ctx)
	if err == nil {
		err = s.migrate(ctx)
	}
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// Close closes the connection pool. It is an error to close the store that
// InTx hands out.
func (s *Store) Close() error {
	if s.inTx {
		return errors.New("close store: the store is bound to a transaction")
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	// A query rather than sql.DB.Ping: it also works inside a transaction and
	// proves the server executes statements, not just accepts connections.
	if err := db.Exec("SELECT 1").Error; err != nil {
		return dbErr("ping database", err)
	}
	return nil
}

// InTx runs fn in one transaction. Inside a transaction it runs fn with the
// same transaction: there are no nested transactions or savepoints, so an
// error from fn rolls back the outermost transaction, and is returned as fn
// returned it. On SQLite transactions begin IMMEDIATE and so serialise
// writers instead of failing with SQLITE_BUSY when two try to upgrade a read
// lock; on MySQL they run at READ COMMITTED (see inTxStore).
func (s *Store) InTx(ctx context.Context, fn func(tx modelkeep.MetaStore) error) error {
	return s.inTxStore(ctx, func(tx *Store) error { return fn(tx) })
}

// InAuditTx is InTx for the audit log's use cases, which need the audit
// part of the store only.
func (s *Store) InAuditTx(ctx context.Context, fn func(tx modelkeep.AuditStore) error) error {
	return s.inTxStore(ctx, func(tx *Store) error { return fn(tx) })
}

// inTxStore is InTx for the store's own multi-statement methods.
func (s *Store) inTxStore(ctx context.Context, fn func(tx *Store) error) error {
	if s.inTx {
		return fn(s)
	}
	db := s.db.WithContext(ctx)
	// On MySQL every connection is READ COMMITTED from the start
	// (readCommittedConnector): no SET TRANSACTION before each BEGIN.
	var fnErr error
	changes, events := new(txChanges), new(txAuditRows)
	err := db.Transaction(func(gtx *gorm.DB) error {
		tx := *s
		tx.db, tx.inTx, tx.txAudit, tx.txChanges = gtx, true, events, changes
		if fnErr = fn(&tx); fnErr != nil {
			return fnErr
		}
		fnErr = tx.txAudit.write(gtx)
		return fnErr
	})
	if fnErr == nil {
		// Even when the commit failed: it may have committed all the same
		// (a connection lost during COMMIT), and a needless drop only
		// costs a read.
		s.invalidateCommitted(changes)
	}
	if err == nil && events.written() {
		s.signalAuditQueued()
	}
	if fnErr != nil {
		// fn's error is the caller's own (possibly not from the database at
		// all, such as a blob store failure): hand it back untouched.
		return fnErr
	}
	return dbErr("transaction", err) // begin or commit failed
}

// readCommittedConnector makes every MySQL connection of the pool READ
// COMMITTED (rather than InnoDB's REPEATABLE READ) when it opens: the store
// serialises writers with compare-and-swap UPDATEs and row locks, and wants
// every read after them to see the latest committed rows, not a snapshot
// from the transaction's first read. It also drops the gap locks that
// locking reads of absent rows take under REPEATABLE READ, which deadlock
// concurrent inserts (uploads into different versions). Set once per
// connection, not per transaction (sql.TxOptions), it saves every
// transaction a round trip. The statement is standard SQL, so it reads the
// same on MySQL and MariaDB, whose names for the variable differ.
type readCommittedConnector struct{ driver.Connector }

func (c readCommittedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, errors.New("connect to database: the driver's connection cannot execute statements")
	}
	if _, err := ex.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to database: set READ COMMITTED: %w", err)
	}
	return conn, nil
}

// hotDB is the handle for the store's most frequent reads (a version, a
// page of versions, a lineage level). Their texts are few, so on MySQL they
// are prepared once per connection (GORM keeps at most
// preparedStatements of them) and run with the binary protocol: the server
// skips parsing them, which took a fifth of a get's database time
// (bench/README.md at commit 8f700e0). Everything else keeps the driver's
// one-round-trip interpolation. In a transaction it is the transaction.
func (s *Store) hotDB(ctx context.Context) *gorm.DB {
	if s.inTx || s.prepared == nil {
		return s.db.WithContext(ctx)
	}
	return s.prepared.WithContext(ctx)
}

// nowUTC is the store's clock, as stored: UTC, microseconds.
func (s *Store) nowUTC() time.Time { return utc(s.now()) }

// utc normalises a time to what DATETIME(6) keeps: UTC, truncated to
// microseconds. Everything written goes through it, so a value read back
// equals the value written.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// orNow is t normalised, or the store's clock when t is zero.
func (s *Store) orNow(t time.Time) time.Time {
	if t.IsZero() {
		return s.nowUTC()
	}
	return utc(t)
}
