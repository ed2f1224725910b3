package cli_test

import (
	"os"
	"testing"

	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/internal/teststore"
)

// TestMain starts the tests' servers on copies of a migrated template
// database (testenv.Main).
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, teststore.Migrate))
}
