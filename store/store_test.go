package store

import (
	"encoding/hex"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/internal/testenv"
)

// forEachDialect runs fn as subtest "sqlite" (always) and "mysql" (when
// MODELKEEP_TEST_MYSQL_DSN is set: a server where the user may create
// databases), handing it a function that returns the URL of a fresh
// database, migrated (a copy of testenv's template), dropped when the test
// ends. The test runs in parallel with the package's other such tests, and
// the two dialects in parallel with each other: each has its own databases,
// and they spend most of their time waiting on fsyncs and on MySQL
// (go test -parallel bounds how many run at once).
func forEachDialect(t *testing.T, fn func(t *testing.T, newURL func(t *testing.T) string)) {
	t.Helper()
	runDialects(t, true, fn)
}

// forEachEmptyDialect is forEachDialect with empty databases, for the
// tests of migrating one.
func forEachEmptyDialect(t *testing.T, fn func(t *testing.T, newURL func(t *testing.T) string)) {
	t.Helper()
	runDialects(t, false, fn)
}

func runDialects(t *testing.T, migrated bool, fn func(t *testing.T, newURL func(t *testing.T) string)) {
	t.Helper()
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, func(t *testing.T) string {
			// A directory that does not exist yet: Open (or the copy) must
			// create it.
			path := filepath.Join(t.TempDir(), "data", "modelkeep.db")
			if migrated {
				return testenv.SQLiteDatabase(t, path)
			}
			return "sqlite:" + path
		})
	})
	t.Run("mysql", func(t *testing.T) {
		t.Parallel()
		testenv.MySQLConfig(t) // skips, naming the variable, when it is unset
		fn(t, func(t *testing.T) string {
			if migrated {
				return testenv.MySQLMigrated(t)
			}
			return testenv.MySQLDatabase(t)
		})
	})
}

// testClock is a clock for Options.Now that starts at a time with
// nanoseconds in a zone other than UTC (to exercise normalisation) and moves
// one second per reading.
func testClock() func() time.Time {
	start := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))
	var n atomic.Int64
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// openStore opens (and migrates) the database at dbURL, closing it at the
// end of the test.
func openStore(t *testing.T, dbURL string) *Store {
	t.Helper()
	s, err := Open(t.Context(), Options{URL: dbURL, Logger: testLogger(t), Now: testClock()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// newStore opens a store on a fresh database.
func newStore(t *testing.T, newURL func(*testing.T) string) *Store {
	t.Helper()
	return openStore(t, newURL(t))
}

func mustCreateModel(t *testing.T, s *Store, name string, tags map[string]string) {
	t.Helper()
	err := s.CreateModel(t.Context(), modelkeep.Model{Name: name, Description: "model " + name, Tags: tags, CreatedBy: "alice"})
	if err != nil {
		t.Fatalf("create model %q: %v", name, err)
	}
}

func mustCreateVersion(t *testing.T, s *Store, model string) int {
	t.Helper()
	n, err := s.CreateVersion(t.Context(), modelkeep.Version{Model: model, CreatedBy: "alice"})
	if err != nil {
		t.Fatalf("create version of %q: %v", model, err)
	}
	return n
}

func mustPutFile(t *testing.T, s *Store, model string, number int, path, key string) {
	t.Helper()
	f := modelkeep.File{Path: path, Size: int64(len(path)), SHA256: sha(path), BlobKey: key}
	if _, err := s.PutFile(t.Context(), model, number, f); err != nil {
		t.Fatalf("put file %q: %v", path, err)
	}
}

// sha returns a fake but well-formed lowercase hex SHA-256 derived from s.
func sha(s string) string {
	h := hex.EncodeToString([]byte(s))
	for len(h) < 64 {
		h += "0"
	}
	return h[:64]
}

func wantErrIs(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
}

// MySQL runs in strict mode whatever the server's default: a value too long
// for its column is refused (ErrInvalid), never silently truncated, which for
// an audit field would break its hash. SQLite has no lengths and keeps it.
func TestValueTooLong(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		actor := strings.Repeat("a", 300) // audit_events.actor is VARCHAR(255) in MySQL
		e, err := s.AppendAudit(t.Context(), audit.Event{Actor: actor, Action: "x"})
		if s.dialect == dialectMySQL {
			wantErrIs(t, err, modelkeep.ErrInvalid)
			// Set by the store, not inherited: the server's default lacks it.
			var mode string
			if err := s.db.Raw("SELECT @@SESSION.sql_mode").Scan(&mode).Error; err != nil || !strings.Contains(mode, "STRICT_ALL_TABLES") {
				t.Errorf("session sql_mode %q (%v), want TRADITIONAL", mode, err)
			}
			return
		}
		if err != nil || e.Actor != actor {
			t.Fatalf("AppendAudit = %v", err)
		}
	})
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s, err := Open(t.Context(), Options{URL: newURL(t), Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wantErrIs(t, s.Ping(t.Context()), modelkeep.ErrUnavailable)
		_, err = s.GetModel(t.Context(), "m")
		wantErrIs(t, err, modelkeep.ErrUnavailable)
	})
}
