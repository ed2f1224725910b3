package evidence

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// packSchema compiles Schema() as draft 2020-12, asserting formats (the
// schema's date-time and date; "int64", an OpenAPI format the card's
// schema writes, is not a JSON Schema format and asserts nothing).
func packSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSchemaIsDraft2020_12(t *testing.T) {
	var head struct {
		Schema string `json:"$schema"`
		ID     string `json:"$id"`
		Type   string `json:"type"`
	}
	if err := json.Unmarshal(Schema(), &head); err != nil {
		t.Fatal(err)
	}
	if head.Schema != "https://json-schema.org/draft/2020-12/schema" || head.ID != SchemaID || head.Type != "object" {
		t.Errorf("$schema %q, $id %q, type %q", head.Schema, head.ID, head.Type)
	}
	// Valid against the draft's meta-schema (Compile checks it too).
	meta, err := jsonschema.NewCompiler().Compile("https://json-schema.org/draft/2020-12/schema")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := meta.Validate(doc); err != nil {
		t.Fatalf("the schema is not a draft 2020-12 schema: %v", err)
	}
	packSchema(t)
	if !bytes.Equal(Schema(), Schema()) {
		t.Error("Schema differs between calls")
	}
}

func validatePack(t *testing.T, s *jsonschema.Schema, file []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

func TestSealedPacksValidate(t *testing.T) {
	k := newKeys(t)
	s := packSchema(t)
	_, complete := sealedPack(t, k)
	_, compact := sealedCompactPack(t, k)
	gpai := completePack(t, k)
	gpai.Export.RiskClass = "gpai"
	gpai.NotApplicable = []NotApplicable{{RowID: "AXI-2e", Justification: "not measured", EnteredBy: "alice", EnteredAt: at(3), Source: "model"}}
	attachBOM(t, gpai, k.registry)
	evaluate(t, gpai)
	unsealed, err := Canonical(gpai)
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string][]byte{"complete": complete, "compact": compact, "gpai, not sealed": unsealed} {
		if err := validatePack(t, s, file); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// setPath sets (or with value nil, deletes) the member at a path of
// member names and list indexes, like "system.risk_class" or "runs.0.kind".
func setPath(t *testing.T, doc any, path string, value any, del bool) {
	t.Helper()
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		switch x := doc.(type) {
		case map[string]any:
			doc = x[p]
		case []any:
			var i int
			if err := json.Unmarshal([]byte(p), &i); err != nil || i >= len(x) {
				t.Fatalf("%s: no element %s", path, p)
			}
			doc = x[i]
		}
		if doc == nil {
			t.Fatalf("%s: nothing at %s", path, p)
		}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("%s: not an object", path)
	}
	last := parts[len(parts)-1]
	if del {
		if _, ok := obj[last]; !ok {
			t.Fatalf("%s: no member to delete", path)
		}
		delete(obj, last)
		return
	}
	obj[last] = value
}

func TestSchemaRefusesABadPack(t *testing.T) {
	k := newKeys(t)
	s := packSchema(t)
	_, file := sealedPack(t, k)
	tests := []struct {
		name, path string
		value      any
		del        bool
		at         string // where the error points
	}{
		{name: "no schema_id", path: "export.schema_id", del: true, at: "/export"},
		{name: "no coverage", path: "coverage", del: true, at: ""},
		{name: "no audit", path: "audit", del: true, at: ""},
		{name: "a coverage item without status", path: "coverage.0.status", del: true, at: "/coverage/0"},
		{name: "a seal without its value", path: "integrity.signature.value", del: true, at: "/integrity/signature"},
		{name: "an event without its hash", path: "audit.segments.0.events.0.hash", del: true, at: "/audit/segments/0/events/0"},
		{name: "a dataset without its name", path: "datasets.0.name", del: true, at: "/datasets/0"},
		{name: "an unknown member", path: "colour", value: "red", at: ""},
		{name: "an unknown member of a card part", path: "system.colour", value: "red", at: "/system"},
		{name: "a risk class not in the card's words", path: "system.risk_class", value: "extreme", at: "/system/risk_class"},
		{name: "a date-time that is not one", path: "system.placed_on_market_at", value: "next spring", at: "/system/placed_on_market_at"},
		{name: "a date that is not one", path: "declaration_of_conformity.date", value: "2026-13-45", at: "/declaration_of_conformity/date"},
		{name: "a number as text", path: "version.version", value: "3", at: "/version/version"},
		{name: "a fraction where an integer goes", path: "retention.logs_min_days", value: json.Number("184.5"), at: "/retention/logs_min_days"},
		{name: "a negative count in the card", path: "datasets.0.record_count", value: json.Number("-1"), at: "/datasets/0/record_count"},
		{name: "null for a list", path: "runs", value: nil, at: "/runs"},
		{name: "a text for a boolean", path: "config.four_eyes", value: "yes", at: "/config/four_eyes"},
	}
	if err := validatePack(t, s, file); err != nil {
		t.Fatalf("the sealed pack itself: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			setPath(t, doc, tt.path, tt.value, tt.del)
			err = s.Validate(doc)
			if err == nil {
				t.Fatal("the pack validates")
			}
			if !strings.Contains(err.Error(), "at '"+tt.at+"'") {
				t.Errorf("the error does not point at %q: %v", tt.at, err)
			}
		})
	}
}
