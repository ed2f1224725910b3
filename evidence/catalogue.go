// Package evidence is the format of Modelkeep's EU AI Act evidence pack:
// the requirement catalogue it answers (a copy of
// ../shared/euaiact/requirements.json, embedded with its version), the
// pack's structure in the names of GUIDE.md §3 as adapted in §3.1, the
// coverage rules that decide, row by row, whether the pack evidences a
// requirement, the pack's signature, and the offline verifier of a pack
// (signature, audit segments and their checkpoints, CycloneDX digest).
//
// It imports only the standard library and the formats it carries (audit,
// modelcard). docs/evidence.md specifies the pack for outside validators.
package evidence

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// requirementsJSON is the catalogue, copied verbatim from
// shared/euaiact/requirements.json: never retyped, only replaced by a newer
// copy (TestCatalogueIsTheSharedCopy compares the two when both exist).
//
//go:embed requirements.json
var requirementsJSON []byte

// Catalogue is the EU AI Act requirement catalogue.
type Catalogue struct {
	Name    string `json:"catalogue"`
	Version string `json:"catalogue_version"`
	Rows    []Row  `json:"rows"`
}

// Row is one requirement of the catalogue.
type Row struct {
	ID            string   `json:"id"`
	Section       string   `json:"section"`
	Requirement   string   `json:"requirement"`
	Evidence      string   `json:"evidence"`
	Entities      []string `json:"entities"`
	Capture       string   `json:"capture"`
	Classes       []string `json:"applies_to"` // the risk classes it applies to
	Condition     *string  `json:"condition"`
	SupportingRow bool     `json:"supporting_row"`
}

// AppliesTo reports whether the row applies to a system of riskClass.
func (r Row) AppliesTo(riskClass string) bool { return slices.Contains(r.Classes, riskClass) }

var (
	loadOnce  sync.Once
	catalogue Catalogue
	loadErr   error
)

// Load returns the embedded catalogue.
func Load() (Catalogue, error) {
	loadOnce.Do(func() {
		if err := json.Unmarshal(requirementsJSON, &catalogue); err != nil {
			loadErr = fmt.Errorf("evidence: the embedded requirements catalogue does not parse: %w", err)
			return
		}
		if len(catalogue.Rows) == 0 || catalogue.Version == "" {
			loadErr = fmt.Errorf("evidence: the embedded requirements catalogue is empty")
		}
	})
	return catalogue, loadErr
}

// MustLoad is Load for callers that embed the same catalogue as the tests
// check: it cannot fail at run time.
func MustLoad() Catalogue {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// Row returns the row with id.
func (c Catalogue) Row(id string) (Row, bool) {
	for _, r := range c.Rows {
		if r.ID == id {
			return r, true
		}
	}
	return Row{}, false
}

// Applicable returns the rows that apply to riskClass, in catalogue order.
func (c Catalogue) Applicable(riskClass string) []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.AppliesTo(riskClass) {
			out = append(out, r)
		}
	}
	return out
}
