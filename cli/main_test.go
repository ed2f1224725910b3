package cli_test

import (
	"context"
	"os"
	"testing"

	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/store"
)

// TestMain starts the tests' servers on copies of a migrated template
// database (testenv.Main).
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, func(ctx context.Context, database string) error {
		s, err := store.Open(ctx, store.Options{URL: database})
		if err != nil {
			return err
		}
		return s.Close()
	}))
}
