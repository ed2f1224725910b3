package modelcard

import (
	"math"
	"reflect"
	"strings"
)

// SchemaNode is a JSON Schema of a card or one of its parts, with its
// members in the order of the Go fields: a subset of JSON Schema that is
// both draft 2020-12 and an OpenAPI 3.0 schema object, so that
// openapi.yaml and the evidence pack's schema describe the card alike.
type SchemaNode struct {
	Title                string
	Type                 string // object, array, string, integer, number, boolean
	Format               string
	Enum                 []string
	MaxLength            int
	MaxItems             int
	Minimum              *float64
	Maximum              *int64
	Items                *SchemaNode
	Properties           []SchemaProperty
	Required             []string
	AdditionalProperties *bool
	Description          string
}

// SchemaProperty is one member of an object schema.
type SchemaProperty struct {
	Name   string
	Schema *SchemaNode
}

// enums are the fixed sets of words of the card's fields, by JSON path with
// list indexes written [].
var enums = map[string][]string{
	"system.risk_class":                     RiskClasses,
	"system.documentation_form":             {"full", "sme_simplified"},
	"declared_metrics[].category":           MetricCategories,
	"risk_management.risks[].circumstance":  RiskCircumstances,
	"human_oversight.measures[].kind":       OversightKinds,
	"human_oversight.measures[].capability": OversightCapabilities,
	"cybersecurity.threats[].class":         ThreatClasses,
	"logging.events_recorded[].purpose":     LogPurposes,
	"standards_applied[].extent":            {"full", "partial"},
	"qms.documents[].aspect":                QMSAspects,
}

// formats are the string formats of the card's times and dates.
var formats = map[string]string{
	"system.placed_on_market_at":     "date-time",
	"incidents[].detected_at":        "date-time",
	"incidents[].aware_at":           "date-time",
	"incidents[].reported_at":        "date-time",
	"declaration_of_conformity.date": "date",
}

// descriptions explain the parts of the card a reader of the contract needs
// explained.
var descriptions = map[string]string{
	"": "A structured model card: Mitchell et al.'s sections and what the EU AI Act evidence needs a person to write, " +
		"in the names of GUIDE.md §3. Every field is optional; texts that are placeholders (TBD, n/a, TODO, ...) are refused.",
	"applicability": "Answers that decide whether the catalogue's conditional requirement rows apply; false makes them not applicable.",
	"sha256":        "the lowercase hex SHA-256 of a document registered with POST /api/v1/documents",
}

// Schema returns the JSON Schema of a Card.
func Schema() *SchemaNode {
	n := schemaOf(reflect.TypeFor[Card](), "")
	n.Title = "ModelCard"
	n.Description = descriptions[""]
	return n
}

// SchemaFor is the schema of a part of the card (t, one of this package's
// types) at a JSON path, for schemas that embed card parts (the evidence
// pack's): the path picks the enums and formats of the card's fields.
func SchemaFor(t reflect.Type, path string) *SchemaNode { return schemaOf(t, path) }

var docRefSchemaType = reflect.TypeFor[DocRef]()

func schemaOf(t reflect.Type, path string) *SchemaNode {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		no := false
		n := &SchemaNode{Type: "object", AdditionalProperties: &no, Description: descriptions[path]}
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			p := name
			if path != "" {
				p = path + "." + name
			}
			child := schemaOf(f.Type, p)
			if t == docRefSchemaType && name == "sha256" {
				child.Description = descriptions["sha256"]
			}
			n.Properties = append(n.Properties, SchemaProperty{Name: name, Schema: child})
			if !strings.Contains(opts, "omitempty") {
				n.Required = append(n.Required, name)
			}
		}
		return n
	case reflect.Slice:
		return &SchemaNode{Type: "array", MaxItems: MaxListLen, Items: schemaOf(t.Elem(), path+"[]")}
	case reflect.String:
		n := &SchemaNode{Type: "string", MaxLength: MaxTextLen, Enum: enums[path], Format: formats[path]}
		if n.Enum != nil {
			n.MaxLength = 0
		}
		if strings.HasSuffix(path, "sha256") {
			n.MaxLength = 64
		}
		return n
	case reflect.Bool:
		return &SchemaNode{Type: "boolean"}
	case reflect.Int, reflect.Int64:
		zero, most := 0.0, int64(math.MaxInt64)
		return &SchemaNode{Type: "integer", Format: "int64", Minimum: &zero, Maximum: &most}
	case reflect.Float64:
		return &SchemaNode{Type: "number"}
	}
	panic("modelcard: no schema for " + t.String())
}

// Map is the schema as JSON-ready maps (for embedding in other schemas).
func (n *SchemaNode) Map() map[string]any {
	m := map[string]any{"type": n.Type}
	if n.Title != "" {
		m["title"] = n.Title
	}
	if n.Description != "" {
		m["description"] = n.Description
	}
	if n.Format != "" {
		m["format"] = n.Format
	}
	if n.Enum != nil {
		m["enum"] = n.Enum
	}
	if n.MaxLength > 0 {
		m["maxLength"] = n.MaxLength
	}
	if n.MaxItems > 0 {
		m["maxItems"] = n.MaxItems
	}
	if n.Minimum != nil {
		m["minimum"] = *n.Minimum
	}
	if n.Maximum != nil {
		m["maximum"] = *n.Maximum
	}
	if n.Items != nil {
		m["items"] = n.Items.Map()
	}
	if n.Type == "object" {
		props := map[string]any{}
		for _, p := range n.Properties {
			props[p.Name] = p.Schema.Map()
		}
		m["properties"] = props
		if len(n.Required) > 0 {
			m["required"] = n.Required
		}
		if n.AdditionalProperties != nil {
			m["additionalProperties"] = *n.AdditionalProperties
		}
	}
	return m
}
