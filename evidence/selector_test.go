package evidence

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseSelector(t *testing.T) {
	tests := []struct {
		text     string
		segments []segment
		op       string
		operand  string
	}{
		{text: "system.intended_purpose", segments: []segment{{name: "system"}, {name: "intended_purpose"}}},
		{text: "runs[kind=robustness].report.signoffs", segments: []segment{
			{name: "runs", filtered: true, conds: []cond{{key: "kind", values: []string{"robustness"}}}},
			{name: "report"}, {name: "signoffs"}}},
		{text: "runs[all kind=evaluation|fairness].report", segments: []segment{
			{name: "runs", filtered: true, all: true, conds: []cond{{key: "kind", values: []string{"evaluation", "fairness"}}}},
			{name: "report"}}},
		{text: "declared_metrics[category=accuracy,declared_in_ifu=true].value", segments: []segment{
			{name: "declared_metrics", filtered: true, conds: []cond{
				{key: "category", values: []string{"accuracy"}}, {key: "declared_in_ifu", values: []string{"true"}}}},
			{name: "value"}}},
		{text: "risk_management.risks[all].mitigation", segments: []segment{
			{name: "risk_management"}, {name: "risks", filtered: true, all: true}, {name: "mitigation"}}},
		{text: "metrics[environment].value", segments: []segment{
			{name: "metrics", filtered: true, conds: []cond{{key: "environment"}}}, {name: "value"}}},
		// A comparison stands after the last filter; "=" inside a filter is
		// the filter's.
		{text: "declared_metrics[all threshold].threshold_before_run=true", op: "=", operand: "true", segments: []segment{
			{name: "declared_metrics", filtered: true, all: true, conds: []cond{{key: "threshold"}}}, {name: "threshold_before_run"}}},
		{text: "retention.logs_min_days>=184", op: ">=", operand: "184", segments: []segment{{name: "retention"}, {name: "logs_min_days"}}},
		{text: "audit.verification.ok=true", op: "=", operand: "true", segments: []segment{{name: "audit"}, {name: "verification"}, {name: "ok"}}},
		// "all" is a word of its own: a key that begins with it is a key.
		{text: "x[allowed=yes].y", segments: []segment{
			{name: "x", filtered: true, conds: []cond{{key: "allowed", values: []string{"yes"}}}}, {name: "y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := parseSelector(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if got.text != tt.text || got.op != tt.op || got.operand != tt.operand {
				t.Errorf("text %q op %q operand %q, want %q %q %q", got.text, got.op, got.operand, tt.text, tt.op, tt.operand)
			}
			if !reflect.DeepEqual(got.segments, tt.segments) {
				t.Errorf("segments\n got %+v\nwant %+v", got.segments, tt.segments)
			}
		})
	}
}

func TestParseSelectorRefusesMalformed(t *testing.T) {
	for _, text := range []string{"", "a..b", ".a", "a.", "runs[kind=x", "a.[x]", "runs[kind=x]y.z", "[x].y"} {
		t.Run(text, func(t *testing.T) {
			if s, err := parseSelector(text); err == nil {
				t.Errorf("parsed as %+v, want an error", s)
			}
		})
	}
}

// decodeDoc reads a JSON document as Evaluate reads a pack: numbers as
// json.Number.
func decodeDoc(t *testing.T, text string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return doc
}

func TestSelectorHolds(t *testing.T) {
	runs := `{"runs": [
		{"kind": "training", "report": "TBD"},
		{"kind": "evaluation", "report": {"sha256": "ab"}, "n": 3},
		{"kind": "fairness", "report": {"sha256": "cd"}, "n": 1}]}`
	tests := []struct {
		name     string
		doc      string
		selector string
		want     bool
	}{
		// Answered: what a person would call an answer.
		{"text", `{"a": {"b": "yes"}}`, "a.b", true},
		{"absent member", `{"a": {}}`, "a.b", false},
		{"absent parent", `{}`, "a.b", false},
		{"blank text", `{"a": {"b": "  "}}`, "a.b", false},
		{"empty text", `{"a": {"b": ""}}`, "a.b", false},
		{"placeholder TBD", `{"a": {"b": "TBD"}}`, "a.b", false},
		{"placeholder n/a", `{"a": {"b": "n/a"}}`, "a.b", false},
		{"placeholder TODO", `{"a": {"b": "TODO"}}`, "a.b", false},
		{"placeholder in other case and punctuated", `{"a": {"b": " Tbd. "}}`, "a.b", false},
		{"placeholder lorem ipsum", `{"a": {"b": "Lorem ipsum"}}`, "a.b", false},
		{"text that contains a placeholder word", `{"a": {"b": "TBD by the board: no"}}`, "a.b", true},
		{"zero", `{"a": {"b": 0}}`, "a.b", true},
		{"false", `{"a": {"b": false}}`, "a.b", true},
		{"null", `{"a": {"b": null}}`, "a.b", false},
		{"empty list", `{"a": {"b": []}}`, "a.b", false},
		{"non-empty list", `{"a": {"b": ["x"]}}`, "a.b", true},
		{"empty object", `{"a": {"b": {}}}`, "a.b", false},
		{"non-empty object", `{"a": {"b": {"c": 1}}}`, "a.b", true},
		{"through a text", `{"a": "b"}`, "a.b", false},
		{"through null", `{"a": null}`, "a.b", false},

		// A list without a filter: some element.
		{"some element", runs, "runs.report.sha256", true},
		{"no element", runs, "runs.code_ref", false},
		{"nested lists", `{"m": [{"ids": []}, {"ids": ["r-1"]}]}`, "m.ids", true},
		{"nested lists all empty", `{"m": [{"ids": []}, {"ids": []}]}`, "m.ids", false},

		// Filters keep the elements whose field is one of the values.
		{"filter", runs, "runs[kind=evaluation].report.sha256", true},
		{"filter keeps a placeholder", runs, "runs[kind=training].report", false},
		{"filter keeps nothing", runs, "runs[kind=monitoring].report", false},
		{"filter alternatives", runs, "runs[kind=training|fairness].report.sha256", true},
		{"filter on a number", runs, "runs[n=3].kind", true},
		{"filter on a number, no match", runs, "runs[n=2].kind", false},
		{"filter on a boolean", `{"m": [{"ifu": true, "v": 1}, {"ifu": false}]}`, "m[ifu=true].v", true},
		{"filter on a boolean, the other", `{"m": [{"ifu": true}, {"ifu": false, "v": 1}]}`, "m[ifu=true].v", false},
		{"two conditions", `{"m": [{"c": "acc", "ifu": false, "v": 1}, {"c": "rob", "ifu": true, "v": 2}]}`, "m[c=acc,ifu=true].v", false},
		{"two conditions met", `{"m": [{"c": "acc", "ifu": true, "v": 1}]}`, "m[c=acc,ifu=true].v", true},
		{"key filter: answered", `{"m": [{"env": "prod", "v": 1}]}`, "m[env].v", true},
		{"key filter: placeholder", `{"m": [{"env": "TBD", "v": 1}]}`, "m[env].v", false},
		{"key filter: absent", `{"m": [{"v": 1}]}`, "m[env].v", false},
		{"filter on an object that is not a list", `{"s": {"kind": "x", "v": 1}}`, "s[kind=x].v", true},
		{"filter on an object that is not a list, no match", `{"s": {"kind": "y", "v": 1}}`, "s[kind=x].v", false},
		{"filter on texts", `{"tags": ["a", "b"]}`, "tags[k=a]", false},

		// The list itself as the evidence: it must hold something.
		{"list kept", runs, "runs[kind=evaluation]", true},
		{"list kept empty", runs, "runs[kind=monitoring]", false},
		{"all, every element answered", `{"tags": ["a", "b"]}`, "tags[all]", true},
		{"all, a placeholder element", `{"tags": ["a", "TBD"]}`, "tags[all]", false},
		{"all, no element", `{"tags": []}`, "tags[all]", false},

		// "all" asks the rest of every kept element, and at least one.
		{"all kept have it", runs, "runs[all kind=evaluation|fairness].report.sha256", true},
		{"one kept lacks it", runs, "runs[all kind=training|evaluation].report.sha256", false},
		{"all of none", runs, "runs[all kind=monitoring].report", false},
		{"all without conditions", runs, "runs[all].kind", true},
		{"all without conditions, one lacks it", runs, "runs[all].n", false},

		// Comparisons.
		{"= true", `{"a": {"ok": true}}`, "a.ok=true", true},
		{"= true, false", `{"a": {"ok": false}}`, "a.ok=true", false},
		{"= true, absent", `{"a": {}}`, "a.ok=true", false},
		{"= false", `{"a": {"ok": false}}`, "a.ok=false", true},
		{"= text", `{"s": {"form": "sme_simplified"}}`, "s.form=sme_simplified", true},
		{"= text, other", `{"s": {"form": "full"}}`, "s.form=sme_simplified", false},
		{"= number", `{"a": {"n": 184}}`, "a.n=184", true},
		{"= through a list", runs, "runs.n=1", true},
		{"= after an all filter", `{"d": [{"t": 0.8, "before": true}, {"x": 1}]}`, "d[all t].before=true", true},
		{"= after an all filter, one false", `{"d": [{"t": 0.8, "before": true}, {"t": 0.5, "before": false}]}`, "d[all t].before=true", false},
		{">= equal", `{"r": {"days": 184}}`, "r.days>=184", true},
		{">= more", `{"r": {"days": 3650}}`, "r.days>=184", true},
		{">= less", `{"r": {"days": 183}}`, "r.days>=184", false},
		{">= fraction", `{"r": {"days": 183.99}}`, "r.days>=184", false},
		{">= negative", `{"r": {"days": -200}}`, "r.days>=184", false},
		{">= a text is not a number", `{"r": {"days": "200"}}`, "r.days>=184", false},
		{">= absent", `{"r": {}}`, "r.days>=184", false},
		{">= through a list", runs, "runs.n>=3", true},
		{">= through a list, none", runs, "runs.n>=4", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseSelector(tt.selector)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.holds(decodeDoc(t, tt.doc)); got != tt.want {
				t.Errorf("%s in %s: %v, want %v", tt.selector, tt.doc, got, tt.want)
			}
		})
	}
}

// Numbers decoded without UseNumber are float64: they count the same.
func TestSelectorReadsFloatNumbers(t *testing.T) {
	doc := map[string]any{"r": map[string]any{"days": 184.0}, "m": []any{map[string]any{"step": 7.0, "v": 0.5}}}
	for selector, want := range map[string]bool{
		"r.days>=184": true, "r.days>=185": false, "r.days=184": true, "m[step=7].v": true, "m[step=8].v": false,
	} {
		s, err := parseSelector(selector)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.holds(doc); got != want {
			t.Errorf("%s: %v, want %v", selector, got, want)
		}
	}
}
