package server_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/internal/teststore"
)

// theContract is shared by every test of the package: at the end, every
// operation of openapi.yaml must have been exercised and validated.
var theContract *contract

func TestMain(m *testing.M) {
	var err error
	if theContract, err = newContract(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := testenv.Main(m, teststore.Migrate)
	// Secrets never appear in logs: every log of the whole run against every
	// token issued and every database password used in it.
	if leaks, logBytes, secrets := watch.leaks(); leaks > 0 {
		fmt.Fprintf(os.Stderr, "secrets: %d secrets found in the server logs of this run\n", leaks)
		code = 1
	} else if code == 0 && flag.Lookup("test.run").Value.String() == "" && (logBytes == 0 || secrets == 0) {
		// A full run must have had something to search (a -run selection,
		// such as the benchmarks' -run '^$', may start no server).
		fmt.Fprintf(os.Stderr, "secrets: nothing to check (%d log bytes, %d secrets)\n", logBytes, secrets)
		code = 1
	}
	// Only a full run can judge coverage: -run selects a part.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		if missing := theContract.unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "contract: operations of openapi.yaml no test exercised: %v\n", missing)
			code = 1
		}
	}
	os.Exit(code)
}
