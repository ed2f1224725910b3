package store

import (
	"context"
	"os"
	"testing"

	"github.com/modelkeep/modelkeep/internal/testenv"
)

// TestMain gives the package's tests copies of a migrated template database
// (testenv.Main); the tests of migrating use empty ones (forEachEmptyDialect).
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, migrateDatabase))
}

// migrateDatabase migrates an empty database: Open, then Close.
func migrateDatabase(ctx context.Context, database string) error {
	s, err := Open(ctx, Options{URL: database})
	if err != nil {
		return err
	}
	return s.Close()
}
