package modelcard

import (
	"errors"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestIsPlaceholder(t *testing.T) {
	for _, s := range []string{"", "  ", "TBD", "tbd.", "TODO", "n/a", "N/A", "To be determined", "[More Information Needed]", "...", "-", "?", "xxx"} {
		if !IsPlaceholder(s) {
			t.Errorf("%q is a placeholder", s)
		}
	}
	for _, s := range []string{"Credit card fraud scoring for EU retail banking", "none found in the 2025 audit", "N/A in our market: see risk R3", "0"} {
		if IsPlaceholder(s) {
			t.Errorf("%q is an answer", s)
		}
	}
}

func TestValidate(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	tests := []struct {
		name  string
		card  Card
		field string // "" when valid
		msg   string
	}{
		{"empty card", Card{}, "", ""},
		{"a filled system", Card{System: &System{Name: "fraud", RiskClass: RiskHighRisk, IntendedPurpose: "score card payments",
			PlacedOnMarketAt: "2026-01-15T00:00:00Z", InstructionsForUse: &DocRef{SHA256: sha}}}, "", ""},
		{"a placeholder", Card{System: &System{IntendedPurpose: "TBD"}}, "system.intended_purpose", "placeholder"},
		{"a placeholder in a list", Card{System: &System{ForeseeableMisuse: []string{"scoring loans", "n/a"}}}, "system.foreseeable_misuse[1]", "placeholder"},
		{"blank text", Card{EthicalConsiderations: " \t"}, "ethical_considerations", "placeholder"},
		{"unknown risk class", Card{System: &System{RiskClass: "high"}}, "system.risk_class", "not one of"},
		{"bad time", Card{System: &System{PlacedOnMarketAt: "last year"}}, "system.placed_on_market_at", "RFC 3339"},
		{"bad date", Card{DeclarationOfConformity: &Declaration{Date: "01/02/2026"}}, "declaration_of_conformity.date", "not a date"},
		{"doc without digest", Card{System: &System{InstructionsForUse: &DocRef{URI: "https://x"}}}, "system.instructions_for_use.sha256", "SHA-256"},
		{"unnamed dataset", Card{Datasets: []DatasetGovernance{{Provenance: "bank"}}}, "datasets[0].name", "required"},
		{"dataset twice", Card{Datasets: []DatasetGovernance{{Name: "tx", Version: "1"}, {Name: "tx", Version: "1"}}}, "datasets[1]", "twice"},
		{"metric category", Card{DeclaredMetrics: []DeclaredMetric{{Key: "auc", Category: "speed"}}}, "declared_metrics[0].category", "not one of"},
		{"half a slice", Card{DeclaredMetrics: []DeclaredMetric{{Key: "auc", Slice: &Slice{Attribute: "age"}}}}, "declared_metrics[0].slice.value", "required"},
		{"risk without id", Card{RiskManagement: &RiskManagement{Risks: []Risk{{Hazard: "false declines"}}}}, "risk_management.risks[0].id", "required"},
		{"risk id twice", Card{RiskManagement: &RiskManagement{Risks: []Risk{{ID: "R1"}, {ID: "R1"}}}}, "risk_management.risks[1].id", "twice"},
		{"measure of an unknown risk", Card{HumanOversight: &HumanOversight{Measures: []OversightMeasure{{Capability: "stop", MitigatesRiskIDs: []string{"R9"}}}}},
			"human_oversight.measures[0].mitigates_risk_ids[0]", "no risk"},
		{"unknown capability", Card{HumanOversight: &HumanOversight{Measures: []OversightMeasure{{Capability: "veto"}}}}, "human_oversight.measures[0].capability", "not one of"},
		{"unknown threat", Card{Cybersecurity: &Cybersecurity{Threats: []Threat{{Class: "phishing"}}}}, "cybersecurity.threats[0].class", "not one of"},
		{"threat twice", Card{Cybersecurity: &Cybersecurity{Threats: []Threat{{Class: "model_flaws"}, {Class: "model_flaws"}}}}, "cybersecurity.threats[1].class", "twice"},
		{"qms aspect", Card{QMS: &QMS{Documents: []QMSDocument{{Aspect: "z", Doc: DocRef{SHA256: sha}}}}}, "qms.documents[0].aspect", "not one of"},
		{"negative count", Card{Version: &VersionInfo{ParameterCount: ptr(int64(-1))}}, "version.parameter_count", "negative"},
		{"too long", Card{EthicalConsiderations: strings.Repeat("x", MaxTextLen+1)}, "ethical_considerations", "longer than"},
		{"too many", Card{System: &System{IntendedUsers: make([]string, MaxListLen+1)}}, "system.intended_users", "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.card)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("valid card refused: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Msg, tt.msg) {
				t.Fatalf("err = %v, want a *FieldError on %s saying %q", err, tt.field, tt.msg)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in, field, msg string
	}{
		{"a card", `{"system":{"name":"fraud"}}`, "", ""},
		{"unknown field", `{"sytem":{}}`, "sytem", "unknown field"},
		{"wrong type", `{"system":{"name":3}}`, "system.name", "expected a string"},
		{"trailing data", `{}{}`, "card", "data after the JSON value"},
		{"two cards", `{"system":{"name":"a"}}{"system":{"name":"b"}}`, "card", "data after the JSON value"},
		{"not json", `{"system":`, "system", "the body ends"},
		{"duplicate key", `{"system":{"name":"a","name":"b"}}`, "system.name", "appears twice"},
		{"other spelling of a key", `{"system":{"name":"a"},"System":{"name":"b"}}`, "System", "unknown field"},
		{"other spelling of a nested key", `{"risk_management":{"risks":[{"ID":"r1"}]}}`, "risk_management.risks[0].ID", "unknown field"},
		{"invalid utf-8", "{\"system\":{\"name\":\"a\xffb\"}}", "system.name", "UTF-8"},
		{"not an object", `[]`, "card", "object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.in))
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Msg, tt.msg) {
				t.Fatalf("err = %v, want %s: %q", err, tt.field, tt.msg)
			}
			if strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "modelcard.") {
				t.Errorf("message shows Go internals: %v", err)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	model := Card{
		Provider: &Provider{Name: "Acme Bank", LegalAddress: "1 Main St"},
		System:   &System{Name: "fraud", IntendedPurpose: "score payments", ForeseeableMisuse: []string{"a", "b"}},
		Version:  &VersionInfo{Architecture: "gbdt"},
	}
	version := Card{
		System:  &System{IntendedPurpose: "score card payments", ForeseeableMisuse: []string{"c"}, AffectsNaturalPersons: ptr(false)},
		Version: &VersionInfo{ChangeSummary: "retrained on 2026 data"},
	}
	got, err := Merge(model, version)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case got.Provider == nil || got.Provider.Name != "Acme Bank":
		t.Errorf("provider not inherited: %+v", got.Provider)
	case got.System.Name != "fraud" || got.System.IntendedPurpose != "score card payments":
		t.Errorf("system not merged field by field: %+v", got.System)
	case len(got.System.ForeseeableMisuse) != 1 || got.System.ForeseeableMisuse[0] != "c":
		t.Errorf("a list is replaced whole: %v", got.System.ForeseeableMisuse)
	case got.System.AffectsNaturalPersons == nil || *got.System.AffectsNaturalPersons:
		t.Errorf("a false answer overrides: %v", got.System.AffectsNaturalPersons)
	case got.Version.Architecture != "gbdt" || got.Version.ChangeSummary != "retrained on 2026 data":
		t.Errorf("version section: %+v", got.Version)
	}
	if model.System.IntendedPurpose != "score payments" {
		t.Error("Merge changed its input")
	}
}

func TestDocRefs(t *testing.T) {
	sha := strings.Repeat("cd", 32)
	c := Card{
		System:         &System{InstructionsForUse: &DocRef{SHA256: sha}},
		RiskManagement: &RiskManagement{RMSDoc: &DocRef{SHA256: sha}},
		QMS:            &QMS{Documents: []QMSDocument{{Aspect: "a", Doc: DocRef{SHA256: sha}}}},
	}
	refs := DocRefs(&c)
	var fields []string
	for _, r := range refs {
		fields = append(fields, r.Field)
		r.Ref.Title = "set"
	}
	want := "system.instructions_for_use risk_management.rms_doc qms.documents[0].doc"
	if strings.Join(fields, " ") != want {
		t.Fatalf("fields %v, want %s", fields, want)
	}
	if c.QMS.Documents[0].Doc.Title != "set" || c.System.InstructionsForUse.Title != "set" {
		t.Error("DocRefs does not point into the card")
	}
}
