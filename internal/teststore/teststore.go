// Package teststore gives the test packages that start Modelkeep servers
// the migration their template databases are made with (testenv.Main):
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m, teststore.Migrate)) }
//
// It lives apart from testenv because package store's own tests use
// testenv, which therefore cannot import store.
package teststore

import (
	"context"

	"github.com/modelkeep/modelkeep/store"
)

// Migrate migrates the empty database named by a MODELKEEP_DATABASE value:
// store.Open, then Close.
func Migrate(ctx context.Context, database string) error {
	s, err := store.Open(ctx, store.Options{URL: database})
	if err != nil {
		return err
	}
	return s.Close()
}
