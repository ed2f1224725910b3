package evidence

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestCatalogue(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rows) != 134 || c.Version != "2024/1689@2024-07-12+registry-1" {
		t.Fatalf("%d rows, version %q", len(c.Rows), c.Version)
	}
	seen := map[string]bool{}
	for _, r := range c.Rows {
		if seen[r.ID] {
			t.Errorf("row %s twice", r.ID)
		}
		seen[r.ID] = true
		if len(r.Classes) == 0 {
			t.Errorf("row %s applies to nothing", r.ID)
		}
	}
	if n := len(c.Applicable("high-risk")); n != 103 {
		t.Errorf("%d high-risk rows, want 103", n)
	}
}

// The embedded copy is the shared catalogue, byte for byte, where the
// shared folder is at hand (a checkout beside it).
func TestCatalogueIsTheSharedCopy(t *testing.T) {
	shared, err := os.ReadFile(filepath.Join("..", "..", "shared", "euaiact", "requirements.json"))
	if os.IsNotExist(err) {
		t.Skip("../shared/euaiact/requirements.json is not beside this checkout")
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, requirementsJSON) {
		t.Fatal("evidence/requirements.json differs from the shared catalogue: copy it again (never edit it)")
	}
}
