package server_test

import (
	"flag"
	"fmt"
	"os"
	"testing"
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
	code := m.Run()
	// Only a full run can judge coverage: -run selects a part.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		if missing := theContract.unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "contract: operations of openapi.yaml no test exercised: %v\n", missing)
			code = 1
		}
	}
	os.Exit(code)
}
